"""The engine: every op's value and derivatives, graph semantics, errors and memory."""

import gc
import math
import threading
import weakref

import pytest

from autograd import Value, enable_grad, grad, is_grad_enabled, maximum, minimum, no_grad, trace
from autograd.engine import apply
from autograd.rules import RULES

# op key -> (build from Value x, f, f', f'', points where all three are defined)
UNARY = {
    "neg": (lambda x: -x, lambda x: -x, lambda x: -1.0, lambda x: 0.0, [-2.0, 0.0, 3.5]),
    "abs": (abs, abs, lambda x: math.copysign(1.0, x), lambda x: 0.0, [-2.0, 0.5, 3.0]),
    "exp": (Value.exp, math.exp, math.exp, math.exp, [-700.0, -1.0, 0.0, 2.0, 709.0]),
    "log": (Value.log, math.log, lambda x: 1 / x, lambda x: -1 / x / x, [1e-100, 0.5, 1.0, 1e300]),
    "sqrt": (Value.sqrt, math.sqrt, lambda x: 0.5 / math.sqrt(x), lambda x: -0.25 * x**-1.5, [1e-12, 2.0, 1e10]),
    "tanh": (Value.tanh, math.tanh, lambda x: 1 - math.tanh(x) ** 2,
             lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2), [-1000.0, -0.5, 0.0, 0.5, 20.0, 1000.0]),
    "sigmoid": (Value.sigmoid, lambda x: 1 / (1 + math.exp(-x)) if x > -700 else 0.0,
                lambda x: math.exp(-abs(x)) / (1 + math.exp(-abs(x))) ** 2,
                lambda x: (lambda s: s * (1 - s) * (1 - 2 * s))(0.5 * (1 + math.tanh(x / 2))),
                [-1000.0, -3.0, 0.0, 2.0, 1000.0]),
    "relu": (Value.relu, lambda x: max(x, 0.0), lambda x: float(x > 0), lambda x: 0.0, [-1.0, 0.0, 2.5]),
    "sin": (Value.sin, math.sin, math.cos, lambda x: -math.sin(x), [-3.0, 0.0, 1.0, 1e6]),
    "cos": (Value.cos, math.cos, lambda x: -math.sin(x), lambda x: -math.cos(x), [-3.0, 0.0, 1.0, 1e6]),
    "softplus": (Value.softplus, lambda x: max(x, 0.0) + math.log1p(math.exp(-abs(x))),
                 lambda x: 0.5 * (1 + math.tanh(x / 2)),
                 lambda x: (lambda s: s * (1 - s))(0.5 * (1 + math.tanh(x / 2))), [-800.0, -3.0, 0.0, 2.0, 800.0]),
    "erf": (Value.erf, math.erf, lambda x: 2 / math.sqrt(math.pi) * math.exp(-x * x),
            lambda x: -4 * x / math.sqrt(math.pi) * math.exp(-x * x), [-3.0, 0.0, 0.5, 10.0]),
    "erfc": (Value.erfc, math.erfc, lambda x: -2 / math.sqrt(math.pi) * math.exp(-x * x),
             lambda x: 4 * x / math.sqrt(math.pi) * math.exp(-x * x), [-10.0, -1.0, 0.0, 0.5, 5.0, 26.0]),
    "gelu": (Value.gelu, lambda x: x * 0.5 * math.erfc(-x / math.sqrt(2)),
             lambda x: 0.5 * math.erfc(-x / math.sqrt(2)) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi),
             lambda x: (2 - x * x) * math.exp(-x * x / 2) / math.sqrt(2 * math.pi), [-800.0, -2.0, 0.0, 1.0, 800.0]),
}

# op key -> (build from Values x, y, f, (df/dx, df/dy), points)
BINARY = {
    "add": (lambda x, y: x + y, lambda x, y: x + y, lambda x, y: (1.0, 1.0), [(1.0, 2.0), (-3.0, 0.0)]),
    "sub": (lambda x, y: x - y, lambda x, y: x - y, lambda x, y: (1.0, -1.0), [(1.0, 2.0), (-3.0, 0.0)]),
    "mul": (lambda x, y: x * y, lambda x, y: x * y, lambda x, y: (y, x), [(1.5, -2.0), (0.0, 4.0)]),
    "div": (lambda x, y: x / y, lambda x, y: x / y, lambda x, y: (1 / y, -x / y**2), [(1.0, 2.0), (-3.0, 1e-8)]),
    "pow": (lambda x, y: x ** y, lambda x, y: x ** y, lambda x, y: (y * x ** (y - 1), x**y * math.log(x)),
            [(2.0, 3.0), (0.5, -1.5), (3.0, 0.0)]),
    "leaky_relu": (lambda x, y: apply("leaky_relu", x, y), lambda x, y: x if x > 0 else y * x,
                   lambda x, y: (1.0, 0.0) if x > 0 else (y, x), [(2.0, 0.01), (-3.0, 0.2), (0.0, 0.1)]),
    "maximum": (maximum, max, lambda x, y: (1.0, 0.0) if x > y else (0.0, 1.0) if y > x else (0.5, 0.5),
                [(1.0, 2.0), (3.0, -1.0), (2.0, 2.0)]),
    "minimum": (minimum, min, lambda x, y: (1.0, 0.0) if x < y else (0.0, 1.0) if y < x else (0.5, 0.5),
                [(1.0, 2.0), (3.0, -1.0), (2.0, 2.0)]),
}


def close(a, b, rel=1e-12, abs_=1e-300):
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def test_every_rule_has_a_spec_here():
    """Each op in the rules table has hand-derived values in this file."""
    assert set(RULES) == set(UNARY) | set(BINARY)


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_value_and_first_derivative(op):
    """f(x) and f'(x) from backward() equal the hand-derived formulas, at the edges of the domain too."""
    build, f, df, _, points = UNARY[op]
    for p in points:
        x = Value(p)
        y = build(x)
        assert y.op == op and y.parents == (x,)
        y.backward()
        assert close(y.data, f(p)), (op, p)
        assert close(x.grad, df(p), rel=1e-9), (op, p, x.grad, df(p))


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_second_derivative(op):
    """grad(create_graph=True) gives a Value whose own gradient is f''(x)."""
    build, _, df, d2f, points = UNARY[op]
    for p in points:
        x = Value(p)
        (d1,) = grad(build(x), [x], create_graph=True)
        assert isinstance(d1, Value) and close(d1.data, df(p), rel=1e-9)
        (d2,) = grad(d1, [x])
        assert close(d2, d2f(p), rel=1e-7, abs_=1e-300), (op, p, d2, d2f(p))


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_value_and_gradients(op):
    """Value (x) Value, Value (x) number and number (x) Value give the same numbers and gradients."""
    build, f, df, points = BINARY[op]
    for px, py in points:
        x, y = Value(px), Value(py)
        out = build(x, y)
        out.backward()
        assert out.op == op and out.parents == (x, y)
        gx, gy = df(px, py)
        assert close(out.data, f(px, py)) and close(x.grad, gx) and close(y.grad, gy), (op, px, py)
        left, right = Value(px), Value(py)
        assert build(left, py).data == out.data and build(px, right).data == out.data
        (gl,) = grad(build(left, py), [left])
        (gr,) = grad(build(px, right), [right])
        assert close(gl, gx) and close(gr, gy)


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_second_derivatives(op):
    """Second derivatives of every binary op (the Hessian rows) are right."""
    build, *_ = BINARY[op]
    px, py, h = 1.3, 0.7, 1e-6
    x, y = Value(px), Value(py)
    dx, dy = grad(build(x, y), [x, y], create_graph=True)
    hess = [grad(d, [x, y]) for d in (dx, dy)]

    def first(a, b):
        a, b = Value(a), Value(b)
        return grad(build(a, b), [a, b])

    for i, (sx, sy) in enumerate([(h, 0.0), (0.0, h)]):
        plus, minus = first(px + sx, py + sy), first(px - sx, py - sy)
        for j in range(2):
            numeric = (plus[j] - minus[j]) / (2 * h)
            assert math.isclose(hess[j][i], numeric, rel_tol=1e-5, abs_tol=1e-7), (op, i, j)


def test_hand_derived_example_from_the_readme():
    """c = tanh(a*b + exp(a)) has the gradients worked out by hand."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + a.exp()).tanh()
    c.backward()
    t = math.tanh(-6 + math.exp(2))
    assert close(a.grad, (1 - t * t) * (-3 + math.exp(2)))
    assert close(b.grad, (1 - t * t) * 2)


def test_non_smooth_conventions():
    """relu'(0) = 0 and abs'(0) = 0, as in PyTorch; sqrt'(0) and (x**0.5)'(0) are +inf."""
    for build in (Value.relu, abs):
        x = Value(0.0)
        build(x).backward()
        assert x.grad == 0.0
    for build in (Value.sqrt, lambda v: v ** 0.5):
        x = Value(0.0)
        build(x).backward()
        assert x.grad == math.inf
    x = Value(0.0)
    (x ** 0.0).backward()
    assert x.grad == 0.0


def test_pow_exponent_gradient_at_zero_base():
    """0 ** y for y > 0 is 0 around y, so d/dy is 0 (not nan)."""
    y = Value(2.0)
    (Value(0.0) ** y).backward()
    assert y.grad == 0.0


def test_reused_subexpressions_accumulate():
    """b = a + a; c = b + b gives dc/da = 4, and x * x gives 2x."""
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.data) == (4.0, 2.0, 12.0)
    x = Value(3.0)
    sq = x * x
    assert sq.parents == (x, x)
    sq.backward()
    assert x.grad == 6.0


def test_diamond_graph():
    """Two paths from x to the root add up."""
    x = Value(0.5)
    s, c = x.sin(), x.cos()
    out = s * c
    out.backward()
    assert close(x.grad, math.cos(2 * 0.5))


def test_backward_twice_doubles_leaves_but_not_interior_nodes():
    """Leaves accumulate across passes; interior nodes show the latest pass only."""
    x, y = Value(2.0), Value(5.0)
    mid = x * y
    out = mid.tanh()
    out.backward()
    first = (x.grad, y.grad, mid.grad, out.grad)
    out.backward()
    assert (x.grad, y.grad) == (2 * first[0], 2 * first[1])
    assert (mid.grad, out.grad) == first[2:]


def test_backward_with_a_seed_and_on_a_leaf():
    """backward(grad=g) scales every gradient by g; a leaf's own backward adds the seed."""
    x = Value(3.0)
    (x * x).backward(grad=0.5)
    assert x.grad == 3.0
    leaf = Value(1.0)
    leaf.backward()
    leaf.backward()
    assert leaf.grad == 2.0


def test_grad_leaves_dot_grad_alone_and_handles_unused_inputs():
    """grad() returns a tuple, touches no .grad, and gives 0 for unused inputs."""
    x, y, unused = Value(2.0), Value(3.0), Value(7.0)
    out = x * y + x
    assert grad(out, [x, y, unused]) == (4.0, 2.0, 0.0)
    assert (x.grad, y.grad, out.grad) == (0.0, 0.0, 0.0)
    gx, gu = grad(out, [x, unused], create_graph=True)
    assert isinstance(gu, Value) and gu.data == 0.0 and gx.data == 4.0
    assert grad(out, x) == (4.0,)


def test_third_derivative():
    """Gradients of gradients of gradients: d3/dx3 x**4 = 24 x."""
    x = Value(1.5)
    (d1,) = grad(x ** 4, [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    assert close(d3, 24 * 1.5)


def test_backward_equals_grad_on_a_mixed_graph():
    """backward() and grad() agree on a graph using every op."""
    x, y = Value(0.8), Value(1.7)
    out = ((x * y).sin() + (x / y).exp() - (y ** x).log() + abs(-x).sqrt() * (x - y).tanh()
           + (x + y).sigmoid() - (-y).relu() + x.cos() ** 2)
    expected = grad(out, [x, y])
    out.backward()
    assert (x.grad, y.grad) == expected


def test_long_chain_of_a_million_ops():
    """A 10^6-node chain builds, runs backward and is freed without recursion errors."""
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0 and y.data == 1_000_001.0
    ref = weakref.ref(y)
    del y
    assert ref() is None


def test_dropped_graph_is_freed_without_the_cycle_collector():
    """No reference cycles: with gc disabled a dropped graph (after backward) is freed at once."""
    gc.collect()
    gc.disable()
    try:
        x = Value(0.3)
        out = x
        for _ in range(50):
            out = (out * x + 1.0).tanh().sigmoid() ** 2
        grad(out, [x], create_graph=True)[0].backward()
        out.backward()
        refs = [weakref.ref(out)]
        node = out
        while node.parents:
            node = node.parents[0]
            refs.append(weakref.ref(node))
        del out, node
        assert all(r() is None for r in refs[:-1])
        assert refs[-1]() is x
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_no_grad_records_nothing_and_enable_grad_restores():
    """Inside no_grad results are leaves; enable_grad records again; both work as decorators."""
    x = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = x * 3.0
        with enable_grad():
            z = x * 3.0
    assert y.op == "" and y.parents == () and z.op == "mul"
    assert is_grad_enabled()

    @no_grad()
    def frozen(v):
        return v.exp()

    assert frozen(x).op == ""


def test_no_grad_and_enable_grad_on_generator_functions_hold_for_the_generators_whole_life():
    """As PyTorch: a decorated generator's body runs in the decorator's mode at every resumption
    (next, send, throw, close), and the caller's mode is untouched between them."""
    seen = []

    @no_grad()
    def frozen(n):
        try:
            for i in range(n):
                seen.append(is_grad_enabled())
                got = yield (Value(1.0) * 2.0).op
                seen.append((got, is_grad_enabled()))
        except KeyError:
            seen.append(("caught", is_grad_enabled()))
            yield "after"
        finally:
            seen.append(("closing", is_grad_enabled()))
        return "done"

    assert frozen.__name__ == "frozen"
    assert list(frozen(3)) == ["", "", ""] and is_grad_enabled()
    assert seen == [False, (None, False)] * 3 + [("closing", False)]
    seen.clear()
    gen = frozen(5)
    assert next(gen) == "" and is_grad_enabled() and gen.send(7) == ""
    assert gen.throw(KeyError("x")) == "after" and is_grad_enabled()
    gen.close()
    assert seen == [False, (7, False), False, ("caught", False), ("closing", False)] and is_grad_enabled()
    with pytest.raises(StopIteration) as stop:
        next(frozen(0))
    assert stop.value.value == "done"

    @enable_grad()
    def recording():
        for _ in range(2):
            yield is_grad_enabled(), (Value(1.0) * 2.0).op

    with no_grad():
        for pair in recording():
            assert pair == (True, "mul") and not is_grad_enabled()


def test_no_grad_is_per_thread():
    """no_grad in one thread leaves recording on in another (contextvars)."""
    seen = {}
    inside, done = threading.Event(), threading.Event()

    def worker():
        with no_grad():
            inside.set()
            done.wait(5)
            seen["worker"] = (Value(1.0) * 2).op

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    seen["main"] = (Value(1.0) * 2).op
    done.set()
    t.join()
    assert seen == {"main": "mul", "worker": ""}


def test_detach_makes_a_leaf():
    """detach() keeps data and label and cuts the gradient path."""
    x = Value(2.0, label="x")
    d = (x * x).detach()
    assert (d.data, d.op, d.parents) == (4.0, "", ())
    (d * x).backward()
    assert x.grad == 4.0


def test_value_attributes_and_repr():
    """A Value stores a float, has slots only, hashes by identity and has a readable repr."""
    v = Value(3, label="w")
    assert type(v.data) is float and v.grad == 0.0 and v.op == "" and v.parents == ()
    assert Value(True).data == 1.0
    assert not hasattr(v, "__dict__")
    assert v != Value(3) and len({v, Value(3)}) == 2
    out = v * 2
    assert repr(v) == "Value('w', data=3.0, grad=0.0)"
    assert repr(out) == "Value(data=6.0, grad=0.0, op='mul')"


@pytest.mark.parametrize("bad", ["a", None, 1 + 2j, [1.0], {}])
def test_value_rejects_non_numbers(bad):
    """Value(x) for anything but int/float/bool raises TypeError naming the type."""
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_operators_with_foreign_types_raise_type_error():
    """Value + "a" and friends give Python's clean TypeError."""
    x = Value(1.0)
    for bad in ("a", None, 1j, [1.0]):
        with pytest.raises(TypeError):
            x + bad
        with pytest.raises(TypeError):
            bad * x
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: Value(0.0).log(), ValueError, ["log", "0.0"]),
    (lambda: Value(-1.0).log(), ValueError, ["log", "-1.0"]),
    (lambda: Value(-1e-300).sqrt(), ValueError, ["sqrt", "-1e-300"]),
    (lambda: Value(1.0) / 0, ZeroDivisionError, ["div", "1.0"]),
    (lambda: 1.0 / Value(0.0), ZeroDivisionError, ["div"]),
    (lambda: Value(-8.0) ** (1 / 3), ValueError, ["pow", "-8.0"]),
    (lambda: Value(-2.0) ** Value(2.0), ValueError, ["pow", "-2.0"]),
    (lambda: (-2.0) ** Value(2.0), ValueError, ["pow", "-2.0"]),
    (lambda: Value(0.0) ** -1, ZeroDivisionError, ["pow", "-1.0"]),
    (lambda: Value(10.0) ** 400, OverflowError, ["pow", "400"]),
    (lambda: Value(710.0).exp(), OverflowError, ["exp", "710.0"]),
    (lambda: Value(math.inf).sin(), ValueError, ["sin", "inf"]),
    (lambda: Value(10 ** 400), OverflowError, ["Value"]),
])
def test_domain_errors_name_the_op_and_the_value(make, exc, words):
    """Domain errors are raised at forward time with the op and the offending number."""
    with pytest.raises(exc) as info:
        make()
    for w in words:
        assert w in str(info.value)


def test_negative_base_with_integer_constant_exponent_is_fine():
    """(-2) ** 3 is -8 with derivative 3 * 4 = 12."""
    x = Value(-2.0)
    y = x ** 3
    y.backward()
    assert (y.data, x.grad) == (-8.0, 12.0)


def test_sigmoid_and_tanh_are_finite_everywhere():
    """sigmoid and tanh give finite values and gradients at +-1000 and beyond."""
    for p in (-1e308, -1000.0, -50.0, 50.0, 1000.0, 1e308):
        for op in (Value.sigmoid, Value.tanh):
            x = Value(p)
            y = op(x)
            y.backward()
            assert math.isfinite(y.data) and math.isfinite(x.grad)


def test_bytes_per_node_is_small():
    """A recorded node costs under 200 bytes (tracemalloc over 10^4 nodes)."""
    import tracemalloc

    x = Value(0.5)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    out = x
    for _ in range(10_000):
        out = out * 1.0001 + 0.5
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert used / 20_000 < 200


def test_an_op_without_a_rule_fails_when_the_node_is_made(monkeypatch):
    """With mul's rule gone from the table, x * y raises at once, naming the op (and records again once it is back)."""
    rule = RULES["mul"]
    monkeypatch.delitem(RULES, "mul")
    with pytest.raises(NotImplementedError, match="mul: no derivative rule"):
        Value(2.0) * Value(3.0)
    assert (Value(2.0) + Value(3.0)).op == "add"  # only the op without a rule is refused
    RULES["mul"] = rule
    assert (Value(2.0) * Value(3.0)).op == "mul"


def test_second_derivative_of_pow_with_value_exponent_at_zero():
    """(x + 1) ** x has second derivative 2 at x = 0 (a y = 0 shortcut once lost it)."""
    x = Value(0.0)
    (d1,) = grad((x + 1.0) ** x, [x], create_graph=True)
    (d2,) = grad(d1, [x])
    assert d1.data == 0.0 and math.isclose(d2, 2.0)


def test_subclasses_are_refused_rather_than_cut_off_from_the_graph():
    """Mixing in a Value subclass raises TypeError instead of silently treating it as a constant."""
    class Mine(Value):
        __slots__ = ()

    with pytest.raises(TypeError, match="subclasses of Value are not supported"):
        Value(1.0) * Mine(2.0)


def test_a_value_is_a_number_where_python_asks_for_one():
    """float, int, item, format, f-strings and round use .data and record nothing; repr stays f"{v}"."""
    v = Value(-2.71828, label="v")
    assert float(v) == -2.71828 and type(float(v)) is float
    assert int(v) == -2 and type(int(v)) is int and v.item() == -2.71828 and type(v.item()) is float
    assert format(v, ".2f") == "-2.72" and f"{v:+.1e}" == "-2.7e+00" and f"{v}" == repr(v) == str(v)
    assert round(v, 2) == -2.72 and round(v) == -3 and type(round(v)) is int
    assert v.grad == 0.0 and v.op == "" and (v * 1.0).op == "mul"
    with pytest.raises(ValueError, match="NaN"):
        int(Value(math.nan))


def test_comparisons_compare_numbers_and_return_plain_bools():
    """< <= > >= against Values and numbers are bools, so max, min and sorted return the Values themselves."""
    a, b, c = Value(1.0, label="a"), Value(3.0, label="b"), Value(2.0, label="c")
    s = a * b
    results = [a < b, a <= 1, b > c, c >= 2.0, 0.5 < a, 4 > b, a > b, s >= 3, s < 3]
    assert results == [True, True, True, True, True, True, False, True, False]
    assert all(type(r) is bool for r in results)
    assert max([a, b, c]) is b and min(a, b, c) is a and sorted([b, s, c, a]) == [a, c, b, s]
    assert max(a, s) is s and s.parents == (a, b)  # the graph is intact: the winner is the node itself
    m = max([a, b, c], key=lambda v: v)
    m.backward()
    assert b.grad == 1.0
    np = pytest.importorskip("numpy")
    assert (a < np.float64(2.0)) is True and (a >= np.int64(1)) is True
    nan = Value(math.nan)
    assert not (nan < a or nan <= a or nan > a or nan >= a)
    for bad in ("1", None, [1.0], 1j):
        with pytest.raises(TypeError):
            a < bad


def test_bool_is_nonzero_and_equality_stays_identity():
    """bool(v) is v.data != 0; == is identity and Values hash by identity, so equal numbers stay distinct keys."""
    assert not Value(0.0) and not Value(-0.0) and Value(1e-300) and Value(math.nan) and Value(-2.0)
    a, b = Value(1.0), Value(1.0)
    assert a == a and a != b and not (a == 1.0) and len({a, b}) == 2 and {a: 1}.get(b) is None
    assert hash(a) == object.__hash__(a)


def test_value_stays_lean():
    """Value keeps __slots__ (no __dict__) and no __eq__ of its own."""
    v = Value(1.0)
    assert not hasattr(v, "__dict__") and "__eq__" not in Value.__dict__ and Value.__hash__ is object.__hash__


def test_a_leaf_grad_set_to_a_non_number_is_named_and_nothing_changes():
    """backward() (and trace's explain and steps) on a leaf whose .grad was set by hand to text names the leaf and
    the text, and leaves every other leaf's .grad as it was; an int .grad is taken as its number."""
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    x.grad, y.grad = 0.5, "abc"
    with pytest.raises(TypeError, match=r"backward: the \.grad of leaf 'y'.*str 'abc'"):
        (x * y).backward()
    assert x.grad == 0.5 and y.grad == "abc"
    from autograd import trace
    for tool, call in (("explain", lambda: trace.explain(x * y)), ("steps", lambda: list(trace.steps(x * y)))):
        with pytest.raises(TypeError, match=rf"{tool}: the \.grad of leaf 'y'.*str 'abc'"):
            call()
    y.grad = 1
    (x * y).backward()
    assert x.grad == 3.5 and y.grad == 3.0 and type(y.grad) is float


@pytest.mark.parametrize("call, where", [
    (lambda: Value(1.0).leaky_relu(math.nan), r"leaky_relu: slope must be a number, got nan"),
    (lambda: Value(-1.0).leaky_relu(Value(math.nan)), r"leaky_relu: slope must be a number, got nan"),
    (lambda: Value(1.0).tanh().backward(grad=math.nan), r"backward\(grad=...\): expected a number, got nan"),
    (lambda: next(trace.steps(Value(1.0).tanh(), grad=math.nan)), r"steps\(grad=...\): expected a number, got nan"),
    (lambda: trace.explain(Value(1.0).tanh(), grad=math.nan), r"explain\(grad=...\): expected a number, got nan"),
])
def test_a_nan_slope_or_seed_is_refused_naming_it(call, where):
    """A NaN where a number steers every result (leaky_relu's slope, a backward seed) is a ValueError naming it."""
    with pytest.raises(ValueError, match=f"^{where}"):
        call()
