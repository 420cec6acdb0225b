"""Gradients you can trust: the checker itself, the per-op spec table, random graphs, forward mode."""

import math
import warnings

import pytest
from hypothesis import given, strategies as st

import autograd.rules as rules
from autograd import Value, grad, no_grad
from autograd.forward import Dual, derivative, gradient
from autograd.gradcheck import (GradcheckError, KinkWarning, check_rules, gradcheck, gradgradcheck,
                                numerical_grad)
from autograd.engine import apply
from autograd.ops import OPS
from autograd.strategies import Expression, expressions, finite_floats, hunt, values


BUILTIN = sorted(k for k, op in OPS.items() if op.builtin)


def test_rules_is_the_op_tables_rule_column():
    """RULES maps every op of the table to its rule and nothing else."""
    assert {k: op.rule for k, op in OPS.items()}.keys() == rules.RULES.keys()
    assert all(rules.RULES[k] is op.rule for k, op in OPS.items())


@pytest.mark.parametrize("op", BUILTIN)
def test_each_op_passes_gradcheck_and_gradgradcheck_over_its_domain(op):
    """Every op's first and second derivatives match finite differences across its safe domain."""
    spec = OPS[op]
    for frac in (0.05, 0.3, 0.5, 0.8, 0.95):
        for intervals in [spec.domain[0]]:
            for lo, hi in intervals:
                point = [lo + frac * (hi - lo)] + [spec.sample()[k] for k in range(1, spec.arity)]
                inputs = [Value(p, f"x{k}") for k, p in enumerate(point)]
                assert gradcheck(lambda *xs: apply(op, *xs), inputs)
                assert gradgradcheck(lambda *xs: apply(op, *xs), inputs)


def test_the_rules_table_is_linear_deterministic_and_locally_right():
    """check_rules passes on the real table."""
    assert check_rules()


def test_check_rules_catches_nonlinear_and_wrong_rules():
    """A rule that squares g, or returns a wrong derivative, is reported by name."""
    broken = dict(rules.RULES)
    broken["tanh"] = lambda g, x, out: (g * g * (1 - out * out),)
    broken["sin"] = lambda g, x, out: (g * math.sin(x),)
    with pytest.raises(GradcheckError) as info:
        check_rules(broken)
    assert "tanh_backward is not linear in g" in str(info.value)
    assert "sin_backward: d/d(input 0)" in str(info.value)


def test_gradcheck_fails_on_a_wrong_rule_and_names_the_culprit(monkeypatch):
    """With mul's rule replaced by a wrong one, gradcheck fails and names mul_backward and the node."""
    monkeypatch.setitem(rules.RULES, "mul", lambda g, x, y, out: (g * y, g * x * 1.1))
    x, y = Value(0.5, "x"), Value(-1.2, "y")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: (a * b).sin() + a, [x, y])
    message = str(info.value)
    assert "1 of 2 inputs disagree" in message and "culprit: mul_backward at node 2" in message
    assert [r.ok for r in info.value.rows] == [True, False]
    assert "y" in message and "WRONG" in message


@pytest.mark.parametrize("x", [1e5, 1e6, -3e7, 1e12])
def test_fast_functions_of_large_inputs_pass_where_one_coarse_step_would_fail(x):
    """At |x| = 1e6 the step cbrt(eps)*|x| is about one period of sin; the checker re-measures, not fails."""
    h = 6.06e-6 * abs(x)
    coarse = (math.sin(x + h) - math.sin(x - h)) / (2 * h)
    assert x < 1e6 or abs(coarse - math.cos(x)) > 1e-2  # one step alone would call the right rule wrong
    assert gradcheck(lambda a: a.sin() * 2 + a.cos(), [Value(x, "x")])
    assert gradgradcheck(lambda a: a.sin() * a.cos(), [Value(x, "x")])


def test_refined_failures_still_fail_and_blame_the_right_place(monkeypatch):
    """At x = 1e6 a path hidden by detach() is not blamed on sin_backward; a wrong sin rule is."""
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a: a.sin() + (a.detach() * 2).sin(), [Value(1e6, "x")])
    message = str(info.value)
    assert "(refined)" in message and "outside the recorded graph" in message
    assert info.value.rows[0].numeric == pytest.approx(math.cos(1e6) + 2 * math.cos(2e6), rel=1e-6)
    monkeypatch.setitem(rules.RULES, "sin", lambda g, x, out: (g * 1.01 * rules._apply("cos", x),))
    with pytest.raises(GradcheckError, match="culprit: sin_backward at node 1"):
        gradcheck(lambda a: a.sin() * 3, [Value(1e6, "x")])


@given(values())
def test_user_property_over_the_default_values_range(x):
    """A user's property test over values() (|x| up to 1e6) passes on correct gradients."""
    assert gradcheck(lambda a: (a * 1e-3).tanh() * a.sin() + a.cos() / 2, [x])


def test_gradcheck_fails_on_a_path_hidden_under_no_grad():
    """A path computed under no_grad is missing from the gradient: the checker says so."""
    def f(a, b):
        with no_grad():
            hidden = a * b
        return hidden + a

    with pytest.raises(GradcheckError, match="outside the recorded graph"):
        gradcheck(f, [Value(0.5), Value(2.0)])


def test_gradcheck_report_has_a_row_per_input_with_label_and_step():
    """The failure table shows each input's label, value, analytic and numeric values."""
    def f(a, b):
        return a.detach() * b

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [Value(3.0, "alpha"), Value(2.0, "beta")])
    lines = str(info.value).splitlines()
    assert "h = cbrt(machine eps)" in lines[0]
    header = lines[1].split()
    assert header[:4] == ["input", "value", "analytic", "numeric"]
    assert lines[2].split()[:4] == ["alpha", "3", "0", "2"]
    assert lines[3].split()[0] == "beta" and "ok good" in lines[3]


@pytest.mark.parametrize("f, left, right", [
    (lambda a: a.relu(), 0.0, 1.0),
    (lambda a: abs(a) * 2, -2.0, 2.0),
    (lambda a: (a - 1e-7).relu() * 3, 0.0, 3.0),
])
def test_kinks_are_reported_not_failed_and_not_silent(f, left, right):
    """At relu(0) and abs(0) gradcheck passes with a KinkWarning giving the one-sided derivatives."""
    with pytest.warns(KinkWarning) as record:
        assert gradcheck(f, [Value(0.0)])
    text = str(record[0].message)
    assert "crossed a kink at node" in text
    assert f"left {left:.6g}" in text and f"right {right:.6g}" in text


def test_a_wrong_derivative_at_a_kink_still_fails(monkeypatch):
    """An analytic value outside the one-sided derivatives fails even at a kink."""
    monkeypatch.setitem(rules.RULES, "relu", lambda g, x, out: (g * 5.0,))
    with pytest.raises(GradcheckError, match="kink"):
        gradcheck(lambda a: a.relu(), [Value(0.0)])


def test_smooth_functions_raise_no_kink_warning():
    """Away from kinks there is no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda a: a.relu() + abs(a), [Value(0.5)])


@pytest.mark.parametrize("f, inputs, exc, match", [
    (lambda a: a.data * 2, [Value(1.0)], TypeError, "must return a Value, got float"),
    (lambda a: a, [1.0], TypeError, r"inputs\[0\] must be a Value"),
    (lambda a: (a * 1e308) * 10, [Value(1.0)], ValueError, "f is inf at the given inputs"),
    (lambda a: (a - 1.0).log(), [Value(1.0 + 1e-9, "x")], ValueError, "when x is moved"),
])
def test_bad_use_gets_a_clear_error(f, inputs, exc, match):
    """Non-Value outputs, non-Value inputs and non-finite outputs are reported, naming the input."""
    with pytest.raises(exc, match=match):
        gradcheck(f, inputs)


def test_gradgradcheck_fails_on_a_wrong_second_derivative(monkeypatch):
    """A rule right to first order but wrong for Values (second order) fails gradgradcheck only."""
    real = rules.tanh_backward

    def first_order_only(g, x, out):
        return real(g, x, out) if type(g) is float else (g * (1.0 - out.data * out.data),)

    monkeypatch.setitem(rules.RULES, "tanh", first_order_only)
    inputs = [Value(0.7, "x")]
    assert gradcheck(lambda a: a.tanh(), inputs)
    with pytest.raises(GradcheckError, match="d2/dx dx"):
        gradgradcheck(lambda a: a.tanh(), inputs)


def test_numerical_grad_step_scales_with_magnitude():
    """numerical_grad is accurate for large and small inputs alike, and honours eps."""
    for x in (1.0, 1e4):
        (n,) = numerical_grad(lambda a: a * a * a, [Value(x)])
        assert math.isclose(n, 3 * x * x, rel_tol=1e-8)
    (n,) = numerical_grad(lambda a: (a * 1e3).sin(), [Value(1e-3)])
    assert math.isclose(n, 1e3 * math.cos(1.0), rel_tol=1e-4)
    (coarse,) = numerical_grad(lambda a: a * a * a, [Value(1.0)], eps=0.1)
    assert math.isclose(coarse, 3.01, rel_tol=1e-12)


@given(expressions())
def test_random_graphs_pass_gradcheck(expr):
    """Reverse-mode gradients of random graphs with reused nodes match finite differences."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KinkWarning)
        assert gradcheck(expr.fn, expr.inputs)


@given(expressions(max_steps=5))
def test_random_graphs_pass_gradgradcheck(expr):
    """Second derivatives of random graphs match finite differences of first derivatives."""
    assert gradgradcheck(expr.fn, expr.inputs, atol=1e-4, rtol=1e-3)


@given(expressions())
def test_reverse_mode_equals_forward_mode(expr):
    """Reverse-mode gradients equal forward-mode (dual number) derivatives to a few ulps."""
    inputs = expr.inputs
    reverse = grad(expr.fn(*inputs), inputs)
    forward = gradient(expr.fn, expr.input_values)
    for r, f in zip(reverse, forward):
        assert math.isclose(r, f, rel_tol=1e-12, abs_tol=1e-12), (r, f)


@given(expressions())
def test_backward_equals_grad(expr):
    """backward() leaves in .grad exactly what grad() returns."""
    inputs = expr.inputs
    out = expr.fn(*inputs)
    expected = grad(out, inputs)
    out.backward()
    assert tuple(x.grad for x in inputs) == expected


@given(finite_floats(-1e3, 1e3), finite_floats(-1e3, 1e3))
def test_symmetry_of_add_and_mul(a, b):
    """d(x+y) is (1, 1) and d(x*y) is (y, x), whatever the order of the operands."""
    x, y = Value(a), Value(b)
    assert grad(x + y, [x, y]) == (1.0, 1.0) == grad(y + x, [x, y])
    assert grad(x * y, [x, y]) == (b, a) == grad(y * x, [x, y])


@given(finite_floats(-1e3, 1e3), finite_floats(0.1, 1e3).flatmap(lambda m: st.sampled_from([m, -m])))
def test_division_gradient_formula(a, b):
    """d(x/y) = (1/y, -x/y^2), and x/y = x * y**-1 in value and gradient."""
    x, y = Value(a), Value(b)
    gx, gy = grad(x / y, [x, y])
    assert math.isclose(gx, 1 / b) and math.isclose(gy, -a / b / b, rel_tol=1e-12, abs_tol=1e-300)
    hx, hy = grad(x * y ** -1, [x, y])
    assert math.isclose(gx, hx) and math.isclose(gy, hy, rel_tol=1e-12, abs_tol=1e-300)


@given(finite_floats(-700, 700))
def test_log_of_exp_has_gradient_one(a):
    """log(exp(x)) has gradient 1 wherever exp is finite."""
    x = Value(a)
    (g,) = grad(x.exp().log(), [x])
    assert math.isclose(g, 1.0, rel_tol=1e-12)


@given(values(-5, 5), st.from_type(Value))
def test_values_strategy_and_from_type(v, w):
    """values() draws leaf Values in range; from_type(Value) is registered by the plugin."""
    assert isinstance(v, Value) and v.op == "" and -5 <= v.data <= 5
    assert isinstance(w, Value) and w.op == "" and math.isfinite(w.data)


def test_expressions_shrink_to_short_readable_formulas():
    """A failing property shrinks to a tiny graph whose repr reads as a formula."""
    from hypothesis import find

    found = find(expressions(), lambda e: "tanh" in e.ops and len(e.steps) >= 2,
                 settings=__import__("hypothesis").settings(database=None, max_examples=2000, derandomize=True))
    assert isinstance(found, Expression) and len(found.steps) == 2
    assert repr(found).startswith("Expression(") and "tanh(" in repr(found) and "x0=" in repr(found)


def test_a_failing_hypothesis_test_reports_the_formula():
    """Hypothesis' failure report prints a drawn Expression (and Value) as its repr: the formula, not the fields."""
    from hypothesis import given, settings
    from hypothesis.vendor.pretty import pretty

    expr = Expression((0.5,), (("tanh", (("x", 0),)), ("mul", (("t", 0), ("x", 0)))))
    assert pretty(expr) == repr(expr) == "Expression(tanh(x0) * x0, x0=0.5)"
    assert pretty(Value(2.0, label="w")) == repr(Value(2.0, label="w"))

    @settings(database=None, derandomize=True, max_examples=50)
    @given(expressions(ops=["tanh", "mul"]), values(-1, 1))
    def never_tanh(e, v):
        assert "tanh" not in e.ops

    with pytest.raises(AssertionError) as failure:
        never_tanh()
    report = "\n".join(getattr(failure.value, "__notes__", []))
    assert "e=Expression(tanh(x0), x0=" in report and "input_values" not in report and "v=Value(" in report


def test_expressions_reuse_nodes():
    """Some generated graphs use a node twice (x * x, diamonds)."""
    from hypothesis import find, settings

    def reuses(e):
        return any(len(set(nodes)) < len(nodes) for nodes in ([a for a in args if a[0] != "c"] for _, args in e.steps))

    found = find(expressions(), reuses,
                 settings=settings(database=None, max_examples=2000, derandomize=True))
    # shrunk to one op applied to one node twice, over at most one other op (which op depends on the table)
    assert len(found.steps) <= 2 and found.formula.count("x0") == 2, found.formula


def test_expressions_respect_ops_and_reject_unknown_ones():
    """ops= restricts the ops used; an unknown op name is an error naming it."""
    from hypothesis import find, settings

    e = find(expressions(ops=["sin", "mul"]), lambda e: len(e.steps) > 3, settings=settings(database=None, derandomize=True))
    assert e.ops <= {"sin", "mul"}
    with pytest.raises(ValueError, match="frobnicate"):
        expressions(ops=["frobnicate"])
    with pytest.raises(ValueError, match="max_leaves"):
        expressions(max_leaves=0)


def test_hunt_reports_the_worst_expression():
    """Stress mode returns the worst Expression it found together with that expression's error."""
    from autograd.strategies import _worst_relative_error

    expr, err = hunt(max_examples=30)
    assert isinstance(expr, Expression) and math.isfinite(err)
    assert err == _worst_relative_error(expr) >= 0.0


def test_dual_numbers_give_exact_derivatives():
    """derivative(f, x) equals the hand-derived derivative, relu'(0) = abs'(0) = 0."""
    assert derivative(lambda x: x * x * x, 2.0) == 12.0
    assert math.isclose(derivative(lambda x: (x.sin() * 2 ** x).tanh(), 0.3),
                        grad((lambda x: (x.sin() * 2 ** x).tanh())(v := Value(0.3)), [v])[0], rel_tol=1e-14)
    assert derivative(lambda x: x.relu(), 0.0) == 0.0 and derivative(abs, 0.0) == 0.0
    assert repr(Dual(1.0, 2.0)) == "Dual(1.0, 2.0)"
    with pytest.raises(TypeError, match="must return a Dual"):
        derivative(lambda x: 3.0, 1.0)


@pytest.mark.parametrize("kwargs, match", [({"eps": 0}, "eps must be"), ({"eps": -1e-3}, "eps must be"),
                                           ({"atol": -1}, "atol must be"), ({"rtol": float("nan")}, "rtol must be")])
def test_bad_steps_and_tolerances_are_refused(kwargs, match):
    """A zero or negative step, or a negative or NaN tolerance, is a clear error."""
    with pytest.raises(ValueError, match=match):
        gradcheck(lambda a: a * a, [Value(1.0)], **kwargs)
