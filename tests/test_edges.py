"""One gradient on every path, at the edges: zero times infinity, NaN, tiny and huge numbers, threads."""

import math
import os
import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings, strategies as st

from autograd import Value, backward, define_op, grad, no_grad, trace
from autograd import compile as compiled
from autograd.compile import compile_graph
from autograd.forward import derivative
from autograd.graph import toposort
from autograd.ops import OPS, RULES

NAN, INF = math.nan, math.inf


def same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def five_paths(build, xs: list, picks=None) -> list:
    """The gradients of build(*leaves) at xs by backward, grad, grad(create_graph), compile_graph
    (whole, and split into functions of two statements) and trace.steps, for the leaves listed in
    ``picks`` (indices, repeats allowed; default: each leaf once)."""
    picks = range(len(xs)) if picks is None else picks
    results = []

    def fresh():
        leaves = [Value(x) for x in xs]
        return build(*leaves), [leaves[k] for k in picks]

    out, inputs = fresh()
    out.backward()
    results.append([v.grad for v in inputs])
    out, inputs = fresh()
    results.append(list(grad(out, inputs)))
    out, inputs = fresh()
    results.append([g.data for g in grad(out, inputs, create_graph=True)])
    out, inputs = fresh()
    compile_graph(out, inputs)()
    results.append([v.grad for v in inputs])
    out, inputs = fresh()
    with pytest.MonkeyPatch.context() as patch:  # chunked, as a graph of 250,000 statements is
        patch.setattr(compiled, "CHUNK", 4)
        patch.setattr(compiled, "SMALL_CHUNK", 2)
        step = compile_graph(out, inputs)
    step()
    results.append([v.grad for v in inputs])
    out, inputs = fresh()
    for _ in trace.steps(out):
        pass
    results.append([v.grad for v in inputs])
    return results


EDGE_CASES = [
    ("(x - 5).relu() * x.sqrt() at 0", lambda x: (x - 5).relu() * x.sqrt(), [0.0]),
    ("x + 0 * sqrt(x) at 0", lambda x: x + 0.0 * x.sqrt(), [0.0]),
    ("x ** -1 at 1e-200", lambda x: x ** -1, [1e-200]),
    ("x ** 0 at 5e-324", lambda x: x ** 0, [5e-324]),
    ("0 / y at 5e-324", lambda y: 0 / y, [5e-324]),
    ("x ** 0 at nan", lambda x: x ** 0, [NAN]),
    ("relu(nan)", lambda x: x.relu() * 2, [NAN]),
    ("abs(nan)", lambda x: abs(x), [NAN]),
    ("x * y at 1e300, 1e300", lambda x, y: x * y, [1e300, 1e300]),
    ("sqrt at 0 times 0", lambda x: x.sqrt() * 0.0, [0.0]),
]


@pytest.mark.parametrize("name,build,xs", EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_every_gradient_path_agrees_at_the_edges(name, build, xs):
    """backward, grad, grad(create_graph), compile_graph and trace.steps give the same numbers."""
    first, *others = five_paths(build, xs)
    for other in others:
        assert all(same(a, b) for a, b in zip(first, other)), (name, first, others)


def test_the_chosen_numbers_at_the_edges():
    """Zero upstream contributes 0, pow and div edges give numbers, NaN propagates (README: Semantics)."""
    assert five_paths(lambda x: (x - 5).relu() * x.sqrt(), [0.0])[0] == [0.0]
    assert five_paths(lambda x: x ** -1, [1e-200])[0] == [-INF]
    assert five_paths(lambda x: x ** 0, [5e-324])[0] == [0.0]
    assert five_paths(lambda y: 0 / y, [5e-324])[0] == [0.0]
    assert five_paths(lambda x: x ** 0, [NAN])[0] == [0.0]  # as PyTorch: a zero exponent contributes 0
    assert math.isnan(Value(NAN).relu().data)
    assert math.isnan(five_paths(lambda x: x.relu(), [NAN])[0][0])
    assert math.isnan(five_paths(lambda x: abs(x), [NAN])[0][0])
    assert all(math.isnan(g) for path in five_paths(lambda x, y: x ** y, [0.0, NAN]) for g in path)
    assert all(p == [0.0, 0.0] for p in five_paths(lambda x, y: x ** y, [0.0, 2.0]))  # as PyTorch: 0 ** y, y >= 0: d/dy 0
    assert math.isnan(derivative(lambda y: 0.0 ** y, NAN)) and derivative(lambda y: 0.0 ** y, 2.0) == 0.0


def test_second_derivatives_at_the_edge_of_the_domain_are_minus_infinity():
    """sqrt''(0) and (x ** 0.5)''(0) are -inf, as PyTorch gives, not 0."""
    for build in (lambda x: x.sqrt(), lambda x: x ** 0.5):
        x = Value(0.0)
        (d,) = grad(build(x), [x], create_graph=True)
        assert d.data == INF and grad(d, [x]) == (-INF,)


def test_two_backward_passes_give_exactly_twice_one():
    """A leaf's gradient after two passes is exactly twice one pass, bit for bit."""
    x = Value(0.1)
    y = x
    for k in range(200):
        y = y * 1.0000001 + x * (0.3 + k * 1e-3)
    y.backward()
    once = x.grad
    y.backward()
    assert x.grad == 2 * once


ATOMS = st.sampled_from([0.0, 1e-300, 1e300, -2.5, 0.7, 3.0, NAN, -4.75, 6.5, -30.0])
USER: dict = {}  # user ops with hostile names: Python folds 'ｅxp' into exp and 'ﬁx' into fix, g0 and
# t1 are names of the compiled step's locals; t1's rule calls ｅxp, so it returns a Value on float passes


@pytest.fixture(scope="module")
def user_ops():
    definitions = {
        "ｅxp": (lambda x: 2.0 * x, lambda g, x, out: (2.0 * g,)),
        "ﬁx": (lambda x: x / (1.0 + abs(x)), lambda g, x, out: (g / (1.0 + abs(x)) / (1.0 + abs(x)),)),
        "g0": (lambda x, y: x * y + x, lambda g, x, y, out: (g * (y + 1.0), g * x)),
        "t1": (lambda x: x * x, lambda g, x, out: (g * USER["ｅxp"](x),)),
    }
    USER.update({name: define_op(name, f, rule) for name, (f, rule) in definitions.items()})
    yield USER
    for name in definitions:
        USER.pop(name)
        OPS.pop(name)
        RULES.pop(name)


@st.composite
def edge_graphs(draw):
    """A random graph over 1 or 2 leaves that may sit at edge points (0, kinks, tiny, huge, large |x|,
    nan), and the leaves whose gradients are compared, a leaf possibly listed twice."""
    xs = [draw(ATOMS) for _ in range(draw(st.integers(1, 2)))]
    program = []
    for _ in range(draw(st.integers(1, 6))):
        program.append((draw(st.sampled_from(["add", "mul", "relu", "sqrt", "abs", "tanh", "pow0", "pow-1",
                                              "half", "div", "max", "gelu", "powv", "ｅxp", "ﬁx", "g0", "t1"])),
                        draw(st.integers(0, 10)), draw(st.integers(0, 10))))
    picks = draw(st.lists(st.integers(0, len(xs) - 1), min_size=1, max_size=3))
    return xs, program, picks


def run_program(program, leaves):
    nodes = list(leaves)
    for op, i, j in program:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        try:
            if op == "add":
                out = a + b
            elif op == "mul":
                out = a * b
            elif op == "relu":
                out = a.relu()
            elif op == "sqrt":
                out = abs(a).sqrt()
            elif op == "abs":
                out = abs(a)
            elif op == "tanh":
                out = a.tanh()
            elif op == "pow0":
                out = a ** 0
            elif op == "pow-1":
                out = a ** -1
            elif op == "half":
                out = abs(a) ** 0.5
            elif op == "div":
                out = a / b
            elif op == "gelu":
                out = a.gelu()
            elif op == "powv":
                out = abs(a) ** b
            elif op in USER:
                out = USER[op](a, b) if OPS[op].arity == 2 else USER[op](a)
            else:
                from autograd import maximum
                out = maximum(a, b)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        nodes.append(out)
    return nodes[-1] * 1.0


@settings(deadline=None)
@given(edge_graphs())
def test_five_paths_agree_on_random_graphs_with_edge_points(user_ops, case):
    """On random graphs at 0, kinks, 1e-300, 1e300, large |x| and nan, with a leaf asked for twice and
    user ops named to trap generated code, all five gradient paths give the same numbers, to the last bit."""
    xs, program, picks = case
    built = []

    def build(*leaves):
        out = run_program(program, leaves)
        built.append(out)
        return out

    first, *others = five_paths(build, xs, picks)
    assert len({len(toposort(b)) for b in built}) == 1  # the same graph each time
    for other in others:
        assert all(same(a, b) for a, b in zip(first, other)), (xs, program, picks, first, others)


def test_inspection_tools_leave_every_grad_as_they_found_it(tmp_path):
    """explain, tape, why, find_nonfinite, formula, to_dot, render_steps and to_html change no .grad."""
    pytest.importorskip("graphviz")
    from autograd import viz

    x1, x2 = Value(2.0, label="x1"), Value(-1.5, label="x2")
    o = (x1 * x2 + x1.tanh()) * x2
    o.backward()
    before = [n.grad for n in toposort(o)]
    trace.explain(o)
    trace.tape(o)
    trace.why(x1, o)
    trace.find_nonfinite(o)
    trace.formula(o)
    viz.to_dot(o, edge_derivatives=True)
    viz.render(o, tmp_path / "g.dot")
    trace.render_steps(o, tmp_path / "steps", fmt="svg")
    trace.to_html(o, tmp_path / "p.html")
    assert [n.grad for n in toposort(o)] == before


def test_threads_sharing_a_parameter_lose_no_gradient():
    """Eight threads running backward into one shared leaf add exactly every pass."""
    w = Value(0.5)

    def work():
        for _ in range(200):
            (w * 2.0 + w * w).backward()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert w.grad == pytest.approx(8 * 200 * 3.0, rel=0, abs=1e-6)


def test_one_no_grad_object_shared_by_threads_works_per_thread():
    """Several threads entering one no_grad() object record nothing inside and recording comes back after."""
    shared = no_grad()
    errors, barrier = [], threading.Barrier(6)

    def work():
        try:
            barrier.wait()
            for _ in range(200):
                with shared:
                    assert (Value(1.0) * 2).op == ""
            assert (Value(1.0) * 2).op == "mul"
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and (Value(1.0) * 2).op == "mul"


def test_strategies_import_on_their_own_before_hypothesis():
    """`import autograd.strategies` in a fresh interpreter works although hypothesis loads chainrule's plugin."""
    done = subprocess.run([sys.executable, "-c", "import autograd.strategies, hypothesis.strategies as st;"
                           "from autograd import Value; print(st.from_type(Value).example().__class__.__name__)"],
                          capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0 and done.stdout.strip() == "Value", done.stderr


def test_why_on_a_long_chain_lists_its_one_path():
    """why on a 20,000-node chain gives one path whose product is the gradient (each path costs its length)."""
    x = Value(1.0, label="x")
    y = x
    for _ in range(10_000):
        y = y * 1.0 + 0.0
    (path,) = trace.paths(x, y)
    assert len(path.nodes) == 20_001 and path.product == 1.0
    assert "sum over 1 path" in trace.why(x, y)


def test_backward_rejects_bad_seeds_and_keeps_leaves_on_a_failed_pass():
    """A rule that raises leaves every leaf's gradient as it was before the pass."""
    from autograd import define_op

    boom = define_op("boom_edges", lambda x: x, lambda g, x, out: (1.0, 2.0))
    try:
        x = Value(1.0)
        x.grad = 5.0
        with pytest.raises(ValueError, match="boom_edges_backward must return a tuple of 1 contribution"):
            backward(boom(x) * 2.0)
        assert x.grad == 5.0
    finally:
        from autograd.ops import OPS, RULES
        del OPS["boom_edges"], RULES["boom_edges"]


def test_threads_stepping_through_passes_into_one_shared_leaf_lose_nothing():
    """Eight threads each running trace.steps(w * 1.0 + w) to the end add every pass to the shared w."""
    w = Value(0.5)
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        for _ in range(300):
            list(trace.steps(w * 1.0 + w))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert w.grad == 8 * 300 * 2.0


def test_a_paused_or_abandoned_steps_generator_blocks_no_other_thread():
    """A steps() generator paused after one step, then dropped, leaves other threads' backward free and
    its own contributions applied; each step's before and after are the leaf's real gradients."""
    w = Value(0.5)
    paused = trace.steps(w * 3.0 + w)
    next(paused)
    first = next(paused)  # add -> w
    assert (first.parent, first.before, first.after, w.grad) == (w, 0.0, 1.0, 1.0)
    done = threading.Event()
    threading.Thread(target=lambda: ((w * 2.0).backward(), done.set())).start()
    assert done.wait(timeout=60)
    assert w.grad == 3.0
    second = next(paused)
    assert (second.parent, second.before, second.after, w.grad) == (w, 3.0, 6.0, 6.0)
    del paused
    (w * 1.0).backward()
    assert w.grad == 7.0
