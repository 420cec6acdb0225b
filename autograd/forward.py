"""Forward-mode dual numbers: an exact oracle for reverse-mode gradients (no step size).

``Dual(v, d)`` carries a value and its derivative along one direction; it has Value's operators
and methods, so a function written for Values runs on Duals unchanged. Conventions match the
rules: relu'(0) = 0 and abs'(0) = 0.

The built-in ops' derivatives here are written independently of ``rules.py``, so comparing the two
checks both. A user op (``define_op``) runs on Duals through its ``jvp`` when it has one, else
through its own reverse rule: then the comparison checks the engine around the rule, not the rule.
"""

from __future__ import annotations

import math
import numbers
import reprlib

from .engine import Value, apply, as_number as _number, call_rule, named_error
from .ops import RULES
from .rules import div as _div, power as _power

__all__ = ["Dual", "derivative", "gradient"]


class Dual:
    """A number ``val`` with the derivative ``der`` of how it depends on the seeded input."""

    __slots__ = ("val", "der")

    def __init__(self, val: float, der: float = 0.0) -> None:
        self.val = _number(val, "Dual")
        self.der = _number(der, "Dual")

    def __repr__(self) -> str:
        return f"Dual({self.val!r}, {self.der!r})"

    @staticmethod
    def _lift(other):
        if isinstance(other, Dual):
            return other
        if isinstance(other, Value):
            return None
        try:
            return Dual(other)
        except TypeError:
            return None

    def __add__(self, other):
        o = self._lift(other)
        return NotImplemented if o is None else Dual(self.val + o.val, self.der + o.der)

    __radd__ = __add__

    def __sub__(self, other):
        o = self._lift(other)
        return NotImplemented if o is None else Dual(self.val - o.val, self.der - o.der)

    def __rsub__(self, other):
        o = self._lift(other)
        return NotImplemented if o is None else o - self

    def __mul__(self, other):
        o = self._lift(other)
        return NotImplemented if o is None else Dual(self.val * o.val, self.der * o.val + self.val * o.der)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other)
        if o is None:
            return NotImplemented
        q = self.val / o.val
        return Dual(q, (self.der - q * o.der) / o.val)

    def __rtruediv__(self, other):
        o = self._lift(other)
        return NotImplemented if o is None else o / self

    def __pow__(self, other):
        o = self._lift(other)
        if o is None:
            return NotImplemented
        x, y = self.val, o.val
        out = x ** y
        dx = 0.0 if y == 0.0 or self.der == 0.0 else y * _power(x, y - 1.0) * self.der  # inf at 0 ** 0.5
        dy = 0.0 if o.der == 0.0 else out * math.log(x) * o.der if x != 0.0 else math.nan if y != y else 0.0
        return Dual(out, dx + dy)

    def __rpow__(self, other):
        o = self._lift(other)
        return NotImplemented if o is None else o ** self

    def __neg__(self):
        return Dual(-self.val, -self.der)

    def __abs__(self):
        x = self.val
        return Dual(abs(x), self.der * (1.0 if x > 0 else -1.0 if x < 0 else 0.0))

    abs = __abs__

    def exp(self):
        e = math.exp(self.val)
        return Dual(e, e * self.der)

    def log(self):
        return Dual(math.log(self.val), self.der / self.val)

    def sqrt(self):
        s = math.sqrt(self.val)  # at 0 the derivative is inf, and a zero tangent still contributes 0
        return Dual(s, 0.0 if self.der == 0.0 else _div(self.der, 2.0 * s))

    def tanh(self):
        t = math.tanh(self.val)
        return Dual(t, (1.0 - t * t) * self.der)

    def sigmoid(self):
        x = self.val
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return Dual(s, s * (1.0 - s) * self.der)

    def relu(self):
        x = self.val
        return Dual(x, self.der) if x > 0 else Dual(0.0, 0.0)

    def leaky_relu(self, slope=0.01):
        s = self._lift(slope)
        if self.val != self.val:
            return Dual(math.nan, math.nan)
        if self.val > 0:
            return Dual(self.val, self.der)
        return Dual(s.val * self.val, s.val * self.der + self.val * s.der)

    def softplus(self):
        x = self.val
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return Dual(max(x, 0.0) + math.log1p(math.exp(-abs(x))), s * self.der)

    def erf(self):
        x = self.val
        return Dual(math.erf(x), 2.0 / math.sqrt(math.pi) * math.exp(-x * x) * self.der)

    def erfc(self):
        x = self.val
        return Dual(math.erfc(x), -2.0 / math.sqrt(math.pi) * math.exp(-x * x) * self.der)

    def gelu(self):
        x = self.val
        cdf = 0.5 * math.erfc(-x / math.sqrt(2.0))
        return Dual(x * cdf, (cdf + x * math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)) * self.der)

    def maximum(self, other):
        o = self._lift(other)
        if self.val > o.val:
            return self
        if o.val > self.val:
            return o
        return Dual(self.val, 0.5 * (self.der + o.der))

    def minimum(self, other):
        o = self._lift(other)
        if self.val < o.val:
            return self
        if o.val < self.val:
            return o
        return Dual(self.val, 0.5 * (self.der + o.der))

    @classmethod
    def apply_op(cls, op, *args: "Dual") -> "Dual":
        """A user op (an ``ops.Op`` record) on Duals: the value from its forward; the tangent from its
        ``jvp(*xs, *dxs)`` if it has one, else from its reverse rule, d out = sum of rule(1, *xs, out)[k] * dx_k
        (an input whose tangent is 0 adds nothing, even where its local derivative is infinite)."""
        xs = tuple(a.val for a in args)
        out = apply(op.key, *xs)
        if op.jvp is None:
            local = call_rule(op.key, RULES[op.key], (1.0,) + xs + (out,))
            return cls(out, sum((d * a.der for d, a in zip(local, args) if a.der != 0.0), 0.0))
        dxs = tuple(a.der for a in args)
        names = ["x", "y"][:len(xs)] + ["dx", "dy"][:len(xs)]
        at = ", ".join(f"{n} = {v!r}" for n, v in zip(names, xs + dxs))
        try:
            der = op.jvp(*xs, *dxs)
        except Exception as e:
            raise named_error(e, f"{op.key}: jvp raised {type(e).__name__} at {at}: {e}") from e
        if isinstance(der, bool) or not isinstance(der, numbers.Real) or isinstance(der, Value):
            raise ValueError(f"{op.key}: jvp must return one real number, got {type(der).__name__} "
                             f"{reprlib.repr(der)} at {at}")
        return cls(out, der)

    def sin(self):
        return Dual(math.sin(self.val), math.cos(self.val) * self.der)

    def cos(self):
        return Dual(math.cos(self.val), -math.sin(self.val) * self.der)


def derivative(f, x: float) -> float:
    """df/dx at ``x``, exactly (to rounding), by one forward-mode pass."""
    out = f(Dual(x, 1.0))
    if not isinstance(out, Dual):
        raise TypeError(f"derivative: f must return a Dual when given one, got {type(out).__name__}")
    return out.der


def gradient(f, xs) -> tuple:
    """(df/dx_i for each i) at ``xs``, one forward pass per input."""
    xs = [_number(x, "gradient") for x in xs]
    result = []
    for i in range(len(xs)):
        out = f(*[Dual(x, 1.0 if j == i else 0.0) for j, x in enumerate(xs)])
        result.append(out.der if isinstance(out, Dual) else 0.0)
    return tuple(result)
