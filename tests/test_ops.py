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
from autograd.ops import OPS, RULES, Forms
from autograd.rules import div, power
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


# ---------------------------------------------------------------------------- the pages' forms

def _total(f):
    """A math function that returns IEEE's answer (inf, -inf, nan) where Python's raises."""
    def g(t):
        try:
            return f(t)
        except OverflowError:
            return math.inf
        except ValueError:
            return -math.inf if t == 0.0 else math.nan
    return g


FORM_FUNCTIONS = {name: _total(getattr(math, name)) for name in
                  ("exp", "log", "log1p", "sqrt", "tanh", "sin", "cos", "erf", "erfc")}
FORM_FUNCTIONS.update(abs=abs, isfinite=math.isfinite, isint=lambda t: math.isfinite(t) and t.is_integer())
FORM_NAMES = {"pi": math.pi, "inf": math.inf, "nan": math.nan}


def evaluate_form(text: str, **env) -> float:
    """A form evaluated in Python with the language's rules (ops.js's header): IEEE / and **, total functions."""
    import ast

    def ev(n):
        kind = type(n)
        if kind is ast.Constant and type(n.value) in (int, float):
            return float(n.value)
        if kind is ast.Name:
            return env[n.id] if n.id in env else FORM_NAMES[n.id]
        if kind is ast.UnaryOp:
            a = ev(n.operand)
            return {ast.USub: lambda: -a, ast.UAdd: lambda: a, ast.Not: lambda: not a}[type(n.op)]()
        if kind is ast.BinOp:
            a, b = ev(n.left), ev(n.right)
            return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                    ast.Div: lambda: div(a, b), ast.Pow: lambda: power(a, b)}[type(n.op)]()
        if kind is ast.BoolOp:
            values = (ev(v) for v in n.values)
            return all(values) if type(n.op) is ast.And else any(values)
        if kind is ast.Compare and len(n.ops) == 1:
            a, b = ev(n.left), ev(n.comparators[0])
            return {ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b, ast.GtE: a >= b, ast.Eq: a == b,
                    ast.NotEq: a != b}[type(n.ops[0])]
        if kind is ast.IfExp:
            return ev(n.body) if ev(n.test) else ev(n.orelse)
        if kind is ast.Call and type(n.func) is ast.Name and len(n.args) == 1 and not n.keywords:
            return FORM_FUNCTIONS[n.func.id](ev(n.args[0]))
        raise ValueError(f"not in the forms' language: {ast.dump(n)} in {text!r}")

    return ev(ast.parse(text, mode="eval").body)


EDGES = [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-8, -1e-8, 0.25, -0.25, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0,
         2.5, -3.0, 3.7, -6.5, 27.0, -27.0, 300.0, 709.5, 709.79, 710.0, -745.5, 1e300, -1e300, math.inf, -math.inf,
         math.nan]


def form_points(op: str) -> list:
    """Where an op's forms are checked: edges, kinks, ties, integers and a grid, every pair for binary ops."""
    spec = OPS[op]
    grid = [k / 8 for k in range(-40, 41)] + list(spec.kinks)
    if spec.arity == 1:
        return [(x,) for x in EDGES + grid]
    small = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -1.5, 1e-300, 1e300, -1e300, 1024.0, math.inf,
             -math.inf, math.nan]
    return [(x, y) for x in small + [2.5, -0.75] for y in small] + [(x, x) for x in grid] + \
        [(x, 0.3) for x in grid] + [(0.7, y) for y in grid]


def engine_truth(op: str, xs: tuple):
    """('error', type name, message) where the engine's forward refuses ``xs``; else ('ok', value, partials)."""
    spec = OPS[op]
    try:
        out = spec.forward(*xs)
    except (ValueError, ZeroDivisionError, OverflowError) as e:
        return ("error", type(e).__name__, str(e))
    return ("ok", out, tuple(spec.rule(1.0, *xs, out)))


def same_number(a: float, b: float) -> bool:
    """Equal to 1e-12 relative, or both NaN, or both the same infinity."""
    if a != a or b != b:
        return a != a and b != b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def form_mismatches(op: str, results: list) -> list:
    """The points where the forms' results (one per form_points(op) point, as engine_truth gives them)
    differ from the engine's forward, error message or rule."""
    bad = []
    for xs, got in zip(form_points(op), results):
        want = engine_truth(op, xs)
        if want[0] == "error" or got[0] == "error":
            if tuple(got) != want:
                bad.append((op, xs, want, got))
        elif not (same_number(got[1], want[1]) and len(got[2]) == len(want[2])
                  and all(map(same_number, got[2], want[2]))):
            bad.append((op, xs, want, got))
    return bad


def forms_in_python(forms, xs: tuple):
    """What ops.js computes, computed in Python: the first domain error that holds, else the value and partials."""
    env = dict(zip("xy", xs))
    for k, (cond, kind, _) in enumerate(forms.errors):
        if evaluate_form(cond, **env):
            return ("error", kind, forms.message(k, *xs))
    out = evaluate_form(forms.forward, **env)
    return ("ok", out, tuple(evaluate_form(p, out=out, **env) for p in forms.partials))


def test_every_builtin_op_has_forms_for_its_inputs():
    """Each built-in op carries its forward, one derivative per input and its domain in the pages' language."""
    for op in BUILTIN:
        forms = OPS[op].forms
        assert forms is not None, f"{op}: add forms=Forms(...) to its block in autograd/rules.py"
        assert len(forms.partials) == OPS[op].arity and all(len(e) == 3 for e in forms.errors), op


@pytest.mark.parametrize("op", BUILTIN)
def test_forms_compute_what_the_engine_computes(op):
    """At edges, kinks, ties, infinities and NaN each op's forms give the forward's value or its exact
    error message, and the rule's local derivatives (relu'(0) = 0, a tie's half, sqrt'(0) = inf)."""
    forms = OPS[op].forms
    assert form_mismatches(op, [forms_in_python(forms, xs) for xs in form_points(op)]) == []


WRONG_FORMS = {  # op -> a plausible mistake in its forms
    "tanh": lambda f: Forms(f.forward, ("1 + out * out",), f.errors),
    "relu": lambda f: Forms(f.forward, ("1 if x >= 0 else 0",), f.errors),
    "log": lambda f: Forms(f.forward, f.partials, (("x < 0",) + f.errors[0][1:],)),
    "maximum": lambda f: Forms(f.forward, ("1 if x >= y else 0", "0 if x >= y else 1"), f.errors),
    "sqrt": lambda f: Forms(f.forward, f.partials, (("x < 0", "ValueError", "sqrt: undefined for x < 0, x = {x}"),)),
}


@pytest.mark.parametrize("op", sorted(WRONG_FORMS))
def test_a_wrong_form_is_caught(op):
    """A mistaken derivative, convention, domain or message in a form fails the check."""
    forms = WRONG_FORMS[op](OPS[op].forms)
    assert form_mismatches(op, [forms_in_python(forms, xs) for xs in form_points(op)])


IN_PAGE = """([table, wrong, cases, numbers]) => {
  const run = (ops) => cases.map(([op, xs]) => xs.map((x) => {
    try { const out = ops.forward(op, x); return ["ok", out, ops.partials(op, x, out)]; }
    catch (e) { if (!(e instanceof ChainruleOps.OpError)) throw e; return ["error", e.type, e.message]; }
  }));
  const C = ChainruleOps;
  return { right: run(C.table(table)), wrong: run(C.table(wrong)),
           erf: numbers.map(C.erf), erfc: numbers.map(C.erfc), repr: numbers.map(C.repr), fmt: numbers.map(C.fmt) };
}"""


def test_browser_ops_js_computes_every_op_erf_and_pythons_number_text(browser):
    """In Chromium (one page), ops.js evaluates every built-in op's forms as the engine computes them (the
    mistakes of WRONG_FORMS are caught), erf and erfc within 1e-13 of Python's, and repr and fmt as Python prints."""
    import random
    from importlib import resources

    from autograd.ops import fmt, page_ops

    wrong = page_ops(BUILTIN)
    for op, mistake in WRONG_FORMS.items():
        f = mistake(OPS[op].forms)
        wrong[op] = {"arity": OPS[op].arity, "forward": f.forward, "partials": list(f.partials),
                     "errors": [list(e) for e in f.errors]}
    rng = random.Random(7)
    numbers = EDGES + [rng.uniform(-30, 30) for _ in range(3000)] + [rng.uniform(-3, 3) for _ in range(3000)] + \
        [rng.choice((-1, 1)) * 10 ** rng.uniform(-310, 308) for _ in range(3000)] + \
        [k / 2 ** 5 for k in range(-400, 400)] + [k / 2 ** 9 + 1e6 for k in range(-200, 200)] + \
        [1234550.0, 1234650.0, 0.03125, -0.03125, 0.00015, 999999.99995, 1e16, 1e-5, 0.0001, 123456789012345.6]
    cases = [[op, [list(xs) for xs in form_points(op)]] for op in BUILTIN]
    page = browser.new_page()
    page.set_content("<!DOCTYPE html><title>ops</title>")
    page.add_script_tag(content=resources.files("autograd").joinpath("assets", "ops.js").read_text())
    got = page.evaluate(IN_PAGE, [page_ops(BUILTIN), wrong, cases, numbers])
    page.close()
    for op, right, bad in zip(BUILTIN, got["right"], got["wrong"]):
        assert form_mismatches(op, right) == []
        assert bool(form_mismatches(op, bad)) == (op in WRONG_FORMS), op
    for name in ("erf", "erfc"):
        for x, y in zip(numbers, got[name]):
            want = getattr(math, name)(x)
            assert same_number(y, want) if abs(want) > 1e-300 or want != want else abs(y - want) < 1e-310, (name, x, y)
            assert y != y or abs(want) < 1e-300 or math.isclose(y, want, rel_tol=1e-13), (name, x, y, want)
    assert got["repr"] == [repr(x) for x in numbers]
    assert got["fmt"] == [fmt(x) for x in numbers]
