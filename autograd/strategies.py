"""Hypothesis strategies for Values and random computation graphs, for this project's tests and yours.

``expressions()`` draws small graphs that reuse nodes (``x * x``, diamonds), with every op's inputs
inside its safe domain and away from kinks, and shrinks to short formulas such as
``Expression(tanh(x0 * x0) + x0, x0=0.5)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from .engine import Value, apply, grad, no_grad
from .ops import ATOM, OPS, call_text

__all__ = ["finite_floats", "values", "expressions", "Expression", "hunt"]

LIMIT = 1e4  # largest magnitude a generated intermediate may reach
KINK_MARGIN = 0.01  # how close to a kink an op's inputs may be drawn


def finite_floats(min_value: float = -1e6, max_value: float = 1e6) -> st.SearchStrategy:
    """Finite, non-subnormal floats in [min_value, max_value]."""
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def values(min_value: float = -1e6, max_value: float = 1e6, labels: bool = False) -> st.SearchStrategy:
    """Leaf Values with data from ``finite_floats``; with ``labels``, short text labels too."""
    label = st.text(max_size=8) if labels else st.just("")
    return st.builds(Value, finite_floats(min_value, max_value), label)


@dataclass(frozen=True)
class Expression:
    """A recorded program: ``steps`` of (op, args), each arg ("x", input i), ("t", step i) or ("c", number)."""

    input_values: tuple
    steps: tuple

    def fn(self, *inputs):
        """Replay the program on ``inputs`` (Values, Duals, anything with Value's operators)."""
        if len(inputs) != len(self.input_values):
            raise TypeError(f"Expression takes {len(self.input_values)} inputs, got {len(inputs)}")
        temps = []
        for op, args in self.steps:
            temps.append(apply(op, *(inputs[i] if kind == "x" else temps[i] if kind == "t" else i
                                     for kind, i in args)))
        return temps[-1]

    @property
    def inputs(self) -> list:
        """Fresh leaf Values x0, x1, ... at the drawn numbers."""
        return [Value(x, f"x{i}") for i, x in enumerate(self.input_values)]

    @property
    def ops(self) -> set:
        return {op for op, _ in self.steps}

    @property
    def formula(self) -> str:
        """The expression in the command line's notation (shared nodes written out each time)."""
        texts = []  # (text, precedence) per step

        def text(kind, i):
            if kind == "x":
                return f"x{i}", ATOM
            if kind == "c":
                return repr(i), ATOM if i >= 0 else 0  # a negative number is bracketed where it binds
            return texts[i]

        for op, args in self.steps:
            parts = [text(*a) for a in args]
            texts.append(call_text(op, [t for t, _ in parts], [p for _, p in parts]))
        return texts[-1][0]

    def __repr__(self) -> str:
        xs = ", ".join(f"x{i}={x!r}" for i, x in enumerate(self.input_values))
        return f"Expression({self.formula}, {xs})"

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """Hypothesis' (and IPython's) pretty-printer shows the formula too, not the dataclass fields."""
        printer.text(repr(self))


def expressions(ops=None, max_leaves: int = 3, max_depth: int = 4, max_steps: int = 8) -> st.SearchStrategy:
    """Random graphs over ``ops`` (default: every built-in op; user ops by name, if they have a
    domain) with reused nodes and inputs in safe domains."""
    testable = [k for k, op in OPS.items() if op.domain is not None]
    ops = [k for k in testable if OPS[k].builtin] if ops is None else [ops] if isinstance(ops, str) else list(ops)
    unknown = [op for op in ops if op not in testable]
    if unknown or not ops:
        raise ValueError(f"expressions: unknown ops or ops without a domain {unknown}; choose from "
                         f"{', '.join(testable)} (define_op needs domain=... for its op to be drawn)")
    for name, n in (("max_leaves", max_leaves), ("max_depth", max_depth), ("max_steps", max_steps)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"expressions: {name} must be a positive int, got {n!r}")
    return _expressions(ops, max_leaves, max_depth, max_steps)


@st.composite
def _expressions(draw, ops, max_leaves, max_depth, max_steps) -> Expression:
    n_inputs = draw(st.integers(1, max_leaves))
    xs = tuple(draw(finite_floats(-3.0, 3.0)) for _ in range(n_inputs))
    nodes = [("x", i, x, 0) for i, x in enumerate(xs)]  # kind, index, number, depth
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        spec = OPS[draw(st.sampled_from(ops))]
        args = []
        for k in range(spec.arity):
            fits = [n for n in reversed(nodes) if n[3] < max_depth and spec.contains(k, n[2])]
            if spec.arity == 2 and (not fits or draw(st.integers(0, 4)) == 0):
                lo, hi = draw(st.sampled_from(spec.domain[k]))
                c = draw(st.floats(lo, hi).map(lambda v: round(v, 2)).filter(lambda v: spec.contains(k, v)))
                args.append(("c", c, c, 0))
            elif fits:
                args.append(draw(st.sampled_from(fits)))
        if len(args) != spec.arity or all(a[0] == "c" for a in args):
            continue
        if spec.kinks:  # away from kinks (max(x, y) near x = y), where finite differences cannot judge
            t = spec.kink_arg([a[2] for a in args])
            if min(abs(t - k) for k in spec.kinks) < KINK_MARGIN:
                continue
        try:
            with no_grad():
                number = apply(spec.key, *(Value(a[2]) for a in args)).data
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if not abs(number) <= LIMIT:
            continue
        steps.append((spec.key, tuple((a[0], a[1]) for a in args)))
        nodes.append(("t", len(steps) - 1, number, 1 + max(a[3] for a in args)))
    if not steps:
        steps.append(("add", (("x", 0), ("c", 1.0))))
    return Expression(xs, tuple(steps))


def _worst_relative_error(expr: Expression) -> float:
    from .gradcheck import numerical_grad

    inputs = expr.inputs
    analytic = grad(expr.fn(*inputs), inputs)
    numeric = numerical_grad(expr.fn, inputs)
    return max(abs(a - n) / max(abs(a), abs(n), 1e-12) for a, n in zip(analytic, numeric))


def hunt(max_examples: int = 300, **expression_options) -> tuple:
    """Stress mode: search (with hypothesis' ``target``) for the graph where reverse mode and finite
    differences disagree most. Returns (worst Expression, its relative error)."""
    worst = [None, -1.0]

    @settings(max_examples=max_examples, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(expressions(**expression_options))
    def probe(expr):
        err = _worst_relative_error(expr)
        target(err, label="relative error, reverse mode vs finite differences")
        if err > worst[1]:
            worst[:] = [expr, err]

    probe()
    return worst[0], worst[1]

