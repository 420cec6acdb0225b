"""The op table for tools: how to apply each op by its key, and where it is safe to test.

``apply`` works on anything with Value's operators and methods (Values, ``forward.Dual``), so the
checkers, the strategies and the forward-mode oracle share one description of every op.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable

__all__ = ["OpSpec", "SPECS", "apply"]


@dataclass(frozen=True)
class OpSpec:
    """One op: its key, arity, how to apply it, safe test intervals per argument, and its kinks."""

    op: str
    arity: int
    fn: Callable
    domain: tuple  # per argument: a tuple of (low, high) intervals safe for testing
    kinks: tuple = ()  # points of argument 0 where the op is not differentiable
    symbol: str = ""  # infix symbol for binary ops, "-" for neg

    def contains(self, k: int, x: float) -> bool:
        """Whether ``x`` lies in the safe test domain of argument ``k``."""
        return any(lo <= x <= hi for lo, hi in self.domain[k])

    def sample(self) -> tuple:
        """A fixed point well inside the domain (for rule self-checks)."""
        return tuple(lo + (0.37 + 0.3 * k) * (hi - lo) for k, ((lo, hi), *_) in enumerate(self.domain))


def _method(name: str) -> Callable:
    return lambda x: getattr(x, name)()


WIDE = ((-3.0, 3.0),)
_specs = [
    OpSpec("add", 2, operator.add, (WIDE, WIDE), symbol="+"),
    OpSpec("sub", 2, operator.sub, (WIDE, WIDE), symbol="-"),
    OpSpec("mul", 2, operator.mul, (WIDE, WIDE), symbol="*"),
    OpSpec("div", 2, operator.truediv, (WIDE, ((0.25, 3.0), (-3.0, -0.25))), symbol="/"),
    OpSpec("pow", 2, operator.pow, (((0.25, 3.0),), ((-2.5, 2.5),)), symbol="**"),
    OpSpec("neg", 1, operator.neg, (WIDE,), symbol="-"),
    OpSpec("abs", 1, operator.abs, (((0.01, 3.0), (-3.0, -0.01)),), kinks=(0.0,)),
    OpSpec("exp", 1, _method("exp"), (((-5.0, 5.0),),)),
    OpSpec("log", 1, _method("log"), (((0.1, 10.0),),)),
    OpSpec("sqrt", 1, _method("sqrt"), (((0.1, 10.0),),)),
    OpSpec("tanh", 1, _method("tanh"), (((-4.0, 4.0),),)),
    OpSpec("sigmoid", 1, _method("sigmoid"), (((-6.0, 6.0),),)),
    OpSpec("relu", 1, _method("relu"), (((0.01, 3.0), (-3.0, -0.01)),), kinks=(0.0,)),
    OpSpec("sin", 1, _method("sin"), (((-6.0, 6.0),),)),
    OpSpec("cos", 1, _method("cos"), (((-6.0, 6.0),),)),
]
SPECS = {s.op: s for s in _specs}


def apply(op: str, *args):
    """The result of op ``op`` on ``args`` (``apply("mul", x, 2.0)`` is ``x * 2.0``)."""
    try:
        spec = SPECS[op]
    except KeyError:
        raise ValueError(f"apply: unknown op {op!r}; known ops: {', '.join(SPECS)}") from None
    if len(args) != spec.arity:
        raise TypeError(f"apply: {op} takes {spec.arity} arguments, got {len(args)}")
    return spec.fn(*args)
