"""User ops (define_op) behave like built-in ones on every path, or say exactly what is wrong."""

import json
import math
import re

import numpy as np
import pytest
from hypothesis import find, settings

from autograd import Value, define_op, grad, trace
from autograd import compile as compiled
from autograd.__main__ import main as cli
from autograd.compile import compile_graph
from autograd.forward import Dual, derivative, gradient
from autograd.gradcheck import GradcheckError, check_rules, gradcheck
from autograd.ops import OPS, RULES
from autograd.strategies import expressions

UNIT = (((0.5, 2.0),),)  # a test domain for one input
PAIR = (((0.5, 2.0),), ((0.5, 2.0),))


# Every path that runs a rule: each returns the gradients of build(*leaves) at xs as plain numbers.

def by_backward(build, xs):
    leaves = [Value(x) for x in xs]
    build(*leaves).backward()
    return [v.grad for v in leaves]


def by_grad(build, xs):
    leaves = [Value(x) for x in xs]
    return list(grad(build(*leaves), leaves))


def by_grad_create_graph(build, xs):
    leaves = [Value(x) for x in xs]
    return [g.data for g in grad(build(*leaves), leaves, create_graph=True)]


def by_steps(build, xs):
    leaves = [Value(x) for x in xs]
    for _ in trace.steps(build(*leaves)):
        pass
    return [v.grad for v in leaves]


def by_compile(build, xs):
    leaves = [Value(x) for x in xs]
    compile_graph(build(*leaves), leaves)()
    return [v.grad for v in leaves]


def by_gradcheck(build, xs):
    assert gradcheck(build, [Value(x) for x in xs])
    return by_grad(build, xs)


PATHS = [by_backward, by_grad, by_grad_create_graph, by_steps, by_compile, by_gradcheck]


def in_check_rules(op: str) -> str:
    """check_rules' report on ``op`` (it must find a problem)."""
    with pytest.raises(GradcheckError) as e:
        check_rules({op: RULES[op]})
    return str(e.value)


BAD_OUTPUTS = [  # (rule, what the message shows of it)
    (lambda g, x, out: (2j,), "complex 2j"),
    (lambda g, x, out: (None,), "NoneType None"),
    (lambda g, x, out: ("1.0",), "str '1.0'"),
    (lambda g, x, out: {1.0}, "set {1.0}"),
    (lambda g, x, out: {0: 1.0}, "dict {0: 1.0}"),
    (lambda g, x, out: (c for c in (1.0,)), "generator"),
    (lambda g, x, out: np.array([1.0]), "ndarray"),
    (lambda g, x, out: 1.0, "float 1.0"),
    (lambda g, x, out: (1.0, 1.0), "2 contributions (1.0, 1.0)"),
    (lambda g, x, out: (), "0 contributions ()"),
]  # constants, so the float and the Value passes see the same thing


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("rule, shown", BAD_OUTPUTS, ids=[s.split()[0] for _, s in BAD_OUTPUTS])
def test_a_rule_returning_anything_but_one_number_per_input_is_refused_on_every_path(user_op, path, rule, shown):
    """Each path refuses the same bad rule output with a ValueError naming the op, the input and what came back."""
    bad = user_op("bad_out", lambda x: x * x, rule, domain=UNIT)
    with pytest.raises(ValueError) as e:
        path(lambda x: bad(x) * 1.0, [1.5])
    message = str(e.value)
    assert "bad_out_backward" in message and "x = 1.5" in message and shown in message, message
    assert shown in in_check_rules("bad_out")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("count", [1, 3])
def test_a_binary_rule_with_the_wrong_count_is_refused_next_to_a_constant(user_op, path, count):
    """A binary rule returning 1 or 3 contributions is refused even when one operand is a constant."""
    user_op("bad_pair", lambda x, y: x * y, lambda g, x, y, out: (g * y,) * count, domain=PAIR)
    from autograd.engine import apply
    with pytest.raises(ValueError, match=rf"bad_pair_backward must return a tuple of 2 contributions .*got {count}"):
        path(lambda x: apply("bad_pair", x, 2.0) * 1.0, [1.5])


def test_a_value_returned_during_a_float_pass_counts_as_its_number(user_op):
    """A rule may call other ops: on float passes its Values count as numbers and .grad stays a float;
    with create_graph it is differentiated again."""
    double = user_op("double_v", lambda x: 2.0 * x, lambda g, x, out: (2.0 * g,), domain=UNIT)
    sq = user_op("sq_v", lambda x: x * x, lambda g, x, out: (g * double(x),), domain=UNIT)
    assert type(double(1.5)) is Value  # so sq's rule returns a Value even when g and x are floats
    for path in PATHS:
        grads = path(lambda x: sq(x) * 1.0, [1.5])
        assert grads == [3.0] and type(grads[0]) is float, path.__name__
    x = Value(1.5)
    (d,) = grad(sq(x), [x], create_graph=True)
    assert grad(d, [x]) == (2.0,)
    assert check_rules({"sq_v": RULES["sq_v"], "double_v": RULES["double_v"]})


def test_numpy_contributions_leave_float_gradients(user_op):
    """A rule returning numpy scalars (or a list) gives the same numbers as floats, and .grad stays a float."""
    sq = user_op("sq_np", lambda x: x * x, lambda g, x, out: [np.float64(2.0) * x * g], domain=UNIT)
    for path in PATHS:
        if path is by_grad_create_graph:
            continue  # np.float64 * Value is numpy's business
        grads = path(lambda x: sq(x) * 1.0, [1.5])
        assert grads == [3.0] and type(grads[0]) is float, path.__name__


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
def test_an_exception_inside_a_users_rule_names_the_op_and_the_input(user_op, path):
    """(1 / 0,) comes out as a ZeroDivisionError naming the rule and the input, on every path."""
    zdiv = user_op("zdiv", lambda x: x * x, lambda g, x, out: (1 / 0,), domain=UNIT)
    with pytest.raises(ZeroDivisionError, match=r"zdiv_backward raised ZeroDivisionError at x = 1.5"):
        path(lambda x: zdiv(x) * 1.0, [1.5])
    assert "zdiv_backward raised ZeroDivisionError at x = " in in_check_rules("zdiv")


def test_an_exception_inside_a_users_rule_leaves_gradients_as_they_were(user_op):
    """A backward pass stopped by a user's rule leaves every leaf's .grad untouched."""
    z = user_op("zdiv2", lambda x: x * x, lambda g, x, out: (1 / 0,))
    x = Value(1.5)
    x.grad = 7.0
    with pytest.raises(ZeroDivisionError):
        (z(x) + x).backward()
    assert x.grad == 7.0


def decode_json(x: float) -> float:
    return json.loads("{" * int(x))


def decode_bytes(x: float) -> float:
    return float(bytes([int(x)]).decode("utf-8"))


def test_forward_exceptions_with_other_constructors_keep_their_kind_and_name_the_op(user_op):
    """JSONDecodeError and UnicodeDecodeError come out as ValueErrors naming the op and input, with the
    original as the cause; KeyError stays a KeyError; in a compiled step too."""
    js = user_op("js", decode_json, lambda g, x, out: (g,))
    with pytest.raises(ValueError, match=r"js: forward raised JSONDecodeError at x = 2.0") as e:
        js(Value(2.0))
    assert isinstance(e.value.__cause__, json.JSONDecodeError)
    ub = user_op("ub", decode_bytes, lambda g, x, out: (g,))
    with pytest.raises(ValueError, match=r"ub: forward raised UnicodeDecodeError at x = 255.0"):
        ub(255.0)
    table = {1.0: 2.0}
    look = user_op("look", lambda x: table[x], lambda g, x, out: (0.0,))
    x = Value(1.0)
    step = compile_graph(look(x) * 2.0, [x])
    assert step() == 4.0
    x.data = 3.0
    with pytest.raises(KeyError, match=r"look: forward raised KeyError at x = 3.0"):
        step()


def test_builtin_functions_are_forwards_with_the_arity_from_the_backward(user_op):
    """math.log, math.atan2, math.erf and math.hypot work as forwards (arity from the backward or arity=)."""
    mylog = user_op("mylog", math.log, lambda g, x, out: (g / x,), domain=UNIT)
    x = Value(2.0)
    mylog(x).backward()
    assert mylog(x).data == math.log(2.0) and x.grad == 0.5
    at = user_op("myatan2", math.atan2, lambda g, y, x, out: (g * x / (x * x + y * y), -g * y / (x * x + y * y)),
                 domain=PAIR)
    myerf = user_op("myerf", math.erf, lambda g, x, out: (g * 2 / math.sqrt(math.pi) * (-x * x).exp()
                                                          if isinstance(x, Value) else
                                                          g * 2 / math.sqrt(math.pi) * math.exp(-x * x),),
                    domain=UNIT)
    hyp = user_op("myhypot", math.hypot, lambda *a: (a[0] * a[1] / a[3], a[0] * a[2] / a[3]), arity=2, domain=PAIR)
    assert gradcheck(lambda a, b: at(a, b) * myerf(a) + hyp(a, b), [Value(0.8), Value(1.3)])
    assert check_rules({k: RULES[k] for k in ("mylog", "myatan2", "myerf", "myhypot")})


@pytest.mark.parametrize("forward, backward, kw, match", [
    (math.hypot, lambda *a: (a[0], a[0]), {}, r"nohint: cannot tell how many inputs .*arity=1 or arity=2"),
    (lambda x: x, lambda g, x, out: (g,), {"arity": 2}, r"arity2: forward .*cannot take 2 numbers"),
    (lambda x: x, lambda g, x, out: (g,), {"arity": 3}, r"arity3: arity must be 1 or 2, got 3"),
    (lambda x: 10 ** 400, lambda g, x, out: (g,), {}, r"huge: forward returned int .* too large for a float, at x = 1.0"),
    (lambda x: x, lambda g, x, out: (g,), {"domain": ((("0", "1"),),)}, r"strdom: domain must give"),
    (lambda x: x, lambda g, x, out: (g,), {"domain": ((("a", 1.0),),)}, r"strdom2: domain must give"),
    (lambda x: x, lambda g, x, out: (g,), {"domain": 5}, r"intdom: domain must give"),
    (lambda x: x, lambda g, x, out: (g,), {"domain": (((0.0, math.nan),),)}, r"nandom: domain must give"),
    (lambda x: x, lambda g, x, out: (g,), {"kinks": ("a",)}, r"strkink: kinks must be finite numbers, got str 'a'"),
    (lambda x: x, lambda g, x, out: (g,), {"jvp": lambda x: x}, r"badjvp2: jvp must take \(x, dx\)"),
])
def test_bad_arguments_to_define_op_are_value_errors_naming_the_op_and_the_argument(user_op, forward, backward,
                                                                                   kw, match):
    """Every bad argument is a ValueError naming the op and the argument, never a raw error from inside."""
    name = match.split(":")[0]
    with pytest.raises(ValueError, match=match):
        op = user_op(name, forward, backward, **kw)
        op(Value(1.0))
    assert name not in OPS or name == "huge"  # a refused definition registers nothing


def test_python_keywords_and_non_identifiers_are_not_op_names():
    """A name the command line and formulas could not call is refused, naming it; so is a jvp that is not callable."""
    for name in ("if", "my op", "a-b", ""):
        with pytest.raises(ValueError, match=re.escape(repr(name))):
            define_op(name, lambda x: x, lambda g, x, out: (g,))
    with pytest.raises(TypeError, match="define_op badjvp: jvp must be callable, got int"):
        define_op("badjvp", lambda x: x, lambda g, x, out: (g,), jvp=3)
    assert "badjvp" not in OPS


HOSTILE = {  # name -> (forward, rule): names Python normalises, ligatures, names of generated locals
    "ｅxp": (lambda x: 2.0 * x, lambda g, x, out: (2.0 * g,)),
    "ﬁx": (lambda x: x + 1.0, lambda g, x, out: (g,)),
    "g0": (lambda x, y: x * y, lambda g, x, y, out: (g * y, g * x)),
    "t1": (lambda x: 3.0 * x, lambda g, x, out: (3.0 * g,)),
    "v2": (lambda x: x - 1.0, lambda g, x, out: (g,)),
}


def test_hostile_names_compute_the_users_op_in_a_chunked_compile(user_op, monkeypatch):
    """'ｅxp' computes the user's op (not exp), 'ﬁx' works, g0/t1/v2 do not clash with generated
    locals when the step is split into many functions."""
    ops = {name: user_op(name, f, r) for name, (f, r) in HOSTILE.items()}

    def build(x):
        y = x
        for _ in range(30):
            y = ops["t1"](ops["g0"](ops["ﬁx"](ops["ｅxp"](y)), x)) * 0.01 + ops["v2"](y)
        return y

    eager = by_backward(build, [0.5])
    monkeypatch.setattr(compiled, "CHUNK", 8)
    monkeypatch.setattr(compiled, "SMALL_CHUNK", 3)
    x = Value(0.5)
    out = build(x)
    step = compile_graph(out, [x])
    assert step() == out.data and [x.grad] == eager
    assert step.source.count("def step(") > 20 and "# n1 ｅxp" in step.source
    assert compile_graph(ops["ｅxp"](Value(1.5)), [])() == 3.0  # not e ** 1.5


def test_non_ascii_names_reach_pictures_pages_and_the_command_line(user_op, tmp_path, capsys):
    """A user op named 'ｅxp' or 'ﬁx' prints, draws and runs under its own name, never as exp or fix."""
    fake = user_op("ｅxp", lambda x: 2.0 * x, lambda g, x, out: (2.0 * g,), domain=UNIT)
    fix = user_op("ﬁx", lambda x: x + 1.0, lambda g, x, out: (g,), domain=UNIT)
    x = Value(1.5, "x")
    y = fix(fake(x))
    assert trace.formula(y) == "ﬁx(ｅxp(x))"
    assert "ｅxp_backward" in trace.explain(y)
    graphviz = pytest.importorskip("graphviz")
    from autograd import viz
    assert graphviz and "ｅxp" in viz.to_dot(y).source and "ﬁx" in viz.to_dot(y).source
    page = trace.to_html(y, tmp_path / "page.html")
    text = page.read_text(encoding="utf-8")
    assert "ｅxp" in text or "\\uff45xp" in text
    assert cli(["ﬁx(ｅxp(x))", "x=1.5"]) == 0
    out = capsys.readouterr().out
    assert "value = 4.0" in out and "d/dx = 2.0" in out
    assert cli(["exp(x)", "x=0.0"]) == 0 and "value = 1.0" in capsys.readouterr().out  # the built-in stays exp


def softsign(x):
    return x / (1.0 + abs(x))


def softsign_backward(g, x, out):
    return (g / (1.0 + abs(x)) / (1.0 + abs(x)),)


def test_forward_mode_runs_user_ops_from_their_rule(user_op):
    """Without a jvp, Dual derives a user op from its reverse rule: unary and binary, through apply and
    through the op's own function, and Expression.fn replays on Duals."""
    soft = user_op("soft_fm", softsign, softsign_backward, domain=(((-3.0, 3.0),),))
    away = ((-3.0, -0.1), (0.1, 3.0))
    hyp = user_op("hyp_fm", math.hypot, lambda g, x, y, out: (g * x / out, g * y / out), domain=(away, away))
    assert derivative(soft, 0.5) == pytest.approx(1 / 1.5 ** 2, rel=1e-15)
    d = hyp(Dual(3.0, 1.0), Dual(4.0, 2.0))
    assert isinstance(d, Dual) and d.val == 5.0 and d.der == pytest.approx((3.0 + 8.0) / 5.0)
    assert hyp(Dual(3.0, 1.0), 4.0).der == pytest.approx(0.6)
    expr = find(expressions(ops=["soft_fm", "hyp_fm", "mul"]), lambda e: {"soft_fm", "hyp_fm"} <= e.ops,
                settings=settings(database=None, derandomize=True))
    inputs = expr.inputs
    assert gradient(expr.fn, expr.input_values) == pytest.approx(grad(expr.fn(*inputs), inputs), rel=1e-12)


def test_forward_mode_uses_the_users_jvp_when_given(user_op):
    """With jvp, Dual uses it (so a wrong jvp shows up against reverse mode), and a bad jvp is named."""
    cube = user_op("cube_fm", lambda x: x ** 3, lambda g, x, out: (3.0 * g * x * x,),
                   jvp=lambda x, dx: 3.0 * x * x * dx)
    assert derivative(cube, 2.0) == 12.0
    liar = user_op("liar_fm", lambda x: x ** 3, lambda g, x, out: (3.0 * g * x * x,), jvp=lambda x, dx: 99.0 * dx)
    assert derivative(liar, 2.0) == 99.0
    mul = user_op("mul_fm", lambda x, y: x * y, lambda g, x, y, out: (g * y, g * x),
                  jvp=lambda x, y, dx, dy: x * dy + y * dx)
    assert mul(Dual(3.0, 1.0), Dual(4.0, 0.5)).der == 5.5
    junk = user_op("junk_fm", lambda x: x, lambda g, x, out: (g,), jvp=lambda x, dx: "1")
    with pytest.raises(ValueError, match=r"junk_fm: jvp must return one real number, got str '1' at x = 2.0"):
        derivative(junk, 2.0)


def test_forward_mode_of_a_zero_tangent_ignores_an_infinite_local_derivative(user_op):
    """A constant input (tangent 0) contributes nothing, even where the rule's local derivative is inf."""
    def root_backward(g, x, y, out):
        return (g * y / (2 * math.sqrt(x)) if x > 0 else g * math.inf, g * math.sqrt(x))

    root = user_op("root_fm", lambda x, y: math.sqrt(x) * y, root_backward)
    assert root(Dual(0.0, 0.0), Dual(2.0, 1.0)).der == 0.0


def test_a_rule_that_turns_a_value_into_a_float_under_create_graph_is_named(user_op):
    """A rule using math.* on its Value inputs during grad(create_graph=True) is an error naming the op,
    not a second derivative silently cut off at the float."""
    my_sin = user_op("my_sin", math.sin, lambda g, x, out: (g * math.cos(x),), domain=UNIT)
    x = Value(0.7)
    assert grad(my_sin(x), [x]) == (math.cos(0.7),)  # float passes: math.* on floats is fine
    with pytest.raises(TypeError, match=r"my_sin_backward.*float.*create_graph.*x\.cos\(\)"):
        grad(my_sin(x), [x], create_graph=True)
