"""Stepping through backprop: steps, explain, tape, why, NaN origins, pictures, the stepper page,
the command line and a real pdb session."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from autograd import Value, trace
from autograd.graph import operands, toposort
from autograd.__main__ import main as cli
from demos.step_through import build as example  # the README's c = tanh(a*b + exp(a))

ROOT = Path(__file__).resolve().parent.parent


def reused():
    x = Value(3.0, label="x")
    y = x * x + x
    return x, y


def test_steps_leave_exactly_what_backward_leaves():
    """Running steps() to the end gives the same gradients as backward(), including on a second pass."""
    a, b, c = example()
    c.backward()
    c.backward()
    expected = (a.grad, b.grad, c.grad)
    a2, b2, c2 = example()
    for _ in range(2):
        list(trace.steps(c2))
    assert (a2.grad, b2.grad, c2.grad) == expected


def test_steps_record_each_edge_with_before_and_after():
    """Each step names the rule, upstream gradient, local derivative and the parent's gradient change."""
    x, y = reused()
    recorded = list(trace.steps(y))
    assert [s.rule for s in recorded] == ["add_backward", "add_backward", "mul_backward", "mul_backward"]
    muls = recorded[2:]
    assert [(s.local, s.contribution) for s in muls] == [(3.0, 3.0), (3.0, 3.0)]
    assert muls[0].before == 1.0 and muls[0].after == 4.0 and muls[1].after == 7.0 == x.grad
    assert all(s.contribution == s.upstream * s.local for s in recorded)


def test_steps_can_pause_between_chain_rule_applications():
    """After one step only that contribution has been applied."""
    a, b, c = example()
    it = trace.steps(c)
    first = next(it)
    assert first.node is c and c.grad == 1.0 and a.grad == 0.0
    rest = list(it)
    assert rest[-1].number == 6 and a.grad != 0.0


def test_explain_shows_numbers_and_sums_for_reused_nodes():
    """explain lists 'p.grad += n.grad * dn/dp = g * d = c' lines and each reused node's sum."""
    a, b, c = example()
    text = trace.explain(c)
    assert "b.grad += n2.grad * dn2/db = 0.2204 * 2.0000 = 0.4408   [mul_backward]" in text
    x, y = reused()
    text = trace.explain(y)
    assert "x.grad = 1.0000 + 3.0000 + 3.0000 = 7.0000" in text
    assert trace.explain(Value(1.0)).endswith("(no steps: the root is a leaf, or its gradient is 0)")


def test_explain_after_backward_explains_that_pass_and_notes_only_accumulated_passes():
    """After one backward, a reused leaf's sum is its .grad with no note; after two, the note gives what .grad holds."""
    a, b, c = example()
    c.backward()
    line = [t for t in trace.explain(c).splitlines() if t.strip().startswith("a.grad =")]
    assert line == ["      a.grad = 1.6284 + -0.6611 = 0.9672"]
    c.backward()
    assert "a.grad = 1.6284 + -0.6611 = 0.9672 (this pass; a.grad holds 1.9345: a leaf adds up its passes)" \
        in trace.explain(c)


def test_tape_is_a_deterministic_golden_listing():
    """tape() gives one stable line per node in topological order."""
    a, b, c = example()
    c.backward()
    assert trace.tape(c) == (
        "n0 = leaf          # 2.0000   grad 0.9672  [a]\n"
        "n1 = leaf          # -3.0000   grad 0.4408  [b]\n"
        "n2 = mul(n0, n1)   # 2.0000 * -3.0000 = -6.0000   grad 0.2204\n"
        "n3 = exp(n0)       # exp(2.0000) = 7.3891   grad 0.2204\n"
        "n4 = add(n2, n3)   # -6.0000 + 7.3891 = 1.3891   grad 0.2204\n"
        "n5 = tanh(n4)      # tanh(1.3891) = 0.8830   grad 1.0000  [c]")
    x = Value(2.0)
    assert trace.tape(2 - x).splitlines()[1].startswith("n1 = sub(2.0, n0)   # 2.0000 - 2.0000 = 0.0000")


def test_why_paths_multiply_local_derivatives_and_sum_to_the_gradient():
    """The products along every path from root to x sum to d root/d x."""
    a, b, c = example()
    text = trace.why(a, c)
    c.backward()
    assert "sum over 2 paths" in text
    total = float(re.search(r"sum over 2 paths = (\S+)", text).group(1))
    assert math.isclose(total, a.grad, rel_tol=1e-4)
    x, y = reused()
    assert "sum over 3 paths = 7.0000" in trace.why(x, y)
    assert "not in the graph" in trace.why(Value(1.0, label="z"), y)


def test_paths_say_which_operand_each_edge_takes():
    """x * x has two paths to x, one through each operand, and each edge's operand holds its parent there."""
    x = Value(3.0, label="x")
    y = (x * x).tanh()
    found = trace.paths(x, y)
    assert sorted(q.operands for q in found) == [[0, 0], [0, 1]]
    for q in found:
        for node, parent, k in zip(q.nodes, q.nodes[1:], q.operands):
            assert operands(node)[k] is parent


def test_paths_within_a_sorted_graph_are_paths_and_run_each_rule_once(monkeypatch):
    """Asking about every leaf of one graph with its order and one shared cache gives trace.paths' paths, each node's
    rule having run once."""
    a, b, c = example()
    order = toposort(c)
    want = {leaf: trace.paths(leaf, c) for leaf in order if not leaf.op}
    calls = []
    real = trace.contributions
    monkeypatch.setattr(trace, "contributions", lambda node, g: calls.append(node) or real(node, g))
    local = {}
    for leaf, expected in want.items():
        got = trace.paths_within(order, leaf, c, 1000, local)
        assert [(q.nodes, q.factors, q.operands) for q in got] == [(q.nodes, q.factors, q.operands) for q in expected]
    assert len(calls) == len(set(calls)) == sum(1 for n in order if n.op)


def test_why_caps_exponentially_many_paths():
    """A graph with 2^30 paths stops at max_paths and says the sum is partial."""
    x = Value(1.0, label="x")
    y = x
    for _ in range(30):
        y = y + y
    assert "the sum is partial" in trace.why(x, y, max_paths=50)


def test_find_nonfinite_names_the_forward_origin():
    """The first node turning finite inputs into inf is named; later ones are marked propagated."""
    x = Value(1e200, label="x")
    big = x * x
    out = (big - big).tanh() + 1.0
    report = trace.find_nonfinite(out)
    assert report.stage == "forward" and report.node is big and report.node_index == 1
    assert "mul(1.0000e+200, 1.0000e+200) = inf" in str(report)
    assert report.propagated and "detect_anomaly" in str(report)
    assert trace.find_nonfinite(example()[2]) is None


def test_find_nonfinite_names_the_backward_origin():
    """sqrt at 0 has an infinite derivative: its rule is named as the backward origin."""
    x = Value(0.0, label="x")
    out = x.sqrt() * 3.0 + x
    report = trace.find_nonfinite(out)
    assert report.stage == "backward" and report.node.op == "sqrt"
    assert "sqrt_backward" in str(report) and "contribution to x is inf" in str(report)


def test_detect_anomaly_records_where_nodes_were_made_and_raises_at_the_first_bad_op():
    """Under detect_anomaly the origin carries file and line; an op making inf raises right there."""
    x = Value(0.0, label="x")
    with trace.detect_anomaly():
        out = x.sqrt() * 2.0  # line recorded below
    report = trace.find_nonfinite(out)
    assert report.origin[0] == __file__ and "test_trace.py" in str(report)
    y = Value(1e200)
    with pytest.raises(FloatingPointError, match=r"mul\(1e\+200, 1e\+200\) = inf at .*test_trace.py:\d+"):
        with trace.detect_anomaly():
            y * y


def test_render_steps_draws_one_picture_per_step(tmp_path):
    """render_steps writes one valid image per chain-rule step and leaves every .grad as it was."""
    pytest.importorskip("graphviz")
    a, b, c = example()
    paths = trace.render_steps(c, tmp_path, fmt="svg")
    assert [p.name for p in paths] == [f"step_{i:03d}.svg" for i in range(1, 7)]
    first, last = paths[0].read_text(), paths[-1].read_text()
    assert "#fdba74" in first and first != last
    assert "step 1: n4.grad += c.grad * dc/dn4 = 1.0000 * 0.2204 = 0.2204" in first
    assert "grad 0.9672" in last and a.grad == 0.0


def test_render_steps_pictures_explain_their_highlight_colours(tmp_path):
    """Each step picture's key says what its orange, yellow and green nodes are, next to the step's caption."""
    pytest.importorskip("graphviz")
    paths = trace.render_steps(example()[2], tmp_path, fmt="svg")
    first, second = paths[0].read_text(), paths[1].read_text()
    assert "its rule runs in this step" in first and "receives this step&#39;s contribution" in first
    assert "its rule has run" not in first and "its rule has run" in second  # only colours drawn
    assert "step 1: n4.grad" in first  # (the key's tooltip is not checked: dot 2.43 drops it without a link)


def run_cli(*args):
    out = subprocess.run([sys.executable, "-m", "autograd", *args], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    return out.returncode, out.stdout, out.stderr


def test_cli_prints_value_gradients_and_explanation():
    """chainrule "x*y + tanh(x)" x=0.5 y=-2 prints the value, gradients and, with --explain, the table."""
    code, out, err = run_cli("x*y + tanh(x)", "x=0.5", "y=-2", "--explain")
    assert code == 0 and err == ""
    assert f"value = {0.5 * -2 + math.tanh(0.5)!r}" in out
    assert f"d/dx = {-2 + 1 - math.tanh(0.5) ** 2!r}" in out and "d/dy = 0.5" in out
    assert "[tanh_backward]" in out


def test_cli_version_is_the_distribution_version():
    """chainrule --version prints the version pyproject.toml declares and exits 0."""
    declared = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert run_cli("--version") == (0, f"chainrule {declared}\n", "")


def test_cli_writes_picture_and_stepper(tmp_path):
    """--render and --html write their files."""
    pytest.importorskip("graphviz")
    code, out, err = run_cli("x*x + 1", "x=2", "--render", str(tmp_path / "g.svg"), "--html", str(tmp_path / "p.html"))
    assert code == 0, err
    assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml") and (tmp_path / "p.html").exists()
    assert "d/dx = 4.0" in out


@pytest.mark.parametrize("args, words", [
    (["(x"], "syntax error at column"),
    (["x * z", "x=1"], "unknown name 'z'"),
    (["x", "x=abc"], "not a number"),
    (["x", "x"], "name=number"),
    (["x", "x=nan"], "finite"),
    (["log(x)", "x=-1"], "log: undefined for x <= 0"),
    (["1/x", "x=0"], "div: division by zero"),
    (["x ^ 2", "x=1"], "use ** for powers"),
    (["__import__('os').system('true')"], "only these functions"),
    (["x.data", "x=1"], "Attribute is not allowed"),
    (["'a'"], "only numbers"),
    (["exp(x, x)", "x=1"], "takes 1 argument"),
    (["x" + "+x" * 1500, "x=1"], "too long"),
    (["exp(" * 80 + "x" + ")" * 80, "x=0"], "too deeply nested"),
    (["(" * 300 + "x" + ")" * 300, "x=1"], "syntax error"),
    (["x", "x=1", "--bogus"], "unknown option --bogus"),
    (["x", "x=1", "--render"], "expected one argument"),
    (["-" * 100 + "x", "x=1"], "too deeply nested"),
    (["exp(x)", "x=1000"], "exp: overflow"),
    ([""], "empty expression"),
])
def test_cli_bad_input_is_one_line_and_exit_2(args, words, capsys):
    """Every bad input gives one line on stderr and exit status 2, never a traceback."""
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("chainrule: error: ") and words in err, err


AUDITED: list = []
WATCH = {"exec", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "open", "socket.connect"}
sys.addaudithook(lambda event, args: AUDITED.append(event) if AUDITED and event in WATCH else None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40) | st.sampled_from(["__import__('os').system('true')", "open('x', 'w')",
                                                "exec('1')", "eval('x')", "(lambda: 1)()", "[].__class__"]))
def test_cli_fuzz_never_tracebacks_or_executes(text):
    """Arbitrary text is evaluated as an expression or rejected in one line; no code, file or
    process is run or opened on its behalf (checked with an audit hook)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    import autograd.trace  # noqa: F401  (imported ahead, so importing it is not counted)

    err, out = io.StringIO(), io.StringIO()
    AUDITED[:] = ["watching"]
    try:
        with redirect_stderr(err), redirect_stdout(out):
            code = cli([text, "x=0.5", "y=2"])
    finally:
        events, AUDITED[:] = AUDITED[1:], []
    assert events == [], events
    assert code in (0, 2)
    if code == 2:
        assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("chainrule: error:")


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[xy0-9.+\-*/() ]{1,30}|(exp|log|sin|relu)\([xy0-9.+\-*]{1,10}\)", fullmatch=True))
def test_cli_fuzz_grammar_like_text(text):
    """Text close to the grammar is evaluated or rejected cleanly (exit 0 or 2)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stderr(io.StringIO()), redirect_stdout(io.StringIO()):
        assert cli([text, "x=0.5", "y=2"]) in (0, 2)


def test_chainrule_console_script_is_installed():
    """The 'chainrule' command exists next to the interpreter (pip install -e . puts it there)."""
    script = Path(sys.executable).parent / "chainrule"
    if not script.exists():
        pytest.skip("chainrule is not installed in this environment")
    out = subprocess.run([str(script), "x*3", "x=2"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "d/dx = 3.0" in out.stdout


def test_pdb_stops_in_the_named_rule(tmp_path):
    """python -m pdb with 'break autograd.rules.mul_backward' stops there, shows its args, and finishes."""
    commands = "\n".join(["import autograd.rules", "break autograd.rules.mul_backward", "continue", "args",
                          "clear", "y", "continue", ""])
    done = subprocess.run([sys.executable, "-m", "pdb", "demos/step_through.py", "--out", str(tmp_path)], input=commands,
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    out = done.stdout
    assert "Breakpoint 1 at" in out and "rules.py" in out
    assert "mul_backward()" in out and "x = 2.0" in out and "y = -3.0" in out
    # the first stop is inside c.backward(), so g is the true upstream gradient, 1 - tanh(1.3891)**2
    assert out.index("g = 0.2203762544") < out.index("x = 2.0")
    assert "a.grad = 0.967244, b.grad = 0.440753" in out


def test_pdb_stops_once_in_backward_and_once_per_inspecting_tool(tmp_path):
    """On the README's graph (one multiply) a breakpoint on mul_backward stops 4 times, as the walkthrough
    says: once in c.backward() with the true upstream gradient, then once each in explain, why and the
    page, with g = 1.0."""
    commands = "\n".join(["import autograd.rules", "break autograd.rules.mul_backward"]
                         + ["continue", "p g"] * 4 + ["continue", ""])
    done = subprocess.run([sys.executable, "-m", "pdb", "demos/step_through.py", "--out", str(tmp_path)], input=commands,
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    stops = re.findall(r"mul_backward\(\)\n-> return g \* y, g \* x\n\(Pdb\) (\S+)", done.stdout)
    assert len(stops) == 4 and stops[0].startswith("0.2203762") and stops[1:] == ["1.0"] * 3, done.stdout[-3000:]
    assert "(open it in a browser)" in done.stdout  # and the script ran to its end


def test_readme_walkthrough_shows_mul_backwards_real_line():
    """The README's pdb session names the line of rules.py where mul_backward stops."""
    import inspect

    from autograd import rules

    lines, start = inspect.getsourcelines(rules.mul_backward)
    line = start + next(k for k, text in enumerate(lines) if text.strip().startswith("return"))
    shown = re.search(r"rules\.py\((\d+)\)mul_backward\(\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert shown and int(shown.group(1)) == line


def test_step_by_step_views_refuse_big_graphs_with_advice_that_applies():
    """to_html and render_steps refuse a 1,200-node graph, saying how big it is and what to do instead."""
    pytest.importorskip("graphviz")
    from autograd.viz import GraphTooLarge

    big = sum(Value(float(i)) * i for i in range(400))
    for call in (lambda: trace.to_html(big, ROOT / "never.html"), lambda: trace.render_steps(big, ROOT / "never")):
        with pytest.raises(GraphTooLarge) as info:
            call()
        message = str(info.value)
        assert "1,200 nodes" in message and "max_nodes" in message and "collapse" not in message
    assert not (ROOT / "never.html").exists() and not (ROOT / "never").exists()


def test_render_steps_to_gif_is_one_small_looping_animation(tmp_path):
    """A .gif path gives one animated image with a frame per chain-rule step, under 1 MB for the
    README's example, the last frame held longest, and every .grad left as it was."""
    Image = pytest.importorskip("PIL.Image")
    pytest.importorskip("graphviz")
    a, b, c = example()
    (path,) = trace.render_steps(c, tmp_path / "steps.gif")
    assert path == tmp_path / "steps.gif" and path.stat().st_size < 1_000_000
    with Image.open(path) as im:
        durations = []
        for k in range(im.n_frames):
            im.seek(k)
            durations.append(im.info["duration"])
        assert im.n_frames == 6 and im.info.get("loop") == 0
    assert durations[-1] > durations[0]
    assert a.grad == b.grad == c.grad == 0.0
    assert list(tmp_path.iterdir()) == [path], "no frames or temporary files left beside it"


def test_render_steps_refuses_too_many_steps_before_drawing_any(tmp_path):
    """render_steps over max_steps raises before it writes a single picture (no half-written folder)."""
    x = Value(0.5, "x")
    y = x
    for _ in range(6):
        y = y * x  # 12 steps
    with pytest.raises(ValueError, match="max_steps=5"):
        trace.render_steps(y, tmp_path / "steps", fmt="dot", max_steps=5)
    assert not (tmp_path / "steps").exists() or not any((tmp_path / "steps").iterdir())


def test_a_negative_number_is_bracketed_beside_an_operator_not_inside_a_call():
    """Formulas with numbers read tanh(-2.0000) and 2.0000 * (-3.0000), never tanh((-2.0000))."""
    from autograd.trace import node_formula
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    t, m = b.tanh(), a * b
    names = trace.node_names([a, b, t, m])
    assert node_formula(t, names, numbers=True) == "tanh(-3.0000)"
    assert node_formula(m, names, numbers=True) == "2.0000 * (-3.0000)"
    from autograd.stepper import describe_steps
    text = json.dumps(describe_steps(t, lr=0.1), ensure_ascii=False)  # the page's forward and forward-again steps
    assert "tanh(-3.0000)" in text and "((" not in text


def test_text_tools_print_a_label_with_a_lone_surrogate():
    """explain, tape and why show a lone surrogate in a label as its escape, so their text encodes as UTF-8
    (print raised UnicodeEncodeError), and other non-ASCII labels stay as typed."""
    x = Value(2.0, label="größe\ud800")
    y = (x * x).tanh()
    for text in (trace.explain(y), trace.tape(y), trace.why(x, y), trace.why(Value(1.0), y)):
        text.encode("utf-8")
        assert "größe\\ud800" in text or "is not in the graph" in text


def test_a_file_name_whose_suffix_contradicts_what_is_written_is_refused_naming_it(tmp_path):
    """render_steps writes a folder (or one .gif) and to_html an .html/.htm page: another suffix is a ValueError naming it, and nothing is written."""
    import nn

    c = example()[2]
    with pytest.raises(ValueError, match=r"^render_steps: out_dir '.*steps.txt' ends in .txt, but render_steps writes "
                                         r"a folder of pictures there \(step_001.png, ...\); name a folder without a "
                                         r"suffix, or end it in .gif for one animated image$"):
        trace.render_steps(c, tmp_path / "steps.txt")
    for write in (lambda p: trace.to_html(c, p), lambda p: trace.stepper(c).save(p)):
        for name in ("x.svg", "x"):
            ends = "ends in .svg" if name.endswith(".svg") else "has no suffix"
            with pytest.raises(ValueError, match=rf"^(to_html|Stepper.save): the page is HTML, so its file name must "
                                                 rf"end in .html or .htm; '.*{name}' {ends}$"):
                write(tmp_path / name)
    X, y = [[0.1, 0.2]], [1]
    model = nn.MLP(2, [1], seed=0)
    rec = nn.Recorder(model, train=(X, y))
    rec.record(0, 0.5)
    with pytest.raises(ValueError, match=r"^Recorder.to_html: the page is HTML, so its file name must end in .html"):
        rec.to_html(tmp_path / "replay.json")
    assert not any(tmp_path.iterdir())
    (tmp_path / "run.1").mkdir()  # a folder that is there already is used whatever its name
    assert len(trace.render_steps(c, tmp_path / "run.1", fmt="dot")) == 6
    for name in ("v1.2", "steps.d"):  # a dotted folder name that names no file format is made, as before
        assert len(trace.render_steps(c, tmp_path / "new" / name, fmt="dot")) == 6
    assert trace.to_html(c, tmp_path / "page.HTM").exists()
