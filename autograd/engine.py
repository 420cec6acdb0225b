"""The engine: ``Value`` nodes, graph recording, ``backward``, ``grad`` and ``no_grad``.

A node keeps its operands in two slots, ``_a`` and ``_b``: each is a parent Value, a float
constant (the ``2`` in ``x * 2``) or None; ``_mark`` is graph.toposort's visit mark. Nothing else is allocated per node, so Python's cyclic
garbage collector has one object per node to look at and no closure cycles to break.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import reprlib

from .graph import toposort
from .rules import RULES

__all__ = ["Value", "backward", "grad", "no_grad", "enable_grad", "is_grad_enabled"]

# None: record graphs. _OFF: record nothing (no_grad). A callable: record, then call it with each
# new node (trace.detect_anomaly uses this to remember where a node was made).
_OFF = object()
_mode: contextvars.ContextVar = contextvars.ContextVar("chainrule_mode", default=None)
_recording_mode: contextvars.ContextVar = contextvars.ContextVar("chainrule_on", default=None)


def _number(x, where: str) -> float:
    """A Python number as a float; TypeError naming ``where`` for anything else."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, Value):
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{where}: {reprlib.repr(x)} is too large for a float") from None
    raise TypeError(f"{where}: expected an int, float or bool, got {type(x).__name__} {reprlib.repr(x)}")


def _const(x):
    """A number other than float as a float constant; None (so: NotImplemented) for anything else."""
    if isinstance(x, Value):  # the fast paths compare exact types, so a subclass would lose its graph
        raise TypeError(f"subclasses of Value are not supported, got {type(x).__name__}")
    if isinstance(x, numbers.Real):
        return _number(x, "operand")
    return None


_new = object.__new__


def _make(data: float, op: str, a, b=None) -> "Value":
    """A new node with its operands recorded (unless recording is off)."""
    if op not in RULES:
        raise NotImplementedError(f"{op}: no derivative rule is registered (autograd.rules.RULES has no {op!r})")
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._mark = None
    mode = _mode.get()
    if mode is None:
        out.op = op
        out._a = a
        out._b = b
    elif mode is _OFF:
        out.op = ""
        out._a = out._b = None
    else:
        out.op = op
        out._a = a
        out._b = b
        mode(out)
    return out


def _pow(x: float, y: float, y_is_value: bool) -> float:
    """x ** y with domain errors that name pow and the numbers."""
    if x < 0.0:
        if y_is_value:
            raise ValueError(
                f"pow: base {x!r} is negative and the exponent is a Value, whose derivative "
                f"log(base) is undefined there; use a number as the exponent")
        if not y.is_integer():
            raise ValueError(f"pow: negative base {x!r} with non-integer exponent {y!r}")
    elif x == 0.0 and y < 0.0:
        raise ZeroDivisionError(f"pow: 0.0 cannot be raised to the negative power {y!r}")
    try:
        return x ** y
    except OverflowError:
        raise OverflowError(f"pow: {x!r} ** {y!r} is too large for a float") from None


class Value:
    """A scalar node: its number, its gradient, and the op and operands that made it (not for subclassing)."""

    __slots__ = ("data", "grad", "label", "op", "_a", "_b", "_mark", "__weakref__")

    def __init__(self, data: float, label: str = "") -> None:
        if type(data) is not float:
            data = _number(data, "Value")
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a str, got {type(label).__name__} {reprlib.repr(label)}")
        self.data = data
        self.grad = 0.0
        self.label = label
        self.op = ""
        self._a = self._b = self._mark = None

    @property
    def parents(self) -> tuple:
        """The parent Values in argument order (``x * x`` has ``x`` twice)."""
        return tuple(p for p in (self._a, self._b) if p is not None and type(p) is not float)

    def __repr__(self) -> str:
        label = f"{self.label!r}, " if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value({label}data={self.data!r}, grad={self.grad!r}{op})"

    # Binary ops. A number on either side becomes a float constant of the node.

    def __add__(self, other):
        y = other.data if type(other) is Value else other if type(other) is float else _const(other)
        if y is None:
            return NotImplemented
        return _make(self.data + y, "add", self, other if type(other) is Value else y)

    def __radd__(self, other):
        x = other if type(other) is float else _const(other)
        if x is None:
            return NotImplemented
        return _make(x + self.data, "add", x, self)

    def __sub__(self, other):
        y = other.data if type(other) is Value else other if type(other) is float else _const(other)
        if y is None:
            return NotImplemented
        return _make(self.data - y, "sub", self, other if type(other) is Value else y)

    def __rsub__(self, other):
        x = other if type(other) is float else _const(other)
        if x is None:
            return NotImplemented
        return _make(x - self.data, "sub", x, self)

    def __mul__(self, other):
        y = other.data if type(other) is Value else other if type(other) is float else _const(other)
        if y is None:
            return NotImplemented
        return _make(self.data * y, "mul", self, other if type(other) is Value else y)

    def __rmul__(self, other):
        x = other if type(other) is float else _const(other)
        if x is None:
            return NotImplemented
        return _make(x * self.data, "mul", x, self)

    def __truediv__(self, other):
        y = other.data if type(other) is Value else other if type(other) is float else _const(other)
        if y is None:
            return NotImplemented
        if y == 0.0:
            raise ZeroDivisionError(f"div: division by zero ({self.data!r} / {y!r})")
        return _make(self.data / y, "div", self, other if type(other) is Value else y)

    def __rtruediv__(self, other):
        x = other if type(other) is float else _const(other)
        if x is None:
            return NotImplemented
        if self.data == 0.0:
            raise ZeroDivisionError(f"div: division by zero ({x!r} / {self.data!r})")
        return _make(x / self.data, "div", x, self)

    def __pow__(self, other):
        y = other.data if type(other) is Value else other if type(other) is float else _const(other)
        if y is None:
            return NotImplemented
        is_value = type(other) is Value
        return _make(_pow(self.data, y, is_value), "pow", self, other if is_value else y)

    def __rpow__(self, other):
        x = other if type(other) is float else _const(other)
        if x is None:
            return NotImplemented
        return _make(_pow(x, self.data, True), "pow", x, self)

    # Unary ops.

    def __neg__(self) -> "Value":
        return _make(-self.data, "neg", self)

    def __pos__(self) -> "Value":
        return self

    def __abs__(self) -> "Value":
        return _make(abs(self.data), "abs", self)

    def exp(self) -> "Value":
        """e ** self; OverflowError naming exp above about 709.78."""
        try:
            return _make(math.exp(self.data), "exp", self)
        except OverflowError:
            raise OverflowError(f"exp: overflow, exp({self.data!r}) is too large for a float") from None

    def log(self) -> "Value":
        """Natural logarithm; ValueError for x <= 0."""
        x = self.data
        if not x > 0.0:
            raise ValueError(f"log: undefined for x <= 0, got x = {x!r}")
        return _make(math.log(x), "log", self)

    def sqrt(self) -> "Value":
        """Square root; ValueError for x < 0."""
        x = self.data
        if not x >= 0.0:
            raise ValueError(f"sqrt: undefined for x < 0, got x = {x!r}")
        return _make(math.sqrt(x), "sqrt", self)

    def tanh(self) -> "Value":
        """Hyperbolic tangent (finite for every input)."""
        return _make(math.tanh(self.data), "tanh", self)

    def sigmoid(self) -> "Value":
        """1 / (1 + exp(-x)), computed without overflow for any input."""
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return _make(s, "sigmoid", self)

    def relu(self) -> "Value":
        """max(x, 0)."""
        x = self.data
        return _make(x if x > 0.0 else 0.0, "relu", self)

    def sin(self) -> "Value":
        """Sine (radians)."""
        return _make(_math("sin", self.data), "sin", self)

    def cos(self) -> "Value":
        """Cosine (radians)."""
        return _make(_math("cos", self.data), "cos", self)

    # Gradients.

    def backward(self, grad: float = 1.0) -> None:
        """Seed this node with ``grad`` and apply the chain rule to every node behind it."""
        backward(self, grad)

    def detach(self) -> "Value":
        """A new leaf with the same number and label, cut off from the graph."""
        return Value(self.data, self.label)


def _math(name: str, x: float) -> float:
    try:
        return getattr(math, name)(x)
    except ValueError:
        raise ValueError(f"{name}: undefined for x = {x!r}") from None


def _check_value(v, where: str) -> Value:
    if not isinstance(v, Value):
        raise TypeError(f"{where}: expected a Value, got {type(v).__name__} {reprlib.repr(v)}")
    return v


def backward(root: Value, grad: float = 1.0) -> None:
    """Reverse-mode pass from ``root``: leaves accumulate, interior nodes hold this pass's gradient."""
    _check_value(root, "backward")
    seed = _number(grad, "backward(grad=...)")
    order = toposort(root)
    for node in order:
        if node.op:
            node.grad = 0.0
    root.grad += seed
    rules = RULES
    for node in reversed(order):
        g = node.grad
        if g == 0.0 or not node.op:
            continue  # rules are linear in g: a zero upstream gradient contributes nothing
        a = node._a
        b = node._b
        if b is None:
            (ga,) = rules[node.op](g, a.data, node.data)
            a.grad += ga
        elif type(a) is float:
            b.grad += rules[node.op](g, a, b.data, node.data)[1]
        elif type(b) is float:
            a.grad += rules[node.op](g, a.data, b, node.data)[0]
        else:
            ga, gb = rules[node.op](g, a.data, b.data, node.data)
            a.grad += ga
            b.grad += gb


def contributions(node: Value, g, as_values: bool = False) -> list:
    """[(parent, contribution), ...] of one chain-rule step at ``node`` with upstream gradient ``g``.

    With ``as_values`` the rule runs on the nodes themselves, so the contributions are recorded.
    """
    if not node.op:
        return []
    ops = (node._a,) if node._b is None else (node._a, node._b)
    if as_values:
        out = node
        args = ops
    else:
        out = node.data
        args = tuple(x if type(x) is float else x.data for x in ops)
    result = RULES[node.op](g, *args, out)
    return [(p, c) for p, c in zip(ops, result) if type(p) is not float]


def grad(output: Value, inputs, create_graph: bool = False) -> tuple:
    """d output / d input for each input, as a tuple, without touching any ``.grad``.

    With ``create_graph=True`` the gradients are Values recorded in a graph of their own, so they
    can be differentiated again.
    """
    _check_value(output, "grad")
    if isinstance(inputs, Value):
        inputs = (inputs,)
    elif not hasattr(inputs, "__iter__"):
        raise TypeError(f"grad: inputs must be a Value or a sequence of Values, got {type(inputs).__name__}")
    inputs = tuple(inputs)
    for i, x in enumerate(inputs):
        _check_value(x, f"grad: inputs[{i}]")
    order = toposort(output)
    grads: dict = {output: Value(1.0, "seed") if create_graph else 1.0}
    made: list = []  # nodes recorded by the latest step, tagged below so pictures can name them
    outer = _recording_mode.get()
    hook = made.append if outer is None else lambda v: (made.append(v), outer(v))
    with _record_hook(hook) if create_graph else contextlib.nullcontext():
        for i in range(len(order) - 1, -1, -1):
            node = order[i]
            g = grads.get(node)
            if g is None or not node.op or (not create_graph and g == 0.0):
                continue
            steps = contributions(node, g, create_graph)
            _tag(made, f"{node.op}_backward @ node {i}")
            for parent, c in steps:
                prev = grads.get(parent)
                grads[parent] = c if prev is None else prev + c
                _tag(made, f"accumulate @ node {i}")
    zero = Value if create_graph else float
    return tuple(grads[x] if x in grads else zero(0.0) for x in inputs)


def _tag(nodes: list, label: str) -> None:
    for v in nodes:
        if not v.label:
            v.label = label
    nodes.clear()


class no_grad(contextlib.ContextDecorator):
    """Inside, operations record no graph (their results are leaves). Also a decorator."""

    _target = staticmethod(lambda: _OFF)

    def __enter__(self):
        self._tokens = getattr(self, "_tokens", [])
        self._tokens.append(_mode.set(self._target()))
        return self

    def __exit__(self, *exc) -> None:
        _mode.reset(self._tokens.pop())

    def _recreate_cm(self):
        return type(self)()  # a fresh instance per decorated call, so threads never share tokens


class enable_grad(no_grad):
    """Turns recording back on inside ``no_grad``. Also a decorator."""

    _target = staticmethod(lambda: _recording_mode.get())


@contextlib.contextmanager
def _record_hook(hook):
    """Record graphs and call ``hook(node)`` for each node made inside (for trace.detect_anomaly)."""
    t1, t2 = _recording_mode.set(hook), _mode.set(hook)
    try:
        yield
    finally:
        _mode.reset(t2)
        _recording_mode.reset(t1)


def is_grad_enabled() -> bool:
    """True when operations record the graph."""
    return _mode.get() is not _OFF
