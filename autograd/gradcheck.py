"""Check gradients against central finite differences, with a report a person can read.

``f`` is called as ``f(*inputs)`` and returns a Value. ``gradcheck`` returns True or raises
``GradcheckError`` whose message is a table (label, value, analytic, numeric, errors, verdict) and,
when something is wrong, the first node whose own rule disagrees with finite differences. A row
that disagrees at the first step is measured again with smaller steps before it counts as a
failure. Steps that cross a kink of relu or abs are reported with the one-sided derivatives (a
``KinkWarning``) instead of a false failure or a silent pass; so is a kink no op declares, found
where the one-sided secants differ by the same jump at every step size. An input whose change is lost
in f's rounding (both the predicted and the measured change within 4 units in f's last place) is not
failed and blames no rule: an ``InconclusiveWarning`` says so.

``taylor_test`` needs no step size and no tolerance: its verdict is the rate at which the Taylor
remainder falls as the step halves (2 for a right gradient, 1 for a wrong one).
"""

from __future__ import annotations

import inspect
import math
import random
import reprlib
import sys
import warnings
from dataclasses import dataclass, field

from .engine import Value, apply, as_number, call_rule, contributions, enable_grad, grad, no_grad, reverse_pass
from .graph import operands, toposort
from .ops import OPS, RULES

__all__ = ["numerical_grad", "gradcheck", "gradgradcheck", "check_rules", "taylor_test", "GradcheckError",
           "KinkWarning", "InconclusiveWarning"]

CBRT_EPS = sys.float_info.epsilon ** (1 / 3)  # the step that balances truncation and rounding error


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree; ``rows`` holds the per-input comparison.

    An AssertionError (PyTorch's is a RuntimeError) because it is a failed check, meant for tests:
    pytest shows it as a test failure with the table, and ``except AssertionError`` catches it.
    """

    def __init__(self, message: str, rows=()) -> None:
        super().__init__(message)
        self.rows = list(rows)


class InconclusiveWarning(UserWarning):
    """An input whose finite difference cannot say anything: the change it makes is lost in f's rounding."""


def _lost(f_hi: float, f_lo: float, h: float, analytic: float) -> bool:
    """Whether a central difference over [x - h, x + h] can say nothing: the change the gradient predicts
    and the change measured both lie within 4 units in the last place of f there (y at x = 1e300 in
    log(x) * y + sqrt(x), where f is 1e150). A gradient whose predicted change f can show is still checked."""
    ulps = 4 * math.ulp(max(abs(f_hi), abs(f_lo)))
    return abs(2 * h * analytic) <= ulps and abs(f_hi - f_lo) <= ulps


class KinkWarning(UserWarning):
    """A finite-difference step crossed a kink (of an op with ``kinks``); the message has the one-sided derivatives."""


@dataclass
class Row:
    """One compared derivative."""

    label: str
    value: float
    analytic: float
    numeric: float
    step: float
    ok: bool = False
    abs_err: float = 0.0
    rel_err: float = 0.0
    band: str = ""
    kink: str = ""
    refined: bool = False  # numeric re-measured with smaller steps after the first step disagreed
    extra: dict = field(default_factory=dict)


def _band(rel_err: float, abs_err: float, atol: float) -> str:
    if abs_err <= atol * 1e-2 or rel_err <= 1e-7:
        return "good"
    if rel_err <= 1e-4:
        return "ok"
    return "poor" if rel_err <= 1e-2 else "WRONG"


def _judge(row: Row, atol: float, rtol: float) -> Row:
    a, n = row.analytic, row.numeric
    row.abs_err = abs(a - n)
    scale = max(abs(a), abs(n))
    row.rel_err = row.abs_err / scale if scale else 0.0
    row.ok = row.abs_err <= atol + rtol * abs(n)
    row.band = _band(row.rel_err, row.abs_err, atol)
    return row


COLUMNS = ("input", "value", "analytic", "numeric", "abs err", "rel err", "verdict")


def _table(rows: list, columns=COLUMNS) -> str:
    def fmt(x):
        return f"{x:.6g}" if isinstance(x, float) else str(x)

    body = [[r.label, fmt(r.value), fmt(r.analytic), fmt(r.numeric), f"{r.abs_err:.2e}", f"{r.rel_err:.2e}",
             ("ok " if r.ok else "FAIL ") + r.band + (" (kink)" if r.kink else "")
             + (" (refined)" if r.refined else "")] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in body)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in body]
    return "\n".join("  " + line.rstrip() for line in lines)


def _labels(inputs) -> list:
    return [x.label or f"inputs[{i}]" for i, x in enumerate(inputs)]


def _check_inputs(where: str, f, inputs) -> list:
    """``inputs`` as a list of Values, and ``f`` checked to be callable as ``f(*inputs)``."""
    if not callable(f):
        raise TypeError(f"{where}: f must be a function called as f(*inputs), got {type(f).__name__} {reprlib.repr(f)}")
    if isinstance(inputs, Value):
        inputs = [inputs]
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"{where}: inputs[{i}] must be a Value, got {type(x).__name__} {x!r}")
    if not inputs:
        raise ValueError(f"{where}: inputs is empty")
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # some built-ins have none: f's own call will say
        return inputs
    try:
        signature.bind(*inputs)
    except TypeError as e:  # said here, where the count is known, rather than by f's own call
        n = len(inputs)
        raise TypeError(f"{where}: f cannot take the {n} input{'s' * (n != 1)} given (it is called as "
                        f"f(*inputs)): {e}") from None
    return inputs


def _call(where: str, f, inputs, moved: str = "") -> Value:
    """f(*inputs), checked: a Value with a finite number. Always recorded, inside no_grad too: a
    function of gradients (it calls grad itself) needs its graph to measure anything (PyTorch's way)."""
    try:
        with enable_grad():
            out = f(*inputs)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        raise ValueError(f"{where}: f raised {type(e).__name__} {moved or 'at the given inputs'}: {e}") from e
    if not isinstance(out, Value):
        raise TypeError(f"{where}: f must return a Value, got {type(out).__name__} {out!r}")
    if not math.isfinite(out.data):
        raise ValueError(f"{where}: f is {out.data!r} {moved or 'at the given inputs'}")
    return out


def _numbers(node: Value) -> list:
    return [a if type(a) is float else a.data for a in operands(node)]


def _kink_signature(out: Value) -> list:
    """(node index, op, argument, side of each kink) for every node of an op with kinks, in order."""
    return [(n, node.op, xs[0], OPS[node.op].side(xs))
            for n, node in enumerate(toposort(out)) if node.op in OPS and OPS[node.op].kinks
            for xs in (_numbers(node),)]


def _branches(sig: list) -> list:
    return [(n, op, side) for n, op, _, side in sig]


def _moved(where, f, inputs, labels, i, x, then=None):
    """f's number with inputs[i] moved to x; with ``then``, ``then(out)`` instead (taken while the
    input is still moved)."""
    saved = inputs[i].data
    inputs[i].data = x
    try:
        out = _call(where, f, inputs, f"when {labels[i]} is moved from {saved!r} to {x!r}")
        return out.data if then is None else then(out)
    finally:
        inputs[i].data = saved


def _with_kinks(out: Value) -> tuple:
    return out.data, _kink_signature(out)


def _step(x: float, eps) -> float:
    return eps if eps is not None else CBRT_EPS * max(1.0, abs(x))


def _refined(fn, x0: float, h: float) -> float | None:
    """d fn / dx at ``x0``, measured again with steps h, h/2, h/4, ... and one Richardson
    extrapolation each, keeping the estimate with the smallest error bound: the change from the
    previous estimate (truncation) plus the rounding error of the step (which grows as it shrinks).

    A single step of cbrt(eps) * |x| is too coarse where the function varies faster than its input's
    magnitude suggests (sin at 1e6: the step is 6, about a period). None if it cannot be measured.
    """
    best, bound, previous, last = None, math.inf, None, None
    for k in range(40):
        lo, hi = x0 - h / 2 ** k, x0 + h / 2 ** k
        if not lo < x0 < hi:
            break  # the step vanished in rounding
        try:
            f_hi, f_lo = fn(hi), fn(lo)
        except (ValueError, ZeroDivisionError, OverflowError):
            previous = last = None
            continue
        d = (f_hi - f_lo) / (hi - lo)  # hi - lo: the step actually taken, after rounding
        rounding = 64 * sys.float_info.epsilon * (abs(f_hi) + abs(f_lo)) / (hi - lo)
        if rounding >= bound:
            break  # every smaller step is noisier still
        if last is not None:
            r = (4.0 * d - last) / 3.0  # cancels the h**2 term of the central difference
            if previous is not None and abs(r - previous) + rounding < bound:
                best, bound = r, abs(r - previous) + rounding
            previous = r
        last = d
    return best


def _confirm(row: Row, fn, atol: float, rtol: float) -> Row:
    """A failed row re-measured by ``_refined``: it passes if the better estimate agrees."""
    if row.ok:
        return row
    numeric = _refined(fn, row.value, row.step)
    if numeric is None or not math.isfinite(numeric):
        return row
    better = _judge(Row(row.label, row.value, row.analytic, numeric, row.step), atol, rtol)
    better.refined = True
    return better


def _check_tolerances(where: str, eps, atol, rtol) -> None:
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if v is None and name == "eps":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v < math.inf) or (name == "eps" and v == 0):
            raise ValueError(f"{where}: {name} must be a finite number{' > 0' if name == 'eps' else ' >= 0'}, got {v!r}")


def numerical_grad(f, inputs, eps: float | None = None) -> tuple:
    """Central differences (f(x+h) - f(x-h)) / 2h per input; h = cbrt(machine eps) * max(1, |x|)."""
    inputs = _check_inputs("numerical_grad", f, inputs)
    _check_tolerances("numerical_grad", eps, 0.0, 0.0)
    labels = _labels(inputs)
    _call("numerical_grad", f, inputs)
    result = []
    for i, x in enumerate(inputs):
        h = _step(x.data, eps)
        plus = _moved("numerical_grad", f, inputs, labels, i, x.data + h)
        minus = _moved("numerical_grad", f, inputs, labels, i, x.data - h)
        result.append((plus - minus) / (2 * h))
    return tuple(result)


def _kink_note(sig0, sig_plus, sig_minus) -> str:
    for here, plus, minus in zip(sig0, sig_plus, sig_minus):
        if not here[3] == plus[3] == minus[3]:
            return f"crossed a kink at node {here[0]} ({here[1]}, input {here[2]:.3g})"
    return "crossed a kink (the nodes of ops with kinks differ between x-h and x+h)"


def _one_sided(f, inputs, labels, i, h, plus, minus, sig_plus, sig_minus) -> tuple:
    """(right, left) derivatives from steps beyond x+h and x-h, where no kink lies between the points."""
    x0 = inputs[i].data
    far_plus, sig_far_plus = _moved("gradcheck", f, inputs, labels, i, x0 + 2 * h, _with_kinks)
    far_minus, sig_far_minus = _moved("gradcheck", f, inputs, labels, i, x0 - 2 * h, _with_kinks)
    if _branches(sig_far_plus) == _branches(sig_plus) and _branches(sig_far_minus) == _branches(sig_minus):
        return (far_plus - plus) / h, (minus - far_minus) / h
    f0 = _call("gradcheck", f, inputs).data
    return (plus - f0) / h, (f0 - minus) / h


def _hidden_kink(at, x0: float, h: float, f0: float, plus: float, minus: float, atol: float, rtol: float) -> tuple:
    """(note, right, left) where the one-sided secants at x0 differ by a jump that does not shrink with
    the step: a kink no op declared (a user op's abs), which central differences average away so they
    agree with a rule that is only the average. ("", None, None) where f is smooth there."""
    def gap(s):
        right, left = (at(x0 + s) - f0) / s, (f0 - at(x0 - s)) / s
        return right - left, right, left

    if abs(plus - 2 * f0 + minus) / h <= atol + rtol * (abs(plus - f0) + abs(f0 - minus)) / h:
        return "", None, None  # the secants at x +- h already agree
    # Curvature's gap shrinks with the step (eightfold here); a kink's stays the same at every step.
    gaps = [gap(h / 8 ** k) for k in (1, 2, 3)]
    (narrow, right, left) = gaps[-1]
    if abs(narrow) <= atol + rtol * max(abs(left), abs(right)) or \
            any(abs(g - narrow) > 0.25 * abs(narrow) for g, *_ in gaps):
        return "", None, None
    return ("one-sided secants differ, a kink that no op declares (central differences average it away)",
            right, left)


def gradcheck(f, inputs, eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """True when every input's gradient matches finite differences; else GradcheckError with a
    table (or False, with ``raise_exception=False``)."""
    inputs = _check_inputs("gradcheck", f, inputs)
    _check_tolerances("gradcheck", eps, atol, rtol)
    labels = _labels(inputs)
    out = _call("gradcheck", f, inputs)
    sig0 = _kink_signature(out)
    analytic = grad(out, inputs)
    rows, kinks, lost = [], [], []
    for i, x in enumerate(inputs):
        x0 = x.data
        h = _step(x0, eps)
        plus, sig_plus = _moved("gradcheck", f, inputs, labels, i, x0 + h, _with_kinks)
        minus, sig_minus = _moved("gradcheck", f, inputs, labels, i, x0 - h, _with_kinks)
        row = _judge(Row(labels[i], x0, analytic[i], (plus - minus) / (2 * h), h), atol, rtol)
        if not row.ok and _lost(plus, minus, h, row.analytic):
            row.ok, row.band = True, "no check"
            lost.append(f"{row.label}: a step of {h:.3g} changes f (about {max(abs(plus), abs(minus)):.3g}) by "
                        f"{abs(plus - minus):.3g}, and the gradient {row.analytic:.6g} predicts {abs(2 * h * row.analytic):.3g}: "
                        f"both are lost in the rounding of f (its last digit is {math.ulp(max(abs(plus), abs(minus))):.3g})")
            rows.append(row)
            continue
        if _branches(sig_plus) == _branches(sig_minus) == _branches(sig0):
            at = lambda v: _moved("gradcheck", f, inputs, labels, i, v)  # noqa: E731
            row = _confirm(row, at, atol, rtol)
            note, right, left = _hidden_kink(at, x0, h, out.data, plus, minus, atol, rtol)
        else:
            right, left = _one_sided(f, inputs, labels, i, h, plus, minus, sig_plus, sig_minus)
            note = _kink_note(sig0, sig_plus, sig_minus)
        if note:
            lo, hi = min(left, right), max(left, right)
            slack = atol + rtol * max(abs(lo), abs(hi))
            row.kink = note
            row.ok = lo - slack <= row.analytic <= hi + slack
            row.extra = {"left": left, "right": right}
            kinks.append(f"{row.label}: {row.kink}; one-sided derivatives left {left:.6g}, right {right:.6g}, "
                         f"analytic {row.analytic:.6g} " + ("lies between them" if row.ok else "lies outside them"))
        rows.append(row)
    if lost:
        warnings.warn(InconclusiveWarning("gradcheck could not check these inputs by finite differences:\n  "
                                          + "\n  ".join(lost)), stacklevel=2)
    if all(r.ok for r in rows):
        if kinks:
            warnings.warn(KinkWarning("gradcheck passed at a kink:\n  " + "\n  ".join(kinks)), stacklevel=2)
        return True
    bad = sum(not r.ok for r in rows)
    step = f"eps = {eps!r}" if eps is not None else "h = cbrt(machine eps) * max(1, |x|)"
    message = [f"gradcheck failed: {bad} of {len(rows)} inputs disagree (atol={atol}, rtol={rtol}, {step})",
               _table(rows)]
    message += [f"  kink: {k}" for k in kinks]
    message += [_REFINED] if any(r.refined for r in rows) else []
    message.append(_culprit(out, atol, rtol))
    return _fail(GradcheckError("\n".join(message), rows), raise_exception)


def _fail(error: GradcheckError, raise_exception: bool) -> bool:
    """False, or the error raised (PyTorch's ``raise_exception``)."""
    if raise_exception:
        raise error
    return False


_REFINED = ("  (refined): the first step disagreed, so numeric was measured again with steps h/2, h/4, ... "
            "and Richardson extrapolation")


def _local_numeric(node: Value, k: int, analytic: float) -> float | None:
    """d node / d operand k on the op alone, by the step sweep of ``_refined``; None if it cannot be
    measured, or where the change it makes is lost in the op's rounding (``_lost``)."""
    args = _numbers(node)

    def op_at(x: float) -> float:
        moved = [Value(a) for a in args]
        moved[k] = Value(x)
        with no_grad():
            return apply(node.op, *moved).data

    h = CBRT_EPS * max(1.0, abs(args[k]))
    try:
        if _lost(op_at(args[k] + h), op_at(args[k] - h), h, analytic):
            return None
    except (ValueError, ZeroDivisionError, OverflowError):
        pass  # a step out of the domain: the sweep below tries smaller ones
    return _refined(op_at, args[k], h)


def _culprit(out: Value, atol: float, rtol: float) -> str:
    """Name the first node whose rule disagrees with finite differences on the op alone."""
    for n, node in enumerate(toposort(out)):
        if not node.op or 0 in OPS[node.op].side(_numbers(node)):
            continue  # at a kink finite differences measure neither side
        ops = operands(node)
        for k, _, analytic in contributions(node, 1.0):
            numeric = _local_numeric(node, k, analytic)
            if numeric is not None and not abs(analytic - numeric) <= atol + rtol * abs(numeric):  # nan too
                return (f"culprit: {node.op}_backward at node {n} ({node.op} of "
                        f"{', '.join(repr(a if type(a) is float else a.data) for a in ops)}): d/d(operand {k}) "
                        f"is {analytic!r} by the rule, {numeric!r} by finite differences")
    return ("culprit: every node's rule agrees with finite differences, so the difference comes from "
            "outside the recorded graph: a path computed under no_grad(), through detach() or through .data")


def gradgradcheck(f, inputs, eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """True when second derivatives (grad of grad, create_graph=True) match finite differences of
    grad; else GradcheckError with a table (or False, with ``raise_exception=False``)."""
    inputs = _check_inputs("gradgradcheck", f, inputs)
    _check_tolerances("gradgradcheck", eps, atol, rtol)
    labels = _labels(inputs)
    out = _call("gradgradcheck", f, inputs)
    first = grad(out, inputs, create_graph=True)
    hessian = [grad(d, inputs) for d in first]

    def first_order(j: int, v: float) -> tuple:
        """The gradient with inputs[j] moved to v."""
        return _moved("gradgradcheck", f, inputs, labels, j, v, lambda out: grad(out, inputs))

    rows = []
    for j, x in enumerate(inputs):
        x0 = x.data
        h = _step(x0, eps)
        plus, minus = first_order(j, x0 + h), first_order(j, x0 - h)
        for i in range(len(inputs)):
            row = _judge(Row(f"d2/d{labels[i]} d{labels[j]}", x0, hessian[i][j], (plus[i] - minus[i]) / (2 * h), h),
                         atol, rtol)
            rows.append(_confirm(row, lambda v, i=i, j=j: first_order(j, v)[i], atol, rtol))
    if all(r.ok for r in rows):
        return True
    bad = sum(not r.ok for r in rows)
    return _fail(GradcheckError("\n".join([f"gradgradcheck failed: {bad} of {len(rows)} second derivatives "
                                           f"disagree (atol={atol}, rtol={rtol})",
                                           _table(rows, ("derivative",) + COLUMNS[1:])]
                                          + ([_REFINED] if any(r.refined for r in rows) else [])), rows),
                 raise_exception)


def check_rules(rules: dict | None = None) -> bool:
    """Every rule in the table (user ops included) returns one real number per input, finite inside
    its domain, linear in g, deterministic and right at a sample point of its domain; else
    GradcheckError naming each wrong rule."""
    rules = RULES if rules is None else rules
    problems = []
    for op, rule in rules.items():
        spec = OPS.get(op)
        if spec is None or spec.domain is None:
            problems.append(f"{op}: no domain in the op table, so it cannot be checked "
                            f"(give define_op a domain=...)")
            continue
        try:
            problems += _rule_problems(op, rule, spec)
        except Exception as e:  # the engine's message names the op, its inputs and what went wrong
            problems.append(e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e))
    if problems:
        raise GradcheckError("check_rules found problems:\n  " + "\n  ".join(problems))
    return True


def _rule_problems(op: str, rule, spec) -> list:
    """What is wrong with ``rule`` at the sample point of ``spec``'s domain (errors raised as they come)."""
    args = list(spec.sample())
    with no_grad():
        out = apply(op, *args)
    r0, r1, r2 = (call_rule(op, rule, (g, *args, out)) for g in (0.0, 1.5, 3.0))
    nonfinite = [k for k, c in enumerate(r1) if not math.isfinite(c)]
    if nonfinite:
        return [f"{op}_backward returned {r1[k]!r} for input {k} at {args} (g = 1.5), inside its domain"
                for k in nonfinite]
    problems = []
    if any(c != 0.0 for c in r0):
        problems.append(f"{op}_backward is not linear in g: g = 0 gives {r0}")
    if any(not math.isclose(b, 2 * a, rel_tol=1e-12, abs_tol=1e-300) for a, b in zip(r1, r2)):
        problems.append(f"{op}_backward is not linear in g: g = 1.5 gives {r1}, g = 3.0 gives {r2}")
    if call_rule(op, rule, (1.5, *args, out)) != r1:
        problems.append(f"{op}_backward is not deterministic: two calls differ")
    for k in range(spec.arity):
        node = apply(op, *[Value(a) for a in args])
        numeric = _local_numeric(node, k, r1[k] / 1.5)
        if numeric is not None and not math.isclose(r1[k] / 1.5, numeric, rel_tol=1e-5, abs_tol=1e-8):
            problems.append(f"{op}_backward: d/d(input {k}) at {args} is {r1[k] / 1.5!r}, "
                            f"finite differences give {numeric!r}")
    return problems


class TaylorRates(tuple):
    """The rates of ``taylor_test``, one per halving of the step, with ``table`` (also its ``str``) and
    the ``direction`` d it stepped along."""

    table: str = ""
    direction: tuple = ()

    def __str__(self) -> str:
        return self.table


TAYLOR_STEPS = 12  # h0, h0/2, ..., h0/2048
TAYLOR_MORE = 12  # further halvings while the remainder is still changing sign near the end
TAYLOR_NOISE = 2.0 ** 16 * sys.float_info.epsilon  # remainders this close to rounding are not trusted for a rate
TAYLOR_PASS = 1.5  # rates above this are the h**2 of a right gradient; near 1 is a wrong one


def _direction(where: str, inputs: list, direction) -> list:
    if direction is None:  # fixed, so a failure reproduces; no component near 0, so every input counts
        rng = random.Random(len(inputs))
        return [rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 1.0) for _ in inputs]
    if isinstance(direction, (str, bytes)) or not hasattr(direction, "__iter__"):
        raise TypeError(f"{where}: direction must be a list of {len(inputs)} numbers, got "
                        f"{type(direction).__name__} {direction!r}")
    d = list(direction)
    if len(d) != len(inputs):
        raise ValueError(f"{where}: direction has {len(d)} entries but there are {len(inputs)} inputs")
    d = [as_number(a, f"{where}: direction[{k}]") for k, a in enumerate(d)]
    if not all(math.isfinite(a) for a in d) or not any(d):
        raise ValueError(f"{where}: direction must be finite and not all zero, got {d!r}")
    return d


def taylor_test(f, inputs, direction=None, raise_exception: bool = True) -> TaylorRates:
    """The step-free check: |f(x + h d) - f(x) - h <grad f, d>| falls as h**2 for a right gradient and
    as h for a wrong one. Returns the rates (about 2 when right); GradcheckError with a table when they
    fall towards 1 (unless ``raise_exception=False``).

    No step size to tune and no tolerance on the gradient's numbers: the verdict is an exponent.
    ``f`` may call ``grad`` inside (it is evaluated with recording on).
    """
    inputs = _check_inputs("taylor_test", f, inputs)
    d = _direction("taylor_test", inputs, direction)
    out = _call("taylor_test", f, inputs)
    f0, sig0 = out.data, _branches(_kink_signature(out))
    walk = reverse_pass(out, 1.0)
    sensitivity = next(walk)  # df/dv for every node v, filled in as the walk goes
    for _ in walk:
        pass
    slope = math.fsum(sensitivity.get(x, 0.0) * a for x, a in zip(inputs, d))
    x0 = [x.data for x in inputs]
    # Rounding of every node v (inputs included), amplified by df/dv: remainders below it are noise
    # (log(exp(x)) near 0 is about 1e-5, but its exp node is about 1 and rounds at 1e-16).
    rounding = TAYLOR_NOISE * math.fsum(
        abs(v.data * g) for v, g in sensitivity.items() if math.isfinite(v.data * g))
    h0 = 1e-2 * max(1.0, *(abs(x) for x in x0)) / max(abs(a) for a in d)
    rows, crossed = [], False  # rows: (h, f(x + h d), signed remainder, at rounding level)
    try:
        for k in range(TAYLOR_STEPS + TAYLOR_MORE):
            if k >= TAYLOR_STEPS and (rows[-1][3] or _settled(rows)):
                break
            h = h0 / 2 ** k
            for x, x_, a in zip(inputs, x0, d):
                x.data = x_ + h * a
            moved = _call("taylor_test", f, inputs, f"at x + {h:.3g} d")
            crossed = crossed or _branches(_kink_signature(moved)) != sig0
            fh = moved.data
            remainder = fh - f0 - h * slope
            noise = rounding + TAYLOR_NOISE * (abs(fh) + abs(f0) + abs(h * slope))
            rows.append((h, fh, remainder, abs(remainder) <= noise))
    finally:
        for x, x_ in zip(inputs, x0):
            x.data = x_
    rates = [r for r in map(_rate, rows, rows[1:]) if r is not None]
    table = _taylor_table(rows, slope, d)
    result = TaylorRates(rates)
    result.table, result.direction = table, tuple(d)
    run = _final_run(rows)
    verdict = _rate(*run[-2:]) if len(run) >= 3 else None
    if verdict is not None and verdict < TAYLOR_PASS and raise_exception:
        measured = (run[-1][1] - f0) / run[-1][0]
        why = (" A kink lies between x and x + h d (the nodes of ops with kinks changed branch), so a remainder "
               "falling as h may be the kink, not the gradient." if crossed else "")
        raise GradcheckError(
            f"taylor_test failed: the remainder falls as h^{verdict:.2f}, not h^2, so the gradient is wrong "
            f"along d: <grad f, d> = {slope:.10g}, but f's slope along d is about {measured:.10g}.{why}\n{table}")
    return result


def _rate(a: tuple, b: tuple) -> float | None:
    """log2 of how much the remainder fell from step a to step b (half as long); None where either is
    rounding or the remainder changed sign (two terms of the expansion cancelling: no rate there)."""
    if a[3] or b[3] or (a[2] > 0) != (b[2] > 0):
        return None
    return math.log2(a[2] / b[2])


def _final_run(rows: list) -> list:
    """The last stretch of measurable remainders of one sign (rounding at the very end left out): the
    verdict is its last rate, and only when it holds three remainders, i.e. past any cancellation."""
    end = len(rows)
    while end and rows[end - 1][3]:
        end -= 1
    start = end - 1
    while start > 0 and not rows[start - 1][3] and (rows[start - 1][2] > 0) == (rows[end - 1][2] > 0):
        start -= 1
    return rows[max(start, 0):end]


def _settled(rows: list) -> bool:
    """The last four remainders are measurable and of one sign: past any cancellation between the
    expansion's terms, so the last rate is the asymptotic one."""
    last = rows[-4:]
    return len(last) == 4 and not any(r[3] for r in last) and len({r[2] > 0 for r in last}) == 1


def _taylor_table(rows: list, slope: float, d: list) -> str:
    lines = [f"  d = {', '.join(f'{a:.3g}' for a in d)};  <grad f, d> = {slope:.10g}",
             "  remainder = |f(x + h d) - f(x) - h <grad f, d>|: falls as h^2 (rate 2) when the gradient is "
             "right, as h (rate 1) when it is wrong",
             f"  {'h':<10}  {'f(x + h d)':<22}  {'remainder':<10}  rate"]
    for k, (h, fh, r, noise) in enumerate(rows):
        if noise:
            note = "(rounding)"
        elif k == 0 or rows[k - 1][3]:
            note = ""
        else:
            rate = _rate(rows[k - 1], rows[k])
            note = "(sign change)" if rate is None else f"{rate:.3f}"
        lines.append(f"  {h:<10.3e}  {fh:<22.15g}  {abs(r):<10.3e}  {note}".rstrip())
    return "\n".join(lines)
