"""The op table: every op reaches every tool, and users add ops of their own that work everywhere."""

import math

import pytest
from hypothesis import find, given, settings

from autograd import Value, define_op, grad, trace
from autograd.__main__ import main as cli
from autograd.compile import compile_graph
from autograd.engine import apply
from autograd.forward import Dual
from autograd.gradcheck import GradcheckError, check_rules, gradcheck, gradgradcheck
from autograd.ops import OPS, RULES
from autograd.strategies import expressions

BUILTIN = sorted(k for k, op in OPS.items() if op.builtin)


@pytest.mark.parametrize("op", BUILTIN)
def test_every_table_op_reaches_the_command_line_strategies_and_dual(op, capsys):
    """Each op has a Dual counterpart, a command-line name and is drawn by strategies.expressions."""
    spec = OPS[op]
    xs = spec.sample()
    assert apply(op, *[Dual(x, 1.0 if k == 0 else 0.0) for k, x in enumerate(xs)]).val == \
        pytest.approx(apply(op, *xs))
    if not spec.symbol:
        text = f"{spec.fn_name}({', '.join(['x'] + [repr(x) for x in xs[1:]])})"
        assert cli([text, f"x={xs[0]!r}"]) == 0, capsys.readouterr().err
    expr = find(expressions(ops=[op]), lambda e: op in e.ops, settings=settings(database=None, derandomize=True))
    assert op in expr.ops


def softsign(x: float) -> float:
    """x / (1 + |x|)"""
    return x / (1.0 + abs(x))


def softsign_backward(g, x, out):
    """d softsign(x) = g / (1 + |x|) ** 2"""
    return (g / (1.0 + abs(x)) ** 2,)


def softsign_wrong(g, x, out):
    """The usual mistake: forgets the square."""
    return (g / (1.0 + abs(x)),)


def test_a_user_op_works_everywhere_a_builtin_does(user_op, tmp_path):
    """backward, grad (twice), pictures, trace, compile_graph, gradcheck, check_rules and strategies all take it."""
    s = user_op("softsign_t", softsign, softsign_backward, domain=(((-3.0, 3.0),),))
    assert RULES["softsign_t"] is softsign_backward
    x = Value(0.5, label="x")
    y = s(x * 2.0)
    assert y.op == "softsign_t" and y.data == softsign(1.0)
    y.backward()
    assert x.grad == pytest.approx(2.0 / 4.0)
    (d,) = grad(s(x), [x], create_graph=True)
    assert grad(d, [x])[0] == pytest.approx(-2.0 / 1.5 ** 3)
    assert "softsign_t_backward" in trace.explain(y) and "softsign_t(" in trace.formula(y)
    graphviz = pytest.importorskip("graphviz")
    assert graphviz and "softsign_t" in __import__("autograd.viz").viz.to_dot(y).source
    x2 = Value(0.5)
    step = compile_graph(s(x2 * 2.0) * 3.0, [x2])
    assert step() == 3 * softsign(1.0) and x2.grad == pytest.approx(1.5)
    assert gradcheck(lambda a: s(a) * a, [Value(0.7)]) and gradgradcheck(lambda a: s(a), [Value(-0.4)])
    assert check_rules({"softsign_t": softsign_backward})
    expr = find(expressions(ops=["softsign_t", "mul"]), lambda e: "softsign_t" in e.ops,
                settings=settings(database=None, derandomize=True))
    assert gradcheck(expr.fn, expr.inputs)


def test_a_wrong_user_rule_is_caught_and_named(user_op):
    """gradcheck names the user's rule as the culprit and check_rules names it too."""
    s = user_op("softsign_bad", softsign, softsign_wrong, domain=(((-3.0, 3.0),),))
    with pytest.raises(GradcheckError, match="culprit: softsign_bad_backward"):
        gradcheck(lambda a: s(a) * a, [Value(0.7)])
    with pytest.raises(GradcheckError, match="softsign_bad_backward: d/d\\(input 0\\)"):
        check_rules({"softsign_bad": softsign_wrong})


def test_define_op_refuses_bad_definitions_naming_the_op(user_op):
    """A taken name, a forward of the wrong arity, a backward of the wrong shape: clear errors naming the op."""
    with pytest.raises(ValueError, match="an op named 'mul' already exists"):
        define_op("mul", lambda x, y: x * y, lambda g, x, y, out: (g * y, g * x))
    with pytest.raises(ValueError, match="triple: forward must take 1 or 2 numbers, it takes 3"):
        define_op("triple", lambda x, y, z: x, lambda g, x, y, z, out: (g, g, g))
    with pytest.raises(ValueError, match="half: backward must take \\(g, x, out\\)"):
        define_op("half", lambda x: x / 2, lambda g, x: (g / 2,))
    pair = user_op("pair", lambda x: 2 * x, lambda g, x, out: (g, g))
    with pytest.raises(ValueError, match="pair_backward must return a tuple of 1 contribution"):
        pair(Value(1.0)).backward()


def test_a_failing_user_forward_names_the_op_and_the_input(user_op):
    """An exception in the user's forward comes out naming the op and the input."""
    inv = user_op("inv", lambda x: 1.0 / x, lambda g, x, out: (-g * out * out,))
    with pytest.raises(ZeroDivisionError, match="inv: forward raised ZeroDivisionError at x = 0.0"):
        inv(Value(0.0))
    bad = user_op("bad_type", lambda x: "nope", lambda g, x, out: (g,))
    with pytest.raises(TypeError, match="bad_type: forward must return a number, got str"):
        bad(Value(1.0))


NEW = {  # op -> (chainrule function of x, torch function of x, points)
    "leaky_relu": (lambda x: x.leaky_relu(0.1), lambda t, F: F.leaky_relu(t, 0.1), [-2.0, -0.3, 0.7, 3.0]),
    "softplus": (lambda x: x.softplus(), lambda t, F: F.softplus(t), [-800.0, -5.0, -0.5, 0.0, 1.5, 15.0, 800.0]),
    "gelu": (lambda x: x.gelu(), lambda t, F: F.gelu(t), [-800.0, -3.0, -0.5, 0.0, 1.2, 4.0, 800.0]),
    "erf": (lambda x: x.erf(), lambda t, F: __import__("torch").erf(t), [-3.0, -0.2, 0.0, 1.0, 5.0]),
    "erfc": (lambda x: x.erfc(), lambda t, F: __import__("torch").erfc(t), [-3.0, -0.2, 0.0, 1.0, 5.0, 20.0]),
    "maximum": (lambda x: __import__("autograd").maximum(x, 0.5),
                lambda t, F: __import__("torch").maximum(t, __import__("torch").tensor(0.5, dtype=t.dtype)),
                [-1.0, 0.5, 2.0]),
    "minimum": (lambda x: __import__("autograd").minimum(x, 0.5),
                lambda t, F: __import__("torch").minimum(t, __import__("torch").tensor(0.5, dtype=t.dtype)),
                [-1.0, 0.5, 2.0]),
}


@pytest.mark.parametrize("op", sorted(NEW))
def test_new_ops_equal_pytorch_to_the_second_derivative(op):
    """Values, first and second derivatives equal PyTorch's float64 results, ties and extremes included."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    ours, theirs, points = NEW[op]
    for p in points:
        t = torch.tensor(p, dtype=torch.float64, requires_grad=True)
        y = theirs(t, F)
        (d1,) = torch.autograd.grad(y, t, create_graph=True)
        d2 = torch.autograd.grad(d1, t)[0].item() if d1.requires_grad else 0.0
        x = Value(p)
        out = ours(x)
        (g1,) = grad(out, [x], create_graph=True)
        (g2,) = grad(g1, [x])
        for a, b in ((out.data, y.item()), (g1.data, d1.item()), (g2, d2)):
            assert math.isfinite(a) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (op, p, a, b)


@given(expressions(ops=["leaky_relu", "softplus", "gelu", "maximum", "minimum", "mul", "add"]))
def test_new_ops_pass_gradcheck_in_random_graphs(expr):
    """Random graphs of the new ops pass gradcheck (kinks kept away by the strategies)."""
    assert gradcheck(expr.fn, expr.inputs)
