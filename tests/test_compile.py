"""The compiled path: same numbers as the eager engine, readable source, clear errors."""

import math
import warnings
import weakref

import pytest
from hypothesis import given, settings

import nn
from autograd import Value, grad, trace
from autograd.compile import compile_graph
from autograd.strategies import expressions
from nn.data import make_moons


def test_compiled_moons_step_equals_eager_step():
    """On a moons batch the compiled call returns the loss and adds the same gradients as backward()."""
    X, y = make_moons(30, seed=0)
    model = nn.MLP(2, [6, 6, 1], seed=0)
    params = model.parameters()
    loss = nn.hinge_loss([model(x) for x in X], y) + 1e-4 * sum(p * p for p in params)
    step = compile_graph(loss, params)
    model.zero_grad()
    loss.backward()
    eager = [p.grad for p in params]
    model.zero_grad()
    assert step() == loss.data
    assert all(math.isclose(p.grad, e, rel_tol=1e-12, abs_tol=1e-15) for p, e in zip(params, eager))
    for p in params:  # a new step with new weights matches a freshly recorded graph
        p.data -= 0.5 * p.grad
        p.grad = 0.0
    value = step()
    fresh = nn.hinge_loss([model(x) for x in X], y) + 1e-4 * sum(p * p for p in params)
    assert math.isclose(value, fresh.data, rel_tol=1e-12)
    expected = grad(fresh, params)
    assert all(math.isclose(p.grad, e, rel_tol=1e-12, abs_tol=1e-15) for p, e in zip(params, expected))


@settings(deadline=None)
@given(expressions())
def test_compiled_random_graphs_equal_eager(expr):
    """For random graphs with reused nodes, compiled value and gradients equal backward()'s."""
    inputs = expr.inputs
    out = expr.fn(*inputs)
    out.backward()
    eager = [x.grad for x in inputs]
    for x in inputs:
        x.grad = 0.0
    step = compile_graph(out, inputs)
    assert step() == out.data
    assert [x.grad for x in inputs] == eager


@settings(deadline=None)
@given(expressions(ops=["mul", "add", "tanh", "relu", "pow", "log", "maximum"]))
def test_graphs_split_into_many_functions_equal_eager(expr):
    """Split into functions of a few statements (as a graph past CHUNK is), the step still equals backward()."""
    from autograd import compile as compiled

    inputs = expr.inputs
    out = expr.fn(*inputs)
    out = out * out + out.tanh() * inputs[0]  # reused nodes whose gradients gather across functions
    out.backward()
    eager = [x.grad for x in inputs]
    for x in inputs:
        x.grad = 0.0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled, "CHUNK", 6)
        patch.setattr(compiled, "SMALL_CHUNK", 3)
        step = compile_graph(out, inputs)
    assert step() == out.data
    assert [x.grad for x in inputs] == eager
    assert step.source.count("def step(") > 2


def test_errors_in_a_later_function_name_their_node(monkeypatch):
    """When the step is split into functions, a domain error still names the node that failed."""
    from autograd import compile as compiled

    monkeypatch.setattr(compiled, "CHUNK", 4)
    monkeypatch.setattr(compiled, "SMALL_CHUNK", 2)
    x = Value(2.0, label="x")
    step = compile_graph(((x * 3.0 + 1.0) * 2.0 - 10.0).log() * x, [x])
    assert step.source.count("def step(") > 3 and "_s['v" in step.source
    assert math.isclose(step(), math.log(4.0) * 2.0) and math.isclose(x.grad, math.log(4.0) + 2.0 * 6.0 / 4.0)
    x.data = 1.0
    with pytest.raises(ValueError, match=r"log: undefined for x <= 0, got x = -2.0 \(compiled graph, node n5\)"):
        step()


def test_calls_accumulate_and_read_current_data():
    """Each call adds into .grad (like backward) and reads the inputs' current .data."""
    x, w = Value(2.0, label="x"), Value(3.0, label="w")
    step = compile_graph((x * w).tanh(), [w])
    step()
    first = w.grad
    step()
    assert w.grad == 2 * first and x.grad == 0.0
    w.data = 0.0
    assert step() == 0.0
    x.data = 100.0  # x is not an input: baked in at compile time
    assert step() == 0.0 and math.isclose(w.grad - 2 * first, 4.0)


def test_source_is_readable_one_line_per_node():
    """.source names every node and op, and constants appear as literals."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + a.exp()).tanh() * 0.5
    source = compile_graph(c, [a, b]).source
    assert "v2 = v0 * v1  # n2 mul" in source and "# n5 tanh" in source and "* 0.5  # n6 mul" in source
    assert source.startswith("def step(_inputs, _feeds):") and source.endswith("return v6, (g0, g1)\n")


def test_domain_errors_at_call_time_name_the_op_and_node():
    """A call that leaves an op's domain raises the engine's error for that op, with the node."""
    x = Value(2.0, label="x")
    step = compile_graph(x.log() * 3.0, [x])
    x.data = -1.0
    with pytest.raises(ValueError, match=r"log: undefined for x <= 0, got x = -1.0 \(compiled graph, node n1\)"):
        step()
    y = Value(1.0)
    div = compile_graph(1.0 / y, [y])
    y.data = 0.0
    with pytest.raises(ZeroDivisionError, match="div: division by zero.*node n1"):
        div()


def test_the_compiled_step_does_not_keep_the_recorded_graph_alive():
    """Dropping the graph after compiling frees it by reference counting; the step still runs and explains errors."""
    x, c = Value(2.0, label="x"), Value(3.0, label="c")  # c is not an input: baked in
    out = (x * c).log() + x
    probe = weakref.ref(out)
    step = compile_graph(out, [x])
    del out
    assert probe() is None
    assert step() == math.log(6.0) + 2.0
    x.data = -1.0
    with pytest.raises(ValueError, match=r"log: undefined for x <= 0, got x = -3.0 \(compiled graph, node n3\)"):
        step()


def test_bad_inputs_and_unknown_ops_are_clear_errors():
    """Inputs that are not leaves, non-Values and unknown ops are refused when compiling."""
    x = Value(1.0, label="x")
    mid = x * 2
    with pytest.raises(ValueError, match=r"inputs\[0\] \(unlabelled\) is not a leaf but the result of 'mul'"):
        compile_graph(mid + 1, [mid])
    with pytest.raises(TypeError, match=r"inputs\[0\]"):
        compile_graph(mid, [1.0])
    odd = x * 3
    odd.op = "frobnicate"
    with pytest.raises(ValueError, match="node n1 uses op 'frobnicate'"):
        compile_graph(odd + 1, [x])


def test_deep_graphs_work_in_every_tool_without_recursion():
    """Chains of 10^5 nodes go through tape, find_nonfinite, explain, the render guard and compile."""
    pytest.importorskip("graphviz")
    from autograd.viz import GraphTooLarge, to_dot

    x = Value(0.5, label="x")
    y = x
    for _ in range(50_000):
        y = y * 1.0 + 0.0
    assert trace.tape(y).count("\n") == 100_000
    assert trace.find_nonfinite(y) is None
    assert "x.grad += " in trace.explain(y)
    with pytest.raises(GraphTooLarge, match="100,001 nodes"):
        to_dot(y)
    x.grad = 0.0
    chain = x
    for _ in range(10_000):
        chain = chain * 1.0 + 0.0
    compile_graph(chain, [x])()
    assert x.grad == 1.0


def test_benchmark_prints_the_table(capsys):
    """The benchmark command runs (quick mode) and prints ratios, chain scaling, bytes per node, picture times and
    the microgpt rows (the demo's 4,192 parameters, what each step includes, the optimizer's share)."""
    from demos import benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert benchmark.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "eager" in out and "compiled" in out and "floats" in out and "x the hand-written float step" in out
    assert "ns/node" in out and "bytes per recorded node" in out
    assert "4,192 parameters" in out and "zero_grad, forward, backward, Adam" in out and "Adam.step alone" in out
    assert "faster than the local-gradient Value" in out and "repaid after" in out
    assert "SVG of x + x + ... + x" in out or "pictures: skipped" in out


def test_an_input_listed_twice_gets_its_gradient_once():
    """compile_graph(x * x, [x, x]) adds 2x to x.grad once, as backward() does (inputs count once)."""
    x = Value(1.5, label="x")
    step = compile_graph(x * x, [x, x])
    assert step() == 2.25 and x.grad == 3.0
    y = Value(0.5)
    both = compile_graph(x * y + y, [y, x, y, x], feeds=[])
    x.grad = 0.0
    both()
    assert (x.grad, y.grad) == (0.5, 2.5)
    assert "2 inputs" in repr(both)


def test_feeds_listed_twice_are_read_once_and_a_feed_cannot_be_an_input():
    """A feed listed twice is read like one; a leaf that is both a feed and an input is refused, naming it."""
    w, f = Value(2.0), Value(3.0, label="f")
    step = compile_graph(w * f, [w], feeds=[f, f])
    f.data = 4.0
    assert step() == 8.0 and w.grad == 4.0
    with pytest.raises(ValueError, match=r"feeds\[1\] \(f\) is also inputs\[1\] \(f\)"):
        compile_graph(w * f, [w, f], feeds=[Value(1.0), f])


def test_numpy_scalars_in_inputs_and_feeds_become_floats_like_value_makes_them():
    """np.float32 and np.int64 data are read as the float Value() would store: float results, no wrap-around."""
    np = pytest.importorskip("numpy")
    w, f = Value(1.0, label="w"), Value(1.0, label="f")
    step = compile_graph(w * f * f, [w], feeds=[f])
    f.data = np.int64(2 ** 32)
    w.data = np.float32(0.1)
    value = step()
    assert type(value) is float and value == Value(np.float32(0.1)).data * 2.0 ** 64
    assert type(w.grad) is float and w.grad == 2.0 ** 64
    assert type(w.data) is float and w.data == float(np.float32(0.1))


@pytest.mark.parametrize("where,bad,words", [
    ("feeds", None, r"feeds\[0\] \(f\)\.data: expected an int, float or bool, got NoneType None"),
    ("feeds", "1.5", r"feeds\[0\] \(f\)\.data: expected an int, float or bool, got str '1.5'"),
    ("inputs", [1.0], r"inputs\[1\] \(unlabelled\)\.data: expected an int, float or bool, got list \[1.0\]"),
])
def test_a_leaf_whose_data_is_not_a_number_is_named(where, bad, words):
    """A feed or input whose .data is None, text or a list fails naming which leaf and the value."""
    w, v, f = Value(1.0, label="w"), Value(2.0), Value(3.0, label="f")
    step = compile_graph(w * v * f, [w, v], feeds=[f])
    (f if where == "feeds" else v).data = bad
    with pytest.raises(TypeError, match=words):
        step()
    assert w.grad == 0.0


def _lookup(x: float) -> float:
    return {1.0: 10.0}[x]


def _picky_rule(g, x, out):
    if x > 1.0:
        raise KeyError(x)
    return (g * 10.0,)


@pytest.mark.parametrize("forward,rule,words", [
    (_lookup, lambda g, x, out: (g * 10.0,), r"picky_c: forward raised KeyError at x = 2\.0: 2\.0"),
    (lambda x: 10.0 * x, _picky_rule, r"picky_c_backward raised KeyError at x = 2\.0.*: 2\.0"),
], ids=["forward", "rule"])
def test_a_user_op_failing_inside_a_compiled_step_names_the_op_the_input_and_the_node(forward, rule, words):
    """A KeyError (or any error) from a user's forward or rule in a compiled step names the op (or its
    rule), the input and the node, and adds no gradient."""
    from autograd import define_op
    from autograd.ops import OPS, RULES

    picky = define_op("picky_c", forward, rule)
    try:
        x = Value(1.0, label="x")
        step = compile_graph(picky(x) * 2.0, [x])
        assert step() == 20.0 and x.grad == 20.0
        x.data = 2.0
        with pytest.raises(Exception, match=words + r" \(compiled graph, node n1\)"):
            step()
        assert x.grad == 20.0
    finally:
        del OPS["picky_c"], RULES["picky_c"]


def test_binding_other_leaves_at_call_time_equals_backward_on_them():
    """A step compiled on stand-in leaves and called with other leaves in their places returns the
    value of the graph built on those leaves and adds exactly backward()'s gradients into them."""
    def f(x, y, w):
        return (x * w + y).tanh() * w + (x * y).exp()

    a, b, w = Value(0.3), Value(-0.2), Value(0.7)
    step = compile_graph(f(a, b, w), [w, a, b])
    for xv, yv in ((0.5, 1.5), (-1.25, 0.25)):
        x, y = Value(xv), Value(yv)
        twin_x, twin_y, twin_w = Value(xv), Value(yv), Value(w.data)
        expected = f(twin_x, twin_y, twin_w)
        expected.backward()
        w.grad = 0.0
        assert step(inputs=[w, x, y]) == expected.data
        assert (x.grad, y.grad, w.grad) == (twin_x.grad, twin_y.grad, twin_w.grad)
        assert a.grad == b.grad == 0.0, "the stand-ins are not touched"


def test_one_leaf_bound_to_two_places_gets_both_contributions():
    """Binding one Value to two compiled places gives it the sum, as backward gives a Value used twice."""
    a, b = Value(0.0), Value(0.0)
    step = compile_graph(a * b + a.sin(), [a, b])
    x, twin = Value(1.3), Value(1.3)
    step(inputs=[x, x])
    (twin * twin + twin.sin()).backward()
    assert x.grad == twin.grad


def test_binding_refuses_what_does_not_fit_the_compiled_places():
    """A wrong count, a non-leaf or a non-Value given at call time is an error naming the place."""
    a, b, f = Value(1.0), Value(2.0), Value(3.0)
    step = compile_graph(a * b * f, [a, b], feeds=[f])
    with pytest.raises(ValueError, match=r"inputs= has 1 Values, but the graph was compiled with 2 inputs"):
        step(inputs=[a])
    with pytest.raises(ValueError, match=r"inputs\[1\] must be a leaf Value.*the result of 'mul'"):
        step(inputs=[a, a * b])
    with pytest.raises(ValueError, match=r"feeds\[0\] must be a leaf Value.*float 2.0"):
        step(feeds=[2.0])
    with pytest.raises(TypeError, match=r"feeds= must be a sequence"):
        step(feeds=f)
    bound = Value(0.0)
    bound.data = "seven"
    with pytest.raises(TypeError, match=r"inputs\[0\]"):
        step(inputs=[bound, b])
    assert a.grad == b.grad == 0.0
