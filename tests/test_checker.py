"""The checker checks functions of gradients, blames a wrong rule by name and can answer False."""

import math

import pytest

from autograd import Value, grad, no_grad
from autograd.gradcheck import GradcheckError, check_rules, gradcheck, gradgradcheck, numerical_grad, taylor_test
from autograd.ops import RULES


def number(x) -> float:
    """The number behind x: a rule written with it is right once but cannot be differentiated again."""
    return x.data if isinstance(x, Value) else x


def d_cube(x):
    """d/dx x**3 as a Value of x (a function of a gradient)."""
    return grad(x ** 3, [x], create_graph=True)[0]


def test_numerical_grad_of_a_function_of_a_gradient_records_the_graph_it_needs():
    """f that calls grad is measured with recording on, inside no_grad too: d/dx (3x^2) at 0.5 is 3."""
    assert numerical_grad(d_cube, [Value(0.5)])[0] == pytest.approx(3.0, rel=1e-6)
    with no_grad():
        assert numerical_grad(d_cube, [Value(0.5)])[0] == pytest.approx(3.0, rel=1e-6)


def test_gradcheck_passes_functions_of_gradients_and_fails_a_wrong_one(user_op):
    """gradcheck of d/dx sin passes (as PyTorch's does), gradgradcheck of a gradient passes, and a
    function of a gradient built on a wrong rule fails, inside no_grad too (the check records)."""
    assert gradcheck(lambda x: grad(x.sin(), [x], create_graph=True)[0], [Value(1.0)])
    assert gradgradcheck(lambda x, y: grad(x * y.tanh(), [y], create_graph=True)[0] * x, [Value(0.3), Value(0.7)])
    cube = user_op("cube_flat", lambda x: x ** 3, lambda g, x, out: (3.0 * g * number(x) ** 2,))
    with no_grad():
        assert gradcheck(lambda x: grad(x.sin(), [x], create_graph=True)[0], [Value(1.0)])
        with pytest.raises(GradcheckError):
            gradcheck(lambda x: grad(cube(x), [x], create_graph=True)[0], [Value(1.0)])


def test_a_rule_returning_nan_is_the_culprit_by_name(user_op):
    """gradcheck blames a NaN-returning rule by its name, not a path outside the recorded graph."""
    sq = user_op("sq_nan", lambda x: x * x, lambda g, x, out: (math.nan * g,))
    with pytest.raises(GradcheckError, match=r"culprit: sq_nan_backward at node 1 .* is nan by the rule"):
        gradcheck(lambda a: sq(a) * 2.0, [Value(0.7)])


def test_check_rules_names_a_nan_rule(user_op):
    """check_rules reports a rule that returns NaN inside its domain as returning NaN."""
    user_op("sq_nan2", lambda x: x * x, lambda g, x, out: (math.nan * g,), domain=(((0.5, 2.0),),))
    with pytest.raises(GradcheckError, match=r"sq_nan2_backward returned nan for input 0"):
        check_rules({"sq_nan2": RULES["sq_nan2"]})


@pytest.mark.parametrize("rule", [lambda g, x, out: (None,), lambda g, x, out: None,
                                  lambda g, x, out: (g, g), lambda g, x, out: {g}])
def test_check_rules_names_a_rule_that_returns_no_number(user_op, rule):
    """A rule returning None, (None,), a set or two numbers for one input is a named problem, not a TypeError."""
    user_op("sq_none", lambda x: x * x, rule, domain=(((0.5, 2.0),),))
    with pytest.raises(GradcheckError, match=r"sq_none_backward must return"):
        check_rules({"sq_none": rule})


def test_raise_exception_false_answers_false_instead_of_raising(user_op):
    """gradcheck and gradgradcheck(raise_exception=False) return False on a wrong rule, True on a right one."""
    wrong = user_op("sq_wrong", lambda x: x * x, lambda g, x, out: (g * x,))
    flat = user_op("sq_flat", lambda x: x * x, lambda g, x, out: (2.0 * g * number(x),))
    assert gradcheck(lambda a: wrong(a), [Value(0.7)], raise_exception=False) is False
    assert gradcheck(lambda a: a * a, [Value(0.7)], raise_exception=False) is True
    assert gradgradcheck(lambda a: flat(a), [Value(0.7)], raise_exception=False) is False
    assert gradgradcheck(lambda a: a * a * a, [Value(0.7)], raise_exception=False) is True
    with pytest.raises(GradcheckError):
        gradcheck(lambda a: wrong(a), [Value(0.7)])


@pytest.mark.parametrize("check", [numerical_grad, gradcheck, gradgradcheck, taylor_test])
def test_an_f_that_is_not_a_function_of_the_inputs_given_is_refused_naming_the_checker(check, user_op):
    """f that is not callable, or cannot take the inputs given, is a TypeError naming the checker and the count; a wrong rule still fails."""
    with pytest.raises(TypeError, match=rf"^{check.__name__}: f must be a function called as f\(\*inputs\), got int 3$"):
        check(3, [Value(1.0)])
    with pytest.raises(TypeError, match=rf"^{check.__name__}: f cannot take the 1 input given \(it is called as "
                                        r"f\(\*inputs\)\): missing a required argument: 'b'$"):
        check(lambda a, b: a * b, [Value(1.0)])
    with pytest.raises(TypeError, match=rf"^{check.__name__}: f cannot take the 2 inputs given .*too many positional"):
        check(lambda a: a * a, [Value(1.0), Value(2.0)])
    wrong = user_op("cube_wrong", lambda x: x ** 3, lambda g, x, out: (2.0 * g * number(x) ** 2,))  # 2x^2, not 3x^2
    if check is not numerical_grad:
        with pytest.raises(GradcheckError):
            check(lambda *xs: wrong(xs[0]) * xs[1], [Value(0.7), Value(1.3)])
    assert numerical_grad(lambda *xs: xs[0] * xs[1], [Value(0.7), Value(1.3)])[0] == pytest.approx(1.3)


def test_a_change_lost_in_fs_rounding_is_no_check_and_a_wrong_rule_above_it_still_fails():
    """At x = 1e300, y in log(x)*y + sqrt(x) moves f (about 1e150) by less than its last digit, so finite
    differences say nothing: a warning naming y, no failure and no right rule blamed; the same test leaves a
    wrong rule failing wherever its predicted change is visible in f (3x for x*x inside f + 1e9)."""
    from autograd import define_op
    from autograd.gradcheck import InconclusiveWarning

    x, y = Value(1e300, "x"), Value(-2.0, "y")
    with pytest.warns(InconclusiveWarning, match=r"y: .*lost in the rounding of f"):
        assert gradcheck(lambda a, b: a.log() * b + a.sqrt(), [x, y])
    bad = define_op("badsq_lost", lambda v: v * v, lambda g, v, out: (g * 3 * v,))
    try:
        with pytest.raises(GradcheckError, match="badsq_lost_backward"):
            gradcheck(lambda v: bad(v) + 1e9, [Value(1.0)])
        with pytest.raises(GradcheckError) as failed, pytest.warns(InconclusiveWarning, match="y: "):
            gradcheck(lambda a, b, z: a.log() * b + a.sqrt() + bad(z) * 1e140, [x, y, Value(1.0, "z")])
        assert "culprit: badsq_lost_backward" in str(failed.value) and "add_backward" not in str(failed.value)
    finally:
        from autograd.ops import OPS
        OPS.pop("badsq_lost")
        RULES.pop("badsq_lost")
