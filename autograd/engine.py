"""The engine: ``Value`` nodes, graph recording, ``backward``, ``grad``, ``no_grad`` and ``define_op``.

A node keeps its operands in two slots, ``_a`` and ``_b``: each is a parent Value, a float
constant (the ``2`` in ``x * 2``) or None; ``_mark`` is graph.toposort's visit mark. Nothing else is
allocated per node, so Python's cyclic garbage collector has one object per node to look at and no
closure cycles to break. Only this module and ``graph.py`` know that layout.

What each op computes and how it is differentiated lives in the op table (``ops.py``, filled by
``rules.py``); the engine records nodes and runs the reverse pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import contextvars
import functools
import inspect
import math
import numbers
import reprlib
import threading

from .graph import PASS_LOCK, made_by, mark_backward, operands, toposort
from .ops import OPS, RULES, Op, finite, register

__all__ = ["Value", "backward", "grad", "no_grad", "enable_grad", "is_grad_enabled", "define_op", "apply",
           "as_value", "as_number", "record", "record_hook", "reverse_pass", "contributions", "call_rule",
           "backward_rules", "forward_of", "named_error", "made_by_backward", "leaf_grad"]

# None: record graphs. _OFF: record nothing (no_grad). A callable: record, then call it with each
# new node (trace.detect_anomaly and grad(create_graph=True) use this to see the nodes made).
_OFF = object()
_mode: contextvars.ContextVar = contextvars.ContextVar("chainrule_mode", default=None)
_recording_mode: contextvars.ContextVar = contextvars.ContextVar("chainrule_on", default=None)
# The op whose rule is being recorded by grad(create_graph=True): a Value turned into a float there
# (math.cos(x) in a user's rule) would cut the gradient's graph, so it is an error naming the op.
_rule_recorded: contextvars.ContextVar = contextvars.ContextVar("chainrule_rule", default=None)


def as_number(x, where: str) -> float:
    """A Python number as a float; TypeError naming ``where`` for anything else."""
    if type(x) is float:
        return x
    if type(x) is int or isinstance(x, numbers.Real) and not isinstance(x, Value):  # int: no abstract-class check
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{where}: {reprlib.repr(x)} is too large for a float") from None
    raise TypeError(f"{where}: expected an int, float or bool, got {type(x).__name__} {reprlib.repr(x)}")


def as_seed(grad, where: str) -> float:
    """A backward pass's seed as a float: ``as_number``, and a ValueError for NaN, which would make every gradient NaN."""
    seed = as_number(grad, where)
    if seed != seed:
        raise ValueError(f"{where}: expected a number, got nan; a NaN seed makes every gradient NaN")
    return seed


def as_value(v, where: str) -> "Value":
    """``v`` itself if it is a Value; TypeError naming ``where`` otherwise."""
    if not isinstance(v, Value):
        raise TypeError(f"{where}: expected a Value, got {type(v).__name__} {reprlib.repr(v)}")
    return v


def _const(x):
    """A number other than float as a float constant; None (so: NotImplemented) for anything else."""
    if type(x) is int:  # sum()'s start, x * 2
        return as_number(x, "operand")
    if isinstance(x, Value):  # the fast paths compare exact types, so a subclass would lose its graph
        raise TypeError(f"subclasses of Value are not supported, got {type(x).__name__}")
    if isinstance(x, numbers.Real):
        return as_number(x, "operand")
    return None


_new = object.__new__
_incomplete = False  # some op in OPS has no rule in RULES (removed by hand): _make then asks RULES


def _rules_changed() -> None:
    """RULES was changed: note whether an op now lacks its rule (asking RULES at every recorded node
    costs a tenth of a microgpt forward pass, so _make asks only while one does)."""
    global _incomplete
    _incomplete = not OPS.keys() <= RULES.keys()


RULES.on_change = _rules_changed


def _make(data: float, op: str, a, b=None) -> "Value":
    """A new node with its operands recorded (unless recording is off)."""
    if _incomplete and op not in RULES:
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


def record(op: str, data: float, *args) -> "Value":
    """A node of ``op`` with the given number, bypassing the forward's domain check.

    For rules that must stay differentiable where a forward would refuse: ``sqrt``'s rule divides
    by 2 * sqrt(0) = 0 and needs the resulting ``inf`` as a node so its second derivative is -inf.
    """
    return _make(data, op, *(a if type(a) is Value else float(a) for a in args))


class Value:
    """A scalar node: its number, its gradient, and the op and operands that made it (not for subclassing)."""

    __slots__ = ("data", "grad", "label", "op", "_a", "_b", "_mark", "__weakref__")

    def __init__(self, data: float, label: str = "") -> None:
        if type(data) is not float:
            data = as_number(data, "Value")
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

    # A number where Python asks for one (PyTorch's and micrograd's users reach for these first):
    # each reads .data and records nothing. == stays identity: graphs key dicts and sets by node,
    # and two nodes with equal numbers are still two nodes. Comparisons are not differentiable.

    def __float__(self) -> float:
        _refuse_in_recorded_rule("float")
        return float(self.data)

    def __int__(self) -> int:
        _refuse_in_recorded_rule("int")
        return int(self.data)

    def item(self) -> float:
        """The number, as a Python float (PyTorch's name)."""
        return float(self.data)

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else str(self)

    def __round__(self, ndigits=None):
        return round(self.data, ndigits)

    def __bool__(self) -> bool:
        return self.data != 0.0

    def __lt__(self, other):
        y = _number_of(other)
        return NotImplemented if y is None else self.data < y

    def __le__(self, other):
        y = _number_of(other)
        return NotImplemented if y is None else self.data <= y

    def __gt__(self, other):
        y = _number_of(other)
        return NotImplemented if y is None else self.data > y

    def __ge__(self, other):
        y = _number_of(other)
        return NotImplemented if y is None else self.data >= y

    # The arithmetic operators are kept written out: they are most of every graph, and calling the
    # op table's forward here would cost a function call per node (measured: about 4% of the
    # moons step). Their domain checks are the same functions the table uses.

    def __add__(self, other):
        if type(other) is Value:
            return _make(self.data + other.data, "add", self, other)
        y = other if type(other) is float else _const(other)
        return NotImplemented if y is None else _make(self.data + y, "add", self, y)

    def __radd__(self, other):
        x = other if type(other) is float else _const(other)
        return NotImplemented if x is None else _make(x + self.data, "add", x, self)

    def __sub__(self, other):
        if type(other) is Value:
            return _make(self.data - other.data, "sub", self, other)
        y = other if type(other) is float else _const(other)
        return NotImplemented if y is None else _make(self.data - y, "sub", self, y)

    def __rsub__(self, other):
        x = other if type(other) is float else _const(other)
        return NotImplemented if x is None else _make(x - self.data, "sub", x, self)

    def __mul__(self, other):
        if type(other) is Value:
            return _make(self.data * other.data, "mul", self, other)
        y = other if type(other) is float else _const(other)
        return NotImplemented if y is None else _make(self.data * y, "mul", self, y)

    def __rmul__(self, other):
        x = other if type(other) is float else _const(other)
        return NotImplemented if x is None else _make(x * self.data, "mul", x, self)

    def __truediv__(self, other):
        return _binary("div", self, other)

    def __rtruediv__(self, other):
        return _binary("div", other, self)

    def __pow__(self, other):
        return _binary("pow", self, other)

    def __rpow__(self, other):
        return _binary("pow", other, self)

    def __neg__(self) -> "Value":
        return _make(-self.data, "neg", self)

    def __pos__(self) -> "Value":
        return self

    def __abs__(self) -> "Value":
        return apply("abs", self)

    # The other built-in ops (exp, log, tanh, relu, ...) become methods when rules.py declares
    # them (``method=True``), so the table stays their only description.

    def backward(self, grad: float = 1.0) -> None:
        """Seed this node with ``grad`` and apply the chain rule to every node behind it."""
        backward(self, grad)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """In Jupyter: the graph behind this Value as SVG (text for huge graphs or without the viz extra)."""
        from .notebook import mimebundle  # the picture tools load only when a notebook asks

        return mimebundle(self, include, exclude)

    def detach(self) -> "Value":
        """A new leaf with the same number and label, cut off from the graph."""
        return Value(self.data, self.label)


def _number_of(x):
    """The number of a Value or of a number (a float for numpy's too); None for anything else."""
    return x.data if type(x) is Value else x if type(x) is float else _const(x)


def _binary(key: str, x, y):
    """A binary op on a Value and a number (either side); NotImplemented for foreign types."""
    xd = x.data if type(x) is Value else x if type(x) is float else _const(x)
    yd = y.data if type(y) is Value else y if type(y) is float else _const(y)
    if xd is None or yd is None:
        return NotImplemented
    if key == "pow" and type(y) is Value and xd < 0.0:
        raise ValueError(f"pow: base {xd!r} is negative and the exponent is a Value, whose derivative "
                         f"log(base) is undefined there; use a number as the exponent")
    return _make(OPS[key].forward(xd, yd), key, x if type(x) is Value else xd, y if type(y) is Value else yd)


def _forward(spec: Op, args: tuple) -> float:
    """spec.forward on numbers; a user forward's failure comes out naming the op and the input."""
    if spec.builtin:
        return spec.forward(*args)
    try:
        out = spec.forward(*args)
    except Exception as e:
        raise named_error(e, f"{spec.key}: forward raised {type(e).__name__} at {_at(args)}: {e}") from e
    if type(out) is float:
        return out
    if isinstance(out, bool) or not isinstance(out, numbers.Real) or isinstance(out, Value):
        raise TypeError(f"{spec.key}: forward must return a number, got {type(out).__name__} "
                        f"{reprlib.repr(out)} at {_at(args)}")
    try:
        return float(out)
    except (OverflowError, ValueError, TypeError):
        raise ValueError(f"{spec.key}: forward returned {type(out).__name__} {reprlib.repr(out)}, which is "
                         f"too large for a float, at {_at(args)}") from None


def forward_of(spec: Op):
    """The function of floats the engine runs for ``spec``: a built-in's own forward, a user's checked."""
    return spec.forward if spec.builtin else lambda *xs: _forward(spec, xs)


def _at(args) -> str:
    """'x = 1.5, y = 2.0': an op's inputs as messages name them (a Value by its number)."""
    return ", ".join(f"{n} = {a.data if type(a) is Value else a!r}" for n, a in zip("xy", args))


def named_error(error: Exception, message: str) -> Exception:
    """``message`` as an exception of the nearest built-in kind of ``error`` (``except
    ZeroDivisionError`` still catches it); raise it ``from error``. A class whose constructor wants
    other arguments is never re-constructed: json.JSONDecodeError becomes a ValueError,
    UnicodeDecodeError a UnicodeError."""
    for kind in type(error).__mro__:
        if kind.__module__ == "builtins" and issubclass(kind, Exception) and not issubclass(kind, StopIteration):
            try:
                return kind(message)
            except TypeError:
                continue
    return RuntimeError(message)


def apply(op: str, *args):
    """Op ``op`` on ``args``: a Value node if any is a Value, a float for numbers, and for other
    number types (``forward.Dual``) their own operator or method of that name, or for a user op
    their ``apply_op(op record, *args)``."""
    spec = OPS.get(op)
    if spec is None:
        raise ValueError(f"apply: unknown op {op!r}; known ops: {', '.join(OPS)}")
    if len(args) != spec.arity:
        raise TypeError(f"apply: {op} takes {spec.arity} arguments, got {len(args)}")
    if any(type(a) is Value for a in args):
        if spec.key in ("div", "pow"):
            return _binary(spec.key, *args)
        xs = tuple(a.data if type(a) is Value else as_number(a, f"{op}: input {k}") for k, a in enumerate(args))
        ops = tuple(a if type(a) is Value else x for a, x in zip(args, xs))
        return _make(_forward(spec, xs), spec.key, *ops)
    other = next((a for a in args if not isinstance(a, numbers.Real)), None)
    if other is None:
        return _forward(spec, tuple(as_number(a, f"{op}: input {k}") for k, a in enumerate(args)))
    kind = type(other)  # forward.Dual and the like: lift numbers, then use its operators and methods
    if not spec.builtin:
        if not hasattr(kind, "apply_op"):
            k = next(k for k, a in enumerate(args) if a is other)
            raise TypeError(f"{op}: input {k} must be a number or a Value, got {kind.__name__} {reprlib.repr(other)}")
        return kind.apply_op(spec, *(a if isinstance(a, kind) else kind(a) for a in args))
    args = tuple(a if isinstance(a, kind) else kind(a) for a in args)
    if spec.symbol:
        return _SYMBOLS[spec.symbol, spec.arity](*args)
    return getattr(args[0], spec.key)(*args[1:])


_SYMBOLS = {("+", 2): lambda a, b: a + b, ("-", 2): lambda a, b: a - b, ("*", 2): lambda a, b: a * b,
            ("/", 2): lambda a, b: a / b, ("**", 2): lambda a, b: a ** b, ("-", 1): lambda a: -a}


def _op_function(spec: Op):
    """The callable that applies ``spec`` to Values or numbers (what define_op returns)."""
    def op(*args):
        if len(args) != spec.arity:
            raise TypeError(f"{spec.key} takes {spec.arity} argument{'s' * (spec.arity > 1)}, got {len(args)}")
        for k, a in enumerate(args):
            if type(a) is not Value and (isinstance(a, bool) or not isinstance(a, numbers.Real)) and \
                    not hasattr(type(a), "apply_op"):
                raise TypeError(f"{spec.key}: input {k} must be a number or a Value, got {type(a).__name__} "
                                f"{reprlib.repr(a)}")
        out = apply(spec.key, *args)
        return Value(out) if type(out) is float else out

    op.__name__ = op.__qualname__ = spec.key
    op.__doc__ = (spec.forward.__doc__ or f"The op {spec.key!r}.").strip().splitlines()[0]
    return op


def _method(spec: Op):
    """The Value method of a built-in op: ``x.exp()``, ``x.leaky_relu(slope=0.01)``."""
    if spec.arity == 1:
        forward, key = spec.forward, spec.key

        def method(self):
            return _make(forward(self.data), key, self)
        method.__signature__ = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)])
    else:  # the second argument keeps the forward's name and default (slope=0.01)
        params = list(inspect.signature(spec.forward).parameters.values())
        second = params[1].replace(default=spec.defaults[0]) if spec.defaults else params[1]
        signature = inspect.Signature([params[0].replace(name="self"), second])
        function = _op_function(spec)

        def method(self, *args, **kwargs):
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError as e:
                raise TypeError(f"{spec.key}: {e}") from None
            bound.apply_defaults()
            return function(*bound.args)
        method.__signature__ = signature
    method.__name__ = method.__qualname__ = spec.key
    method.__doc__ = (spec.forward.__doc__ or f"The op {spec.key!r}.").strip().splitlines()[0]
    return method


def builtin(op: Op):
    """Register a built-in op (rules.py); with ``method=True`` it becomes a Value method. Returns its function."""
    op = register(dataclasses.replace(op, builtin=True))
    if op.method:
        setattr(Value, op.key, _method(op))
    return _op_function(op)


def _signature(f):
    """f's signature, or None where Python cannot read it (math.log, math.hypot)."""
    try:
        return inspect.signature(f)
    except (TypeError, ValueError):
        return None


def _takes(signature, n: int) -> bool:
    """Whether a function of this signature can be called with n positional arguments."""
    try:
        signature.bind(*range(n))
    except TypeError:
        return False
    return True


def _fixed(signature, extra: int) -> int | None:
    """The arity a signature implies (its positional parameters minus ``extra``), None if it does not say."""
    if signature is None:
        return None
    params = signature.parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
               for p in params) - extra


def _define_arity(name: str, forward, backward, arity) -> int:
    """define_op's arity: ``arity=`` if given, else what forward's signature says, else backward's."""
    fs, bs = _signature(forward), _signature(backward)
    if arity is None:
        arity = next((a for a in (_fixed(fs, 0), _fixed(bs, 2)) if a is not None), None)
        if arity is None:
            raise ValueError(f"define_op {name}: cannot tell how many inputs the op takes from the signatures of "
                             f"{forward!r} and {backward!r}; pass arity=1 or arity=2")
        if arity not in (1, 2):
            raise ValueError(f"define_op {name}: forward must take 1 or 2 numbers, it takes {arity}")
    elif isinstance(arity, bool) or arity not in (1, 2):
        raise ValueError(f"define_op {name}: arity must be 1 or 2, got {reprlib.repr(arity)}")
    if fs is not None and not _takes(fs, arity):
        raise ValueError(f"define_op {name}: forward {forward!r} cannot take {arity} number{'s' * (arity > 1)} "
                         f"(its signature is {fs})")
    if bs is not None and not _takes(bs, arity + 2):
        raise ValueError(f"define_op {name}: backward must take (g, {', '.join('xy'[:arity])}, out), "
                         f"{arity + 2} arguments, it takes {_fixed(bs, 0)}")
    return arity


def _define_domain(name: str, domain, arity: int):
    """domain as a tuple (per input) of (low, high) float pairs; ValueError naming the op otherwise."""
    if domain is None:
        return None
    try:
        return tuple(tuple((as_number(lo, name), as_number(hi, name)) for lo, hi in iv) for iv in domain)
    except (TypeError, ValueError, OverflowError):
        return domain  # register refuses it with the message that says what a domain is


def define_op(name: str, forward, backward, *, domain=None, kinks=(), arity: int | None = None, jvp=None):
    """A new op: ``forward(*xs)`` on floats (one or two), ``backward(g, *xs, out)`` returning one
    contribution per input. Returns a function taking Values or numbers; ``RULES[name] is backward``.

    Write ``backward`` with operators (and Value methods) so it works on floats and on Values; then
    ``grad(..., create_graph=True)`` differentiates it again. ``domain`` (a tuple of (low, high)
    intervals per input) lets ``gradcheck.check_rules`` and ``strategies.expressions`` test it.
    ``arity`` (1 or 2) is needed only where neither signature says it (``math.hypot``).
    ``jvp(*xs, *dxs)`` returns the output's tangent for ``forward.Dual``; without it forward mode
    uses ``backward`` (then the Dual oracle is not independent of the rule it checks).
    """
    if not isinstance(name, str):
        raise TypeError(f"define_op: name must be a str, got {type(name).__name__} {reprlib.repr(name)}")
    for what, f in (("forward", forward), ("backward", backward), ("jvp", jvp)):
        if not callable(f) and not (what == "jvp" and f is None):
            raise TypeError(f"define_op {name}: {what} must be callable, got {type(f).__name__}")
    arity = _define_arity(name, forward, backward, arity)
    if jvp is not None and (js := _signature(jvp)) is not None and not _takes(js, 2 * arity):
        dxs = ", ".join(["x", "y"][:arity] + ["dx", "dy"][:arity])
        raise ValueError(f"define_op {name}: jvp must take ({dxs}), {2 * arity} arguments, it takes {_fixed(js, 0)}")
    kinks = tuple(kinks) if isinstance(kinks, (tuple, list)) else (kinks,)
    for k in kinks:
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or isinstance(k, Value) or not math.isfinite(k):
            raise ValueError(f"define_op {name}: kinks must be finite numbers, got {type(k).__name__} "
                             f"{reprlib.repr(k)}")
    kinks = tuple(float(k) for k in kinks)
    spec = Op(name, arity, forward, backward, _define_domain(name, domain, arity), kinks, jvp=jvp)
    return _op_function(register(spec))


# Reverse accumulation.

def contributions(node: Value, g, as_values: bool = False) -> list:
    """[(operand index, parent, contribution), ...] of one chain-rule step at ``node`` with
    upstream gradient ``g`` (constants left out).

    With ``as_values`` the rule runs on the nodes themselves, so the contributions are recorded.
    A zero upstream gradient contributes exactly zero, even where the local derivative is infinite
    or NaN (sqrt at 0): the one rule every gradient path follows.
    """
    ops = operands(node)
    if not ops:
        return []
    if as_values:
        result = call_rule(node.op, RULES[node.op], (g,) + ops + (node,), True)
        if g.data == 0.0:  # keep finite terms (their own derivatives matter), zero the 0 * inf ones
            result = [c if finite(c) else g * 0.0 for c in result]
    elif g == 0.0:
        return [(k, a, 0.0) for k, a in enumerate(ops) if type(a) is not float]
    else:
        args = (g,) + tuple(a if type(a) is float else a.data for a in ops) + (node.data,)
        result = call_rule(node.op, RULES[node.op], args)
    return [(k, a, c) for k, (a, c) in enumerate(zip(ops, result)) if type(a) is not float]


def call_rule(op: str, rule, args: tuple, as_values: bool = False) -> tuple:
    """``rule(*args)`` (args: g, the op's inputs, its output) with its result checked, the one check
    every path makes: a tuple or list of one real number per input, as floats (a Value counts as
    its number), or with ``as_values`` as Values. Anything else, and any exception the rule
    raises, is an error naming the op, its inputs and what came back."""
    token = _rule_recorded.set(op) if as_values else None
    try:
        result = rule(*args)
    except _LostGraph:
        raise
    except Exception as e:
        raise named_error(e, f"{op}_backward raised {type(e).__name__} at {_rule_at(args)}: {e}") from e
    finally:
        if token is not None:
            _rule_recorded.reset(token)
    n = len(args) - 2
    if not isinstance(result, (tuple, list)) or len(result) != n:
        got = f"{len(result)} contribution{'s' * (len(result) != 1)} " if isinstance(result, (tuple, list)) \
            else f"{type(result).__name__} "
        raise ValueError(f"{op}_backward must return a tuple of {n} contribution{'s' * (n > 1)} (one real number "
                         f"per input), got {got}{reprlib.repr(result)} at {_rule_at(args)}")
    out = []
    for k, c in enumerate(result):
        if type(c) is float:
            out.append(Value(c) if as_values else c)
        elif type(c) is Value:
            out.append(c if as_values else c.data)
        elif isinstance(c, numbers.Real) and not isinstance(c, Value) and _is_float(c):  # int, numpy scalars
            out.append(Value(float(c)) if as_values else float(c))
        else:
            raise ValueError(f"{op}_backward must return one real number per input, got {type(c).__name__} "
                             f"{reprlib.repr(c)} for input {k} ({'xy'[k]}) at {_rule_at(args)}")
    return tuple(out)


class _LostGraph(TypeError):
    """A Value made a number inside a rule that grad(create_graph=True) records."""


def _refuse_in_recorded_rule(kind: str) -> None:
    """TypeError naming the op when a rule being recorded turns a Value into a plain number."""
    op = _rule_recorded.get()
    if op is not None:
        raise _LostGraph(f"{op}_backward turned a Value into {'a float' if kind == 'float' else 'an int'} "
                         f"(math.* or {kind}() on an input) while grad(create_graph=True) records the gradient, "
                         f"so its own derivative would be lost; write the rule with operators and Value methods "
                         f"(x.cos(), x.exp(), x ** 0.5), which work on floats and Values alike")


def _is_float(x) -> bool:
    """Whether float(x) gives x's number (not an int too large for a float)."""
    try:
        float(x)
    except (OverflowError, TypeError, ValueError):
        return False
    return True


def leaf_grad(node: Value, where: str) -> float:
    """A leaf's ``.grad`` as a float (an int set by hand counts), or TypeError naming ``where`` and the leaf."""
    g = node.grad
    if type(g) is float:
        return g
    name = repr(node.label) if node.label else f"Value(data={node.data!r})"
    return as_number(g, f"{where}: the .grad of leaf {name}")


def _rule_at(args: tuple) -> str:
    """'x = 1.5 (g = 1.0, out = 2.25)': where a rule was called."""
    g, out = args[0], args[-1]
    number = lambda v: v.data if type(v) is Value else v  # noqa: E731
    return f"{_at(args[1:-1])} (g = {number(g)!r}, out = {number(out)!r})"


def _checked(op: str, rule):
    """``rule`` wrapped in ``call_rule``: what ``backward`` calls for a rule it does not trust."""
    def checked(*args):
        return call_rule(op, rule, args)
    checked.__name__ = checked.__qualname__ = f"{op}_backward (checked)"
    return checked


_trusted = (-1, {})  # (RULES.changes when built, what a float backward pass calls for each op key)


def backward_rules() -> dict:
    """Op key -> the function a float backward pass calls: a built-in op's own rule (trusted, the hot
    path pays nothing), any other rule (a user op's, or one put into RULES by hand) wrapped in
    ``call_rule``. Rebuilt when RULES has changed."""
    global _trusted
    changes, calls = _trusted
    if changes != RULES.changes:
        changes = RULES.changes
        calls = {k: r if k in OPS and OPS[k].builtin and OPS[k].rule is r else _checked(k, r)
                 for k, r in dict(RULES).items()}  # one atomic copy, should another thread define an op
        _trusted = (changes, calls)  # rebound, never mutated: a pass running in another thread keeps its table
    return calls


def reverse_pass(root: Value, seed, as_values: bool = False):
    """The reverse pass written once, for the tools: yields (node, upstream g, contributions) in
    reverse topological order, accumulating into a dict of gradients (``.grad`` is never touched).

    The dict is yielded first (``grads = next(walk)``), so a caller can read every gradient as it
    stands. ``backward`` keeps a tight copy of this loop for speed (see there).
    """
    order = toposort(root)
    grads: dict = {root: seed}
    yield grads
    for i in range(len(order) - 1, -1, -1):
        node = order[i]
        g = grads.get(node)
        if g is None or not node.op or (not as_values and g == 0.0):
            continue  # a zero upstream gradient contributes nothing (as values, its terms may still vary)
        steps = contributions(node, g, as_values)
        yield node, g, steps
        for _, parent, c in steps:
            prev = grads.get(parent)
            grads[parent] = c if prev is None else prev + c


def backward(root: Value, grad: float = 1.0) -> None:
    """Reverse-mode pass from ``root``: leaves accumulate, interior nodes hold this pass's gradient.

    Each leaf's contributions are summed within the pass and added to its ``.grad`` once, so two
    passes give exactly twice one pass. Passes hold a lock: threads sharing parameters lose nothing.
    """
    as_value(root, "backward")
    seed = as_seed(grad, "backward(grad=...)")
    with PASS_LOCK:
        order = toposort(root)
        leaves = []
        done = False
        try:
            for node in order:
                if node.op:
                    node.grad = 0.0
                else:
                    leaves.append((node, leaf_grad(node, "backward")))
                    node.grad = 0.0
            root.grad = seed
            rules = backward_rules()
            # The loop of reverse_pass, written out: .grad slots instead of a dict and no generator
            # (about twice as fast, and backward is the hot path of every training step).
            for node in reversed(order):
                g = node.grad
                if g == 0.0 or not node.op:
                    continue  # a zero upstream gradient contributes nothing (even times inf)
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
            done = True
        finally:  # a failed pass leaves every leaf as it found it
            for leaf, before in leaves:
                leaf.grad = before + leaf.grad if done else before


def grad(output: Value, inputs, create_graph: bool = False) -> tuple:
    """d output / d input for each input, as a tuple, without touching any ``.grad``.

    With ``create_graph=True`` the gradients are Values recorded in a graph of their own, so they
    can be differentiated again.
    """
    as_value(output, "grad")
    if isinstance(inputs, Value):
        inputs = (inputs,)
    elif not hasattr(inputs, "__iter__"):
        raise TypeError(f"grad: inputs must be a Value or a sequence of Values, got {type(inputs).__name__}")
    inputs = tuple(inputs)
    for i, x in enumerate(inputs):
        as_value(x, f"grad: inputs[{i}]")
    made: list = []  # nodes recorded by the latest step, registered below so pictures can name them
    seed = Value(1.0) if create_graph else 1.0
    walk = reverse_pass(output, seed, create_graph)
    with record_hook(made.append) if create_graph else contextlib.nullcontext():
        grads = next(walk)
        for node, _, _ in walk:
            _register(made, f"{node.op}_backward")
        _register(made, "accumulate")
    if create_graph:
        mark_backward(seed, "seed")
    zero = Value if create_graph else float
    return tuple(grads[x] if x in grads else zero(0.0) for x in inputs)


def made_by_backward(node: Value) -> bool:
    """True for a node that ``grad(..., create_graph=True)`` recorded (``graph.made_by`` names the step)."""
    return made_by(node) is not None


def _register(nodes: list, step: str) -> None:
    for v in nodes:
        mark_backward(v, step)
    nodes.clear()


class no_grad(contextlib.ContextDecorator):
    """Inside, operations record no graph (their results are leaves). Also a decorator, which on a
    generator function holds for each of the generator's resumptions (as PyTorch's).

    One object may be entered by several threads at once: each thread keeps its own tokens.
    """

    _target = staticmethod(lambda: _OFF)

    def __init__(self) -> None:
        self._local = threading.local()

    def __enter__(self):
        tokens = self._local.__dict__.setdefault("tokens", [])
        tokens.append(_mode.set(self._target()))
        return self

    def __exit__(self, *exc) -> None:
        _mode.reset(self._local.tokens.pop())

    def _recreate_cm(self):
        return type(self)()  # a fresh instance per decorated call

    def __call__(self, func):
        """As a decorator; on a generator function the mode holds at every resumption of the
        generator, and the caller's mode between them (as PyTorch's)."""
        if not inspect.isgeneratorfunction(func):
            return super().__call__(func)

        @functools.wraps(func)
        def generator(*args, **kwargs):
            return (yield from _in_mode(self._recreate_cm, func(*args, **kwargs)))
        return generator


def _in_mode(mode, gen):
    """Run generator ``gen`` with a fresh ``mode()`` entered around each resumption (next, send,
    throw, close); what it yields and returns passes through unchanged."""
    try:
        with mode():
            value = next(gen)
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                with mode():
                    gen.close()
                raise
            except BaseException as e:  # noqa: BLE001 - thrown in by the caller: the generator decides
                with mode():
                    value = gen.throw(e)
            else:
                with mode():
                    value = gen.send(sent)
    except StopIteration as stop:
        return stop.value


class enable_grad(no_grad):
    """Turns recording back on inside ``no_grad``. Also a decorator."""

    _target = staticmethod(lambda: _recording_mode.get())


@contextlib.contextmanager
def record_hook(hook):
    """Record graphs and call ``hook(node)`` for each node made inside, after any outer hook's."""
    outer = _recording_mode.get()
    both = hook if outer is None else lambda v: (outer(v), hook(v))
    t1, t2 = _recording_mode.set(both), _mode.set(both)
    try:
        yield
    finally:
        _mode.reset(t2)
        _recording_mode.reset(t1)


def is_grad_enabled() -> bool:
    """True when operations record the graph."""
    return _mode.get() is not _OFF
