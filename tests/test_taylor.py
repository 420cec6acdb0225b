"""gradcheck.taylor_test: the step-free check, whose verdict is the rate at which the Taylor remainder falls."""

import math
import warnings

import pytest
from hypothesis import assume, given, settings

from autograd import Value, grad
from autograd.gradcheck import TAYLOR_STEPS, GradcheckError, KinkWarning, gradcheck, gradgradcheck, taylor_test
from autograd.strategies import expressions


def off_by(f, factor):
    """f with the same values but every gradient multiplied by ``factor`` (a wrong gradient to catch)."""
    def wrong(*xs):
        out = f(*xs)
        return out * factor + Value(out.data) * (1.0 - factor)
    return wrong


@settings(deadline=None)  # a few ms per example, more on a loaded machine
@given(expressions())
def test_a_right_gradient_gives_rates_near_two_and_a_three_percent_error_is_caught(expr):
    """On random graphs the last rate of a right gradient is above 1.5 (about 2), and the same graph with
    its gradient scaled by 1.03 fails with rates near 1."""
    rates = taylor_test(expr.fn, expr.inputs)
    assert not rates or rates[-1] > 1.5
    inputs = expr.inputs
    slope = sum(g * d for g, d in zip(grad(expr.fn(*inputs), inputs), rates.direction))
    assume(abs(slope) > 1e-3)  # 3% of a zero slope is no error at all
    with pytest.raises(GradcheckError, match="not h\\^2"):
        taylor_test(off_by(expr.fn, 1.03), expr.inputs)


def test_the_table_shows_steps_remainders_and_rates():
    """The report prints the direction, <grad, d>, and one row per step with its remainder and rate."""
    rates = taylor_test(lambda x, y: (x * y).tanh(), [Value(0.3), Value(0.7)])
    text = str(rates)
    assert "<grad f, d> =" in text and "remainder" in text and len(text.splitlines()) == 3 + TAYLOR_STEPS
    assert len(rates) >= 8 and all(abs(r - 2.0) < 0.05 for r in rates)
    assert [line.split()[-1] for line in text.splitlines()[4:4 + len(rates)]] == [f"{r:.3f}" for r in rates]


def test_a_wrong_user_rule_fails_with_the_measured_slope(user_op):
    """A user op whose rule is 3% off fails, the message naming <grad f, d> and the measured slope."""
    op = user_op("tanh_off", math.tanh, lambda g, x, out: (g * (1.0 - out * out) * 1.03,))
    with pytest.raises(GradcheckError, match=r"<grad f, d> = .*but f's slope along d is about"):
        taylor_test(lambda x: op(x) * 2.0, [Value(0.4)])
    rates = taylor_test(lambda x: op(x) * 2.0, [Value(0.4)], raise_exception=False)
    assert abs(rates[-1] - 1.0) < 0.1


def test_a_linear_function_has_only_rounding_in_its_remainder():
    """Along a line the remainder is rounding at every step: no rates to judge, no failure, the table says so."""
    rates = taylor_test(lambda x, y: 2.0 * x - y, [Value(0.3), Value(0.7)])
    assert rates == () and str(rates).count("(rounding)") == TAYLOR_STEPS


def test_functions_that_call_grad_inside_are_checked():
    """taylor_test and gradgradcheck accept f that returns a derivative it took itself, and catch it when wrong."""
    def slope(x, y):
        return grad(x ** 3 * y, [x], create_graph=True)[0]  # 3 x^2 y

    assert taylor_test(slope, [Value(0.5), Value(1.5)])[-1] > 1.9
    assert gradgradcheck(slope, [Value(0.5), Value(1.5)])
    with pytest.raises(GradcheckError):
        taylor_test(off_by(slope, 0.97), [Value(0.5), Value(1.5)])


def test_a_kink_inside_the_steps_is_named():
    """When x + h d crosses a kink the failure says so, since a remainder falling as h may be the kink."""
    with pytest.raises(GradcheckError, match="A kink lies between x and x \\+ h d"):
        taylor_test(lambda x: abs(x), [Value(0.0)])


def test_inputs_are_restored_and_bad_directions_refused():
    """Inputs keep their numbers after the test; a direction of the wrong length, zero or not numbers is refused."""
    x, y = Value(0.3), Value(0.7)
    taylor_test(lambda a, b: a * b, [x, y], direction=[1.0, -1.0])
    assert (x.data, y.data) == (0.3, 0.7)
    with pytest.raises(ValueError, match="direction has 1 entries but there are 2 inputs"):
        taylor_test(lambda a, b: a * b, [x, y], direction=[1.0])
    with pytest.raises(ValueError, match="not all zero"):
        taylor_test(lambda a, b: a * b, [x, y], direction=[0.0, 0.0])
    with pytest.raises(TypeError, match=r"direction\[1\]: expected an int, float or bool, got str"):
        taylor_test(lambda a, b: a * b, [x, y], direction=[1.0, "b"])
    with pytest.raises(TypeError, match="f must return a Value"):
        taylor_test(lambda a, b: 3.0, [x, y])


def test_gradcheck_reports_a_kink_no_op_declares(user_op):
    """At 0, an abs defined without kinks has central difference 0, agreeing with a zero rule; gradcheck
    also measures the one-sided secants there and says so (a KinkWarning with left -1 and right 1), and a
    rule outside them fails; a smooth function with large curvature raises no such warning."""
    flat = user_op("abs_flat", abs, lambda g, x, out: (g * 0.0,))
    steep = user_op("abs_steep", abs, lambda g, x, out: (g * 5.0,))
    with pytest.warns(KinkWarning, match="one-sided secants differ.*left -1, right 1, analytic 0 lies between"):
        assert gradcheck(lambda x: flat(x), [Value(0.0, "x")])
    with pytest.raises(GradcheckError, match="left -1, right 1, analytic 5 lies outside them"):
        gradcheck(lambda x: steep(x), [Value(0.0, "x")])
    with warnings.catch_warnings():
        warnings.simplefilter("error", KinkWarning)
        assert gradcheck(lambda x: (x * 5.0).exp() + (x * 40.0).sin(), [Value(0.0, "x")])
