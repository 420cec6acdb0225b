"""Checking gradients: your own function, a wrong derivative caught, and a hypothesis test.

    python -m demos.gradcheck_demo
"""

from __future__ import annotations

import argparse
import sys
import warnings

from autograd import Value, rules
from autograd.gradcheck import GradcheckError, KinkWarning, gradcheck, gradgradcheck


def softplus_net(x, y):
    """A user-written function: softplus(x * y) + sin(x) / y."""
    return (1 + (x * y).exp()).log() + x.sin() / y


def wrong_sigmoid_backward(g, x, out):
    """A deliberately wrong derivative: forgets the (1 - out) factor."""
    return (g * out,)


def check_a_function() -> None:
    x, y = Value(0.8, "x"), Value(-1.5, "y")
    print("1. gradcheck(softplus_net, [x, y]) ->", gradcheck(softplus_net, [x, y]))
    print("   gradgradcheck (second derivatives)  ->", gradgradcheck(softplus_net, [x, y]))


def catch_a_wrong_derivative() -> None:
    print("\n2. sigmoid's rule replaced by a wrong one; gradcheck says:\n")
    right = rules.RULES["sigmoid"]
    rules.RULES["sigmoid"] = wrong_sigmoid_backward
    try:
        gradcheck(lambda a, b: (a * b).sigmoid() + a, [Value(0.5, "a"), Value(2.0, "b")])
    except GradcheckError as e:
        print(e)
    finally:
        rules.RULES["sigmoid"] = right


def your_own_op() -> None:
    """The learner's exercise: write softsign's rule, get it wrong once, see gradcheck name it, fix it."""
    from autograd import define_op
    from autograd.ops import OPS, RULES

    print("\n3. an op of your own: softsign(x) = x / (1 + |x|), its rule written by hand")

    def softsign(x):
        return x / (1.0 + abs(x))

    def softsign_wrong_backward(g, x, out):
        return (g / (1.0 + abs(x)),)  # forgot the square

    def softsign_backward(g, x, out):
        return (g / (1.0 + abs(x)) ** 2,)

    for name, rule in (("softsign_first_try", softsign_wrong_backward), ("softsign", softsign_backward)):
        op = define_op(name, softsign, rule, domain=(((-3.0, 3.0),),))
        try:
            print(f"   gradcheck with {rule.__name__}:", gradcheck(lambda a: op(a) * a, [Value(0.7, "a")]))
        except GradcheckError as e:
            print("  ", "\n   ".join(str(e).splitlines()))
        finally:
            OPS.pop(name), RULES.pop(name)  # the demo may run twice in one process (tests)


def at_a_kink() -> None:
    print("\n4. relu at 0 is a kink; gradcheck neither fails nor passes silently:")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KinkWarning)
        gradcheck(lambda a: a.relu() * 3, [Value(0.0, "a")])
    print("  ", caught[0].message)


HYPOTHESIS_TEST = '''
from hypothesis import given
from autograd.gradcheck import gradcheck
from autograd.strategies import expressions

@given(expressions(ops=["mul", "add", "tanh", "exp", "log"], max_leaves=2))
def test_my_engine(expr):
    assert gradcheck(expr.fn, expr.inputs)
'''


def a_hypothesis_test() -> None:
    print("\n5. A property test in ten lines (run here on 50 random graphs):")
    print(HYPOTHESIS_TEST)
    try:
        from hypothesis import settings
    except ImportError:
        print("   (install the test extra to run it: pip install -e '.[test]')")
        return
    namespace: dict = {}
    exec(HYPOTHESIS_TEST, namespace)
    settings(max_examples=50, database=None)(namespace["test_my_engine"])()
    print("   passed on 50 random graphs with reused nodes")


def stress() -> None:
    print("\n6. Stress mode: hypothesis' target() steers towards the graph where reverse mode and")
    print("   finite differences disagree most (cancellation, saturation):")
    try:
        from autograd.strategies import hunt
    except ImportError:
        print("   (install the test extra to run it)")
        return
    expr, err = hunt(max_examples=80)
    print(f"   worst found: {expr!r}\n   relative error {err:.2e} (the finite differences are what suffer)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="accepted as by every demo (this one shows no progress bar)")
    parser.parse_args(argv)  # --help, --quiet
    check_a_function()
    catch_a_wrong_derivative()
    your_own_op()
    at_a_kink()
    a_hypothesis_test()
    stress()
    return 0


if __name__ == "__main__":
    sys.exit(main())
