"""The stepper page: its step data (one source with trace.explain), the formula printer, finite
differences, the file it writes, and the page itself in a headless Chromium."""

import fnmatch
import html
import json
import math
import re
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import nn
from autograd import Value, grad, rules, trace
from autograd.engine import apply, contributions
from autograd.graph import toposort
from autograd.ops import OPS, fmt
from autograd.stepper import (describe_steps, filled, finite_differences, formula, local_formula,
                              page_data, stepper)
from autograd.strategies import expressions
from demos.step_through import build as example  # the README's c = tanh(a*b + exp(a))
from demos.benchmark import reused_leaf_chain  # x + x + ... + x

ROOT = Path(__file__).resolve().parent.parent
TANH_FORMULA = "d tanh(u)/du = 1 - tanh(u)^2 = 1 - 0.8830^2 = 0.2204"


def network_loss():
    model = nn.MLP(1, [4, 4, 1], seed=0)
    loss = nn.mse_loss(model([0.5]), [1.0])
    loss.label = "loss"
    return loss


def snapshot(root):
    return [(v.data, v.grad) for v in toposort(root)]


def test_page_leaves_every_grad_and_data_exactly_alone(tmp_path):
    """After backward(), writing the page (twice, with an update) changes no .grad or .data in the graph."""
    pytest.importorskip("graphviz")
    for root in (example()[2], network_loss()):
        root.backward()
        before = snapshot(root)
        trace.to_html(root, tmp_path / "p.html", lr=0.1)
        trace.stepper(root, lr=0.5).save(tmp_path / "q.html")
        assert snapshot(root) == before


def test_step_lines_are_explains_lines():
    """Every backward step's line is the line trace.explain prints for that edge, in the same order."""
    a, b, c = example()
    lines = [s["line"] for s in describe_steps(c) if s["kind"] == "backward"]
    explained = [line[6:] for line in trace.explain(example()[2]).splitlines()[1:7]]
    assert lines == explained


def test_steps_cover_forward_seed_backward_and_update_with_numbers():
    """The steps give the forward values, the tanh formula with numbers, the running sum and the update."""
    a, b, c = example()
    steps = describe_steps(c, lr=0.1)
    assert [s["kind"] for s in steps] == (["forward"] * 4 + ["seed"] + ["backward"] * 6 + ["update"] * 2
                                          + ["reforward"] * 4)
    assert steps[0]["line"] == "n2 = a * b = 2.0000 * (-3.0000) = -6.0000"
    assert steps[5]["lines"][0] == TANH_FORMULA
    assert steps[9]["lines"][3].startswith("a.grad = 1.6284 + -0.6611 = 0.9672")
    assert steps[11]["line"] == "a <- a - lr * dc/da = 2.0000 - 0.1000 * 0.9672 = 1.9033"
    c.backward()
    assert steps[9]["quiz"]["after"] == a.grad and steps[10]["quiz"]["after"] == b.grad
    assert all(s["quiz"]["contribution"] == s["quiz"]["upstream"] * s["quiz"]["local"]
               for s in steps if s["kind"] == "backward")


def test_after_the_update_the_forward_pass_runs_again_on_the_new_values():
    """With lr, the steps after the updates recompute every node from the new leaves, and the
    output's line shows its old and new value, which moved against the gradient's direction."""
    a, b, c = example()
    steps = describe_steps(c, lr=0.1)
    again = [s for s in steps if s["kind"] == "reforward"]
    a2, b2, c2 = example()
    a2.data, b2.data = 2.0 - 0.1 * 0.9672443, -3.0 - 0.1 * 0.4407525
    c2 = (a2 * b2 + a2.exp()).tanh()
    assert float(again[-1]["set_data"]) == pytest.approx(c2.data, abs=1e-4)
    assert again[-1]["lines"][-1].startswith(f"c: 0.8830 -> {c2.data:.4f}")
    assert "(was 0.8830)" in again[-1]["line"] and c2.data < c.data


def test_an_update_that_leaves_an_ops_domain_says_so_where_it_fails():
    """When the update takes x below 0, log's step says the engine's error, a node that does not need it
    is still recomputed, and the output says which node failed."""
    x, y = Value(0.5, "x"), Value(1.5, "y")
    loss = x.log() + y * y
    steps = describe_steps(loss, lr=1.0)  # x <- 0.5 - 1.0 * 2.0 = -1.5, y <- 1.5 - 1.0 * 3.0 = -1.5
    again = {s["title"].split(": ")[1]: s for s in steps if s["kind"] == "reforward"}
    names = trace.node_names(toposort(loss))
    log, square = (names[n] for n in toposort(loss) if n.op in ("log", "mul"))
    assert again[log]["lines"] == [f"{log}: log: undefined for x <= 0, got x = -1.5",
                                   "The learning rate took a step too far for this op."]
    assert again[square]["line"] == f"{square} = y * y = (-1.5000) * (-1.5000) = 2.2500   (was 2.2500)"
    assert again[names[loss]]["line"] == (f"{names[loss]}: not computed, {log} failed: log: undefined for x <= 0, "
                                          "got x = -1.5") and again[log]["set_data"] == "error"


def _evaluate_formula_text(text: str) -> float:
    """The last expression of 'd ... = symbolic = numeric' as a number, in Python."""
    numeric = text.split(" = ")[-1 if text.count(" = ") < 3 else -2]
    numeric = numeric.replace("^", "**")
    names = {"log": math.log, "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "exp": math.exp,
             "sign": lambda x: math.copysign(1.0, x) if x else 0.0, "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
             "Phi": lambda x: 0.5 * math.erfc(-x / math.sqrt(2)),
             "phi": lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)}
    return eval(numeric, {"__builtins__": {}}, names)  # our own template text, not user input


def test_every_op_has_a_derivative_text_whose_numbers_give_the_rule():
    """Each op of the table has a formula template, and its numbers substituted evaluate to the rule's value."""
    builtin = {k: op for k, op in OPS.items() if op.builtin}
    assert all(op.local for op in builtin.values()), [k for k, op in builtin.items() if not op.local]
    for op, spec in builtin.items():
        xs = [Value(x, f"x{k}") for k, x in enumerate(spec.sample())]
        node = apply(op, *xs)
        for k, _, d in contributions(node, 1.0):
            text = local_formula(node, k, d)
            assert text.startswith(spec.local[0]), text
            if spec.local[1][k][1]:  # a numeric template: it must evaluate to the rule's number
                assert math.isclose(_evaluate_formula_text(text), d, rel_tol=1e-3, abs_tol=1e-4), (op, k, text)


def test_an_op_without_a_template_gets_the_generic_formula(tmp_path):
    """A user-registered op without a template reads 'd op(u)/du = <number>' and the page still builds."""
    pytest.importorskip("graphviz")
    from autograd import define_op
    from autograd.ops import OPS

    def cube_backward(g, x, out):
        """d x^3 = 3 x^2 g"""
        return (g * 3.0 * x * x,)

    cube = define_op("cube_page", lambda x: x ** 3, cube_backward)
    try:
        x = Value(2.0, label="x")
        y = cube(x) * 1.0
        back = [s for s in describe_steps(y) if s["kind"] == "backward"]
        assert back[1]["lines"][0] == "d cube_page(u)/du = 12.0000"
        assert math.isclose(finite_differences(y)[x], 12.0, rel_tol=1e-5)
        trace.to_html(y, tmp_path / "p.html")
    finally:
        del rules.RULES["cube_page"], OPS["cube_page"]


def test_formula_prints_precedence_like_python():
    """formula() puts parentheses exactly where Python needs them."""
    x, y, z = Value(1.0, "x"), Value(2.0, "y"), Value(3.0, "z")
    assert formula((x + y) * z) == "(x + y) * z"
    assert formula(x - (y - z)) == "x - (y - z)"
    assert formula((x - y) - z) == "x - y - z"
    assert formula((x ** y) ** z) == "(x ** y) ** z"
    assert formula(x ** (y ** z)) == "x ** y ** z"
    assert formula((-x) ** 2) == "(-x) ** 2" and formula(-(x ** 2)) == "-x ** 2"
    assert formula(2 - x / (y * z)) == "2 - x / (y * z)"
    assert formula(example()[2]) == "tanh(a * b + exp(a))"
    assert formula(network_loss()) == "(L3.N1 - 1) ** 2 * 1"


PY = {"exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
      "relu": lambda v: max(v, 0.0), "sigmoid": lambda v: 1 / (1 + math.exp(-v))}


@settings(max_examples=60, deadline=None)
@given(expressions())
def test_formula_evaluates_back_to_the_value(expr):
    """Evaluating formula(root) as Python, names bound to their nodes' numbers, gives root.data."""
    root = expr.fn(*expr.inputs)
    if not root.op:
        return
    order = toposort(root)
    names = {node.label or f"n{i}": node.data for i, node in enumerate(order)}
    functions = {op.fn_name: op.forward for op in OPS.values() if not op.symbol}
    value = eval(formula(root), {"__builtins__": {}, **functions}, names)  # our printer's output
    assert math.isclose(value, root.data, rel_tol=1e-9, abs_tol=1e-12)


def test_finite_differences_agree_with_backprop_and_leave_values():
    """Central differences match backward's gradients on the network, and no Value changes."""
    loss = network_loss()
    before = snapshot(loss)
    fd = finite_differences(loss)
    assert snapshot(loss) == before
    loss.backward()
    for leaf, estimate in fd.items():
        assert math.isclose(estimate, leaf.grad, rel_tol=1e-4, abs_tol=1e-7), leaf.label


def test_page_is_one_safe_file_with_hostile_labels(tmp_path):
    """Labels that look like markup or template fields stay text; the page loads nothing from outside."""
    pytest.importorskip("graphviz")
    x = Value(1.5, label="</script><script>alert(1)</script>")
    y = Value(2.0, label="{{js}} {{data}} & <b>")
    page = trace.to_html((x * y).tanh(), tmp_path / "p.html").read_text()
    assert "<script>alert(1)" not in page and page.count("</script>") == 3 and page.count("<script") == 3
    assert page.count('"use strict"') == 2 and "{{" not in page.split("stepper-data")[0]
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert "@import" not in page and "url(" not in page
    data = json.loads(re.search(r'<script id="stepper-data" type="application/json">(.*?)</script>', page, re.S)[1])
    assert data["nodes"][0]["label"] == "</script><script>alert(1)</script>"


def test_stepper_shows_inline_and_saves_the_same_page(tmp_path):
    """stepper(root) renders as an iframe holding the page, and save() writes that page."""
    pytest.importorskip("graphviz")
    s = stepper(example()[2], lr=0.1)
    inline = s._repr_html_()
    assert inline.startswith("<iframe srcdoc=\"") and "<script" not in inline
    assert html.unescape(inline.split('srcdoc="')[1].split('" title=')[0]) == s.html
    assert s.save(tmp_path / "s.html").read_text() == s.html


def test_assets_are_package_data():
    """The page's assets exist in the package and pyproject's package-data ships each of them."""
    assets = {p.name for p in resources.files("autograd").joinpath("assets").iterdir()}
    assert {"stepper.html", "stepper.css", "stepper.js"} <= assets
    line = re.search(r"^autograd = \[(.*)\]$", (ROOT / "pyproject.toml").read_text(), re.M)[1]
    patterns = re.findall(r'"([^"]+)"', line)
    for name in assets:
        assert any(fnmatch.fnmatch(f"assets/{name}", p) for p in patterns), name


def page_json(path) -> dict:
    """The data a written page holds."""
    return json.loads(re.search(r'<script id="stepper-data" type="application/json">(.*?)</script>',
                                Path(path).read_text(), re.S)[1])


def run_cli(*args):
    out = subprocess.run([sys.executable, "-m", "autograd", *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
    return out.returncode, out.stdout, out.stderr


def test_cli_lr_puts_the_update_and_the_typed_expression_in_the_page(tmp_path):
    """--html with --lr writes a page with update steps and the expression as typed; --lr alone is refused."""
    pytest.importorskip("graphviz")
    code, out, err = run_cli("x*y + tanh(x)", "x=0.5", "y=-2", "--html", str(tmp_path / "p.html"), "--lr", "0.1")
    assert code == 0, err
    data = page_json(tmp_path / "p.html")
    names = [n["name"] for n in data["nodes"]]
    lines = [filled(s, data["numbers"], names)["line"] for s in data["steps"] if s["kind"] == "update"]
    assert data["expression"] == "x*y + tanh(x)" and "x <- x - lr * dn4/dx = 0.5000 - 0.1000 * (-1.2136) = 0.6214" in lines
    code, out, err = run_cli("x*y", "x=1", "y=2", "--lr", "0.1")
    assert code == 2 and "--html" in err and err.count("\n") == 1


@pytest.mark.parametrize("lr", [0.0, -0.1, math.inf, math.nan, True, "0.1"])
def test_a_learning_rate_that_is_not_a_positive_number_is_refused(lr):
    """page_data (and so to_html) refuses an lr that is not a positive finite number, naming it."""
    with pytest.raises(ValueError, match=r"to_html: lr must be a positive number .*got"):
        page_data(Value(2.0) * 3.0, lr=lr, pictures=False)


def test_big_graphs_are_refused_but_a_network_fits():
    """A 1,200-node graph is refused with advice; the 4-4-1 network's page data is built, a step for every
    edge (103, those behind a relu that is off too: the page's steps must not depend on the numbers)."""
    pytest.importorskip("graphviz")
    from autograd.viz import GraphTooLarge

    with pytest.raises(GraphTooLarge, match="1,200 nodes.*max_nodes"):
        page_data(sum(Value(float(i)) * i for i in range(400)))
    data = page_data(network_loss(), lr=0.1, pictures=False)
    assert len(data["groups"]) == 9 and len(data["steps"]) == 59 + 1 + 103 + 33 + 59


def test_page_pictures_leave_the_key_to_the_page():
    """The page's SVGs carry no viz key (the page has its own legend), which names the weight edge colours."""
    pytest.importorskip("graphviz")
    data = page_data(network_loss(), lr=0.1)
    for svg in data["svg"].values():
        assert "key to this picture" not in svg and "output (the root)" not in svg and "its weight" not in svg
    assert data["weights"] == {"positive": "#2563eb", "negative": "#dc2626"}
    assert page_data(example()[2], pictures=False)["weights"] is None


# ---------------------------------------------------------------------------- in a browser

@pytest.fixture
def open_page(browser):
    """Opens a page file at 1400x900; afterwards, asserts no console errors and no request left the file."""
    opened = []

    def open_(path, **goto):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.errors, page.outside = [], []
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))

        def route(r):
            if r.request.url.startswith(("file:", "data:", "about:")):
                r.continue_()
            else:
                page.outside.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(Path(path).as_uri(), **goto)
        page.wait_for_function("document.body.dataset.ready === '1'")
        opened.append(page)
        return page

    yield open_
    for page in opened:
        assert page.errors == [] and page.outside == []
        page.close()


STATE = """() => JSON.stringify({
  texts: [...document.querySelectorAll('#graph svg text')].map(t => t.textContent + '|' + t.classList.value),
  classes: [...document.querySelectorAll('#graph g.node, #graph g.edge')].map(g => g.classList.value),
  table: [...document.querySelectorAll('#nodes tr')].map(r => r.className + '|' + r.textContent),
  panel: document.getElementById('step').innerText, live: document.getElementById('live').textContent,
  step: document.body.dataset.step})"""


def row_index(page, name):
    """The position of node ``name`` in the page's table (its n<i> id)."""
    return page.evaluate("name => [...document.querySelectorAll('#nodes tbody tr')].findIndex(r => r.cells[0].textContent === name)", name)


def grad_text(page, node_id):
    return page.evaluate("id => [...document.querySelectorAll('#graph g.node')].find(g => g.querySelector('title')"
                         ".textContent === id).querySelectorAll('text')[2].textContent", node_id)


def test_browser_stepping_forward_and_back_restores_the_same_state(tmp_path, open_page):
    """Any run of steps forward then the same number back (keys and buttons) shows exactly the earlier state."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html", lr=0.1))
    states = [page.evaluate(STATE)]
    for key in ["n", "ArrowRight", " ", "n", "j", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n", "n"]:
        page.keyboard.press(key)
        states.append(page.evaluate(STATE))
    assert page.evaluate("document.body.dataset.kind") == "summary" and len(set(states)) == len(states)
    for k in range(len(states) - 2, -1, -1):
        page.keyboard.press("p" if k % 2 else "ArrowLeft")
        assert page.evaluate(STATE) == states[k]
    page.keyboard.press("End")
    assert page.evaluate(STATE) == states[-1]
    page.keyboard.press("Home")
    assert page.evaluate(STATE) == states[0]
    page.click("#next")
    page.click("#next")
    page.click("#prev")
    assert page.evaluate(STATE) == states[1]


def test_browser_space_is_the_next_step_whatever_has_the_focus(tmp_path, open_page):
    """Space goes one step forward after clicking prev or a checkbox, instead of pressing that control again."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html", lr=0.1))
    for _ in range(3):
        page.keyboard.press("n")
    page.click("#prev")
    assert page.evaluate("document.body.dataset.step") == "2"
    page.keyboard.press(" ")
    assert page.evaluate("document.body.dataset.step") == "3"
    page.click("#follow")  # unchecks it, and keeps the focus
    page.keyboard.press(" ")
    assert page.evaluate("document.body.dataset.step") == "4" and not page.is_checked("#follow")


def test_browser_forward_values_appear_node_by_node(tmp_path, open_page):
    """Before the forward step a node reads 'data ?' and is faded; after it, it shows its value."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html"))
    data_text = "id => [...document.querySelectorAll('#graph g.node')].find(g => g.querySelector('title')" \
                ".textContent === id).querySelectorAll('text')[1].textContent"
    assert page.evaluate(data_text, "n2") == "data ?" and page.locator("#graph g.node.pending").count() > 0
    page.keyboard.press("n")
    assert page.evaluate(data_text, "n2") == "data -6.0000" and page.evaluate(data_text, "n3") == "data ?"
    assert page.evaluate("document.body.dataset.current") == "n2"
    assert "n2 = a * b = 2.0000 * (-3.0000) = -6.0000" in page.inner_text("#step-lines")


def test_browser_tanh_step_shows_formula_product_and_highlights(tmp_path, open_page):
    """At the tanh step the panel shows the rule with numbers and the product; the edge and nodes are lit."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html"))
    assert grad_text(page, "n4") == "grad \u2013"
    for _ in range(6):
        page.keyboard.press("n")
    text = page.inner_text("#step-lines")
    assert TANH_FORMULA in text and "n4.grad += c.grad * dc/dn4 = 1.0000 * 0.2204 = 0.2204" in text
    assert page.eval_on_selector("#graph g.node.current title", "e => e.textContent") == "n5"
    assert page.eval_on_selector("#graph g.node.receiver title", "e => e.textContent") == "n4"
    assert page.eval_on_selector("#graph g.edge.active title", "e => e.textContent") == "n4->n5op"
    assert grad_text(page, "n4") == "grad 0.2204"
    assert TANH_FORMULA in page.text_content("#live")
    for _ in range(4):
        page.keyboard.press("n")
    assert "a.grad = 1.6284 + -0.6611 = 0.9672" in page.inner_text("#step-lines")


def quiz_verdict(page, local="", after=""):
    page.fill("#quiz-local", local)
    page.fill("#quiz-after", after)
    page.click("#quiz-check")
    return page.evaluate("document.getElementById('quiz-feedback').dataset.verdict")


def test_browser_quiz_hides_the_answer_and_names_each_mistake(tmp_path, open_page):
    """In quiz mode the step's numbers are hidden; right answers reveal them, and each known mistake is named."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html"))
    page.check("#quiz")
    for _ in range(10):  # to a.grad += n2.grad * dn2/da: upstream 0.2204, local -3, a.grad was 1.6284
        page.keyboard.press("n")
    assert page.evaluate("document.body.dataset.hidden") == "1"
    panel = page.inner_text("#step-lines")
    assert "-0.6611" not in panel and "0.9672" not in panel and grad_text(page, "n0") == "grad 1.6284"
    assert quiz_verdict(page, local="3") == "sign"
    assert quiz_verdict(page, local="-0.6611") == "product"
    assert quiz_verdict(page, local="0.2204") == "upstream"
    assert quiz_verdict(page, local="7") == "wrong"
    assert quiz_verdict(page, after="-0.6611") == "forgot-add"
    assert "forgot to add the earlier contribution" in page.inner_text("#quiz-feedback")
    assert quiz_verdict(page, after="-1.3716") == "forgot-multiply"
    assert quiz_verdict(page, after="-0.9672") == "sign"
    assert page.evaluate("document.body.dataset.hidden") == "1"
    assert quiz_verdict(page, local="-3", after="0.9672") == "right right"
    assert page.evaluate("document.body.dataset.hidden") == "0" and grad_text(page, "n0") == "grad 0.9672"
    page.keyboard.press("p")  # a.grad += n3.grad * dn3/da = 0.2204 * 7.3891, its first contribution
    assert quiz_verdict(page, local="7.3891", after="7.3891") == "right forgot-multiply"
    page.click("#quiz-reveal")
    assert page.evaluate("document.body.dataset.hidden") == "0" and "1.6284" in page.inner_text("#step-lines")


def test_browser_quiz_says_when_an_answer_is_not_a_number(tmp_path, open_page):
    """A quiz box holding text that is not a number is named as such and never counts as right."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html"))
    page.check("#quiz")
    for _ in range(10):  # a.grad += n2.grad * dn2/da: local -3, a.grad becomes 0.9672
        page.keyboard.press("n")
    assert quiz_verdict(page, local="abc", after="0.9672") == "not-a-number right"
    assert "'abc' is not a number" in page.inner_text("#quiz-feedback")
    assert page.evaluate("document.body.dataset.hidden") == "1"
    assert quiz_verdict(page, local="-3", after="0.9672x") == "right not-a-number"
    assert page.evaluate("document.body.dataset.hidden") == "1"


def test_browser_forward_pass_runs_again_after_the_update(tmp_path, open_page):
    """After the updates the page recomputes every node from the new values: until a node is recomputed its
    old value is grey (stale), afterwards it shows the new one, and the output's line gives old -> new; the
    gradients stay grey (they are of the pass before the update)."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html", lr=0.1))
    root = "n5"

    def cell(kind):
        return page.evaluate("([id, kind]) => { const t = [...[...document.querySelectorAll('#graph g.node')]"
                             ".find(g => g.querySelector('title').textContent === id).querySelectorAll('text')]"
                             ".find(t => t.textContent.startsWith(kind)); return [t.textContent, t.classList.value]; }",
                             [root, kind])

    page.keyboard.press("End")
    page.keyboard.press("p")  # the last step before the summary: the output recomputed
    assert "c: 0.8830 -> 0.7231" in page.inner_text("#step-lines")
    assert cell("data") == ["data 0.7231", "changed"] and "stale" in cell("grad")[1]
    page.keyboard.press("p")  # one step earlier: the output still holds the old pass's number, marked stale
    assert cell("data")[0] == "data 0.8830" and "stale" in cell("data")[1]
    assert "(was 1.3891)" in page.inner_text("#step-lines")


def test_browser_backward_edge_points_back_to_the_input(tmp_path, open_page):
    """On a backward step the edge the gradient flows along hides its forward arrowhead and gets one at its
    start, pointing into the input that receives the gradient."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html"))
    while page.evaluate("document.body.dataset.kind") != "backward":
        page.keyboard.press("n")
    tips = page.evaluate("""() => [...document.querySelectorAll('#graph g.edge.active')].map(e => {
        const start = e.querySelector('path').getPointAtLength(0), tip = e.querySelector('.back-tip');
        const pts = tip.getAttribute('points').split(' ')[0].split(',').map(Number);
        return [getComputedStyle(e.querySelector('polygon:not(.back-tip)')).display, getComputedStyle(tip).display,
                Math.hypot(pts[0] - start.x, pts[1] - start.y)]; })""")
    assert len(tips) == 1 and tips[0][:2] == ["none", "inline"] and tips[0][2] < 0.01


def test_browser_update_and_summary_with_finite_differences(tmp_path, open_page):
    """With lr the page ends with each leaf's update and a summary where finite differences agree."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html", lr=0.1))
    page.keyboard.press("End")
    rows = page.eval_on_selector_all("#summary tr", "rs => rs.map(r => r.innerText.split('\\t'))")
    assert rows[1][:5] == ["a", "2.0000", "0.9672", "0.9672", "agree"] and rows[1][5] == "1.9033"
    assert rows[2][4] == "agree"
    for _ in range(5):  # back over the forward pass on the new values, to the last update
        page.keyboard.press("p")
    assert "b <- b - lr * dc/db = -3.0000 - 0.1000 * 0.4408 = -3.0441" in page.inner_text("#step-lines")
    assert page.evaluate("document.body.dataset.kind") == "update"


def test_browser_network_page_is_small_and_readable(tmp_path, open_page):
    """The 4-4-1 network's page is under 3 MB, opens at a readable scale, and collapsed it still shows
    the step (its load time is printed, never asserted: the machine is shared; the benchmark times pages)."""
    path = trace.to_html(network_loss(), tmp_path / "net.html", lr=0.1)
    size = path.stat().st_size
    start = time.perf_counter()
    page = open_page(path)
    seconds = time.perf_counter() - start
    in_page = int(page.evaluate("document.body.dataset.readyMs")) / 1000
    print(f"4-4-1 page: {size / 1e6:.2f} MB, ready {in_page:.2f} s after navigation ({seconds:.2f} s with the tab)")
    assert size < 3e6
    assert float(page.evaluate("document.body.dataset.zoom")) >= 1.0  # opens at a readable scale, not fit-all
    for _ in range(70):
        page.keyboard.press("n")
    page.wait_for_function("!document.body.dataset.moving")  # the camera has arrived
    current = page.evaluate("document.body.dataset.current")
    box = page.eval_on_selector("#graph g.node.current", "g => { const r = g.getBoundingClientRect(); "
                                "return [r.left, r.top, r.right, r.bottom]; }")
    graph = page.eval_on_selector("#graph", "g => { const r = g.getBoundingClientRect(); "
                                  "return [r.left, r.top, r.right, r.bottom]; }")
    assert graph[0] <= box[0] and box[2] <= graph[2] and graph[1] <= box[1] and box[3] <= graph[3]
    row = page.eval_on_selector("#nodes tr.current", "r => { const b = r.getBoundingClientRect(), "
                                "t = document.getElementById('table-box').getBoundingClientRect(); "
                                "return b.top >= t.top && b.bottom <= t.bottom; }")
    assert row, "the table follows the step"
    page.check("#collapse")
    visible = page.eval_on_selector_all(".view:not([hidden]) g.node.current title", "ts => ts.map(t => t.textContent)")
    group = json.loads(page.evaluate("document.getElementById('stepper-data').textContent"))["nodes"][int(current[1:])]["group"]
    assert visible == [f"g{group}"]


def test_browser_pan_and_zoom_move_the_view(tmp_path, open_page):
    """The wheel, the buttons and dragging change the picture's viewBox; fit shows the whole graph."""
    page = open_page(trace.to_html(network_loss(), tmp_path / "net.html"))
    view_box = "() => document.querySelector('.view:not([hidden]) svg').getAttribute('viewBox')"
    zoom = lambda: float(page.evaluate("document.body.dataset.zoom"))  # noqa: E731
    z0 = zoom()
    page.mouse.move(500, 500)
    page.mouse.wheel(0, -300)  # input events land asynchronously: wait (up to 10 s) rather than read at once
    page.wait_for_function(f"Number(document.body.dataset.zoom) > {z0}", timeout=10_000)
    page.click("#zoom-out")
    page.click("#zoom-out")
    z1 = zoom()
    page.keyboard.press("+")
    page.wait_for_function(f"Number(document.body.dataset.zoom) > {z1}", timeout=10_000)
    before = page.evaluate(view_box)
    page.mouse.move(400, 400)
    page.mouse.down()
    page.mouse.move(300, 350, steps=5)
    page.mouse.up()
    after = page.evaluate(view_box)
    assert before != after and [float(x) for x in before.split()][2:] == [float(x) for x in after.split()][2:]
    page.click("#zoom-fit")
    page.wait_for_timeout(300)
    x, y, w, h = (float(v) for v in page.evaluate(view_box).split())
    size = page.evaluate("() => { const b = document.querySelector('.view:not([hidden]) svg g.graph').getBBox(); "
                         "return [b.width, b.height]; }")
    assert w >= size[0] and h >= size[1]


def test_browser_inline_notebook_markup_runs_the_page(tmp_path, browser):
    """The _repr_html_ markup, dropped into another page as a notebook does, runs the stepper in its frame."""
    cell = tmp_path / "notebook.html"
    cell.write_text("<!DOCTYPE html><html><body><div class='output'>" + stepper(example()[2])._repr_html_()
                    + "</div></body></html>", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(cell.as_uri())
        frame = page.frame_locator("iframe")
        frame.locator("body[data-ready='1']").wait_for()
        frame.locator("#next").click()
        assert frame.locator("body").get_attribute("data-current") == "n2"
    finally:
        page.close()


def test_writing_a_page_sorts_the_graph_once(monkeypatch):
    """page_data sorts the graph once and hands the order to the walk, the pictures and finite differences."""
    pytest.importorskip("graphviz")
    import autograd.graph
    import autograd.stepper
    import autograd.trace
    import autograd.viz

    calls = []
    original = autograd.graph.toposort
    for module in (autograd.stepper, autograd.trace, autograd.viz):
        monkeypatch.setattr(module, "toposort", lambda root: calls.append(root) or original(root))
    page_data(network_loss(), lr=0.1)
    assert len(calls) == 1


@pytest.fixture
def drawn(monkeypatch):
    """The DOT sources the page hands the renderer, each answered with an empty picture (nothing is laid out)."""
    pytest.importorskip("graphviz")
    from autograd import viz

    sources = []

    def fake(source):
        sources.append(source)
        return '<svg viewBox="0 0 100 100"></svg>'

    monkeypatch.setattr(viz, "pipe_svg", fake)
    return sources


def test_the_page_refuses_a_chain_it_cannot_lay_out_quickly_before_drawing(drawn):
    """A 299-node x + x + ... + x (under max_nodes) needs 88,506 bends: refused, naming the limit and
    the way out, before any drawing starts."""
    from autograd.viz import GraphTooLarge

    with pytest.raises(GraphTooLarge, match=r"to_html: .*88,506 bends.*limit of 12,000.*110 terms.*n \* x"):
        page_data(reused_leaf_chain(299))
    assert drawn == []


def test_the_pages_drawings_bound_the_renderers_work(drawn):
    """The 110-term chain the page accepts is drawn twice (left-right, top-down), each with the layout
    work capped and straight edges, the two phases that took the page minutes."""
    from autograd.viz import LAYOUT_WORK, layout_bends

    root = reused_leaf_chain(110)
    page_data(root, lr=0.1)
    nodes, bends = 2 * len(toposort(root)), layout_bends(toposort(root))
    assert len(drawn) == 2 and {re.search(r"rankdir=(\w+)", s).group(1) for s in drawn} == {"LR", "TB"}
    for source in drawn:
        assert float(re.search(r"nslimit=([\d.e-]+)", source).group(1)) * nodes * (nodes + bends) <= LAYOUT_WORK * 1.01
        assert "splines=line" in source


def test_a_network_too_big_for_the_page_gets_numbers_that_work():
    """The moons net on one example (977 nodes) is refused with its size, the parameters that fit,
    an example net that fits (true: MLP(2, [8, 8, 1]) has 105 parameters, 297 nodes, and its page is
    built), the collapsed picture and the exact max_nodes that writes it anyway."""
    pytest.importorskip("graphviz")
    from autograd.viz import GraphTooLarge

    with pytest.raises(GraphTooLarge) as info:
        page_data(nn.MLP(2, [16, 16, 1], seed=0)([0.5, -0.2]), pictures=False)
    message = str(info.value)
    for part in ("977 nodes, over max_nodes=300", "337 parameters", "about 100 parameters fits in 300 nodes",
                 "nn.MLP(2, [8, 8, 1]) on one example: 105 parameters, 297 nodes", "collapse='neuron'", "max_nodes=977"):
        assert part in message
    small = nn.MLP(2, [8, 8, 1], seed=0)
    out = small([0.5, -0.2])
    assert len(small.parameters()) == 105 and len(toposort(out)) == 297
    assert page_data(out, pictures=False)["root"] == 296


def test_the_stepper_steps_through_a_second_derivative_and_marks_what_a_backward_pass_made(tmp_path, open_page):
    """to_html of a derivative recorded with create_graph=True works to its last step; the nodes grad made (the
    seed and the rule's nodes, the root too) are marked as such in the data, the table and the legend, and x is not."""
    x = Value(0.5, "x")
    (dy,) = grad(x.tanh(), [x], create_graph=True)
    data = page_data(dy, pictures=False)
    leaves = {n["name"]: n["by_backward"] for n in data["nodes"] if not n["op"]}  # x and grad's seed (unlabelled)
    assert leaves.pop("x") is False and list(leaves.values()) == [True] and data["nodes"][-1]["by_backward"] is True
    page = open_page(trace.to_html(dy, tmp_path / "p.html"))
    page.keyboard.press("End")
    table = page.evaluate("[...document.querySelectorAll('#nodes tr')].map(r => r.textContent)")
    assert any("seed of a backward pass (leaf)" in row for row in table)
    assert sum("(made by a backward pass)" in row for row in table) == 3 and not any(
        "backward" in row for row in table if row.startswith("x"))
    assert "made by an earlier backward pass" in page.inner_text("#legend")
    assert "Summary" in page.inner_text("#step")


# ---------------------------------------------------------------------------- editing the page's numbers

EVERY_STEP = """() => {
  const out = [];
  document.getElementById('first').click();
  for (;;) {
    out.push({title: document.getElementById('step-title').textContent,
              lines: [...document.querySelectorAll('#step-lines div')].map((d) => d.textContent)});
    if (document.getElementById('next').disabled) return out;
    document.getElementById('next').click();
  }
}"""
SUMMARY = "() => [...document.querySelectorAll('#summary tr')].slice(1).map(r => [...r.cells].map(c => c.textContent))"


def xy_tanh(x=0.5, y=-2.0):
    """The issue's example, x*y + tanh(x), at x and y."""
    x, y = Value(x, "x"), Value(y, "y")
    return x, y, x * y + x.tanh()


def edit(page, name, text):
    """Type ``text`` into the page's editable number called ``name``."""
    box = page.locator("#inputs label.edit", has_text=f"{name} =").locator("input")
    box.fill(text)
    box.press("Enter")  # leaves the box: the step keys work again


def assert_page_shows(page, root, lr):
    """Every step of the page shows the lines describe_steps gives for ``root`` (built at the edited values),
    and the summary holds the engine's gradients, finite differences and updated values."""
    want = describe_steps(root, lr=lr)
    got = page.evaluate(EVERY_STEP)[1:-1]  # without the page's own start and summary
    assert [s["title"] for s in got] == [s["title"] for s in want]
    for g, w in zip(got, want):
        assert g["lines"][:len(w["lines"])] == w["lines"], (g, w)
    order = toposort(root)
    fd = finite_differences(root)
    for p in order:
        p.grad = 0.0
    root.backward()
    leaves = [n for n in order if not n.op]
    rows = [[r[0], r[1], r[2], r[3]] + ([r[5]] if lr is not None else []) for r in page.evaluate(SUMMARY)]
    assert rows == [[trace.node_names(order)[v], fmt(v.data), fmt(v.grad), fmt(fd[v])]
                    + ([fmt(v.data - lr * v.grad)] if lr is not None else []) for v in leaves]


def test_browser_editing_x_recomputes_every_number_as_python_does(tmp_path, open_page):
    """Changing x on the page of x*y + tanh(x) gives the tanh step 1 - tanh(x)^2 at the new x, and every step,
    gradient, finite difference and update equals what Python computes at the new point; lr edits the update."""
    page = open_page(trace.to_html(xy_tanh()[2], tmp_path / "p.html", lr=0.1))
    edit(page, "x", "1.3")
    assert page.evaluate("document.body.dataset.edited") == "1" and "x = 1.3 (was 0.5)" in page.inner_text("#inputs")
    tanh_step = next(s for s in page.evaluate(EVERY_STEP) if "tanh_backward" in s["title"])
    t = math.tanh(1.3)
    assert tanh_step["lines"][0] == f"d tanh(u)/du = 1 - tanh(u)^2 = 1 - {fmt(t)}^2 = {fmt(1 - t * t)}"
    assert_page_shows(page, xy_tanh(1.3)[2], 0.1)
    moved = page.evaluate("[...document.querySelectorAll('#nodes td.moved')].map(td => td.title)")  # the summary step
    assert f"{fmt(0.5 - 0.1 * (-2.0 + 1 - math.tanh(0.5) ** 2))} at Python's numbers, before your edit" in moved
    edit(page, "lr", "0.5")
    edit(page, "y", "-0.25")
    assert_page_shows(page, xy_tanh(1.3, -0.25)[2], 0.5)
    page.click("#reset")
    assert page.evaluate("document.body.dataset.edited") == "0" and page.locator("#nodes td.moved").count() == 0
    assert_page_shows(page, xy_tanh()[2], 0.1)


def test_browser_a_network_page_recomputes_its_relus_and_dead_edges(tmp_path, open_page):
    """On a relu network's page an edited weight gives Python's numbers at every step, the edges behind a relu
    that is off included (upstream 0, contribution exactly 0)."""
    model = nn.MLP(1, [3, 1], seed=1)
    loss = nn.mse_loss(model([0.5]), [1.0])
    page = open_page(trace.to_html(loss, tmp_path / "p.html", lr=0.1))
    w = model.parameters()[0]
    name = trace.node_names(toposort(loss))[w]
    edit(page, name, "-0.75")
    w.data = -0.75
    assert_page_shows(page, nn.mse_loss(model([0.5]), [1.0]), 0.1)


def test_browser_log_of_a_negative_shows_the_engines_error_in_place(tmp_path, open_page):
    """Entering a negative x on the page of log(x) * y shows log's error, worded as the engine's, at the log
    step; later steps and the summary say they are not computed and why (the forward pass again fails the same way, and
    the inputs keep their numbers: no gradient, no update); nothing else breaks and x = 2 recovers."""
    x, y = Value(0.5, "x"), Value(3.0, "y")
    log = x.log()
    n = trace.node_names(toposort(log * y))[log]
    page = open_page(trace.to_html(log * y, tmp_path / "p.html", lr=0.1))
    edit(page, "x", "-1.5")
    with pytest.raises(ValueError) as engine:
        Value(-1.5).log()
    steps = page.evaluate(EVERY_STEP)
    log_step = next(s for s in steps if s["title"] == f"Forward 1 of 2: {n}")
    assert log_step["lines"][0] == f"{n}: {engine.value}" == f"{n}: log: undefined for x <= 0, got x = -1.5"
    later = steps[steps.index(log_step) + 1:-1]
    again = [s for s in later if s["title"].startswith("Forward again")]  # no gradients, no update: the same pass
    rest = [s for s in later if s not in again]
    assert len(rest) == 7 and all(re.fullmatch(rf"\S+: not computed, (the forward pass failed at {n}|{n} failed): "
                                                rf"{re.escape(str(engine.value))}", s["lines"][0]) for s in rest), rest
    forward = [s for s in steps if s["title"].startswith("Forward ") and not s["title"].startswith("Forward again")]
    assert [s["lines"][0] for s in again] == [s["lines"][0] for s in forward]
    page.keyboard.press("End")  # the summary says why it has no gradients, not a bare n/a; the inputs keep their numbers
    assert f"No gradients at these numbers: the forward pass failed at {n}: {engine.value}" in page.inner_text("#summary")
    data = page.evaluate("Object.fromEntries([...document.querySelectorAll('#nodes tr')].slice(1)"
                         ".map(r => [r.cells[0].textContent, r.cells[2].textContent]))")
    assert data["x"] == "-1.5000" and data["y"] == "3.0000" and data[n] == "error", data
    page.click("#first")
    page.click("#next")  # the log's forward step: its node's value is the error, in the table and the picture
    row = page.evaluate(f"[...document.querySelectorAll('#nodes tr')].find(r => r.cells[0].textContent === '{n}').innerText")
    assert row.split("\t")[2] == "error" and grad_text(page, f"n{row_index(page, n)}") == "grad \u2013"
    assert f"= error ({n} failed)" in page.inner_text("#value")
    edit(page, "x", "2")
    x, y = Value(2.0, "x"), Value(3.0, "y")
    assert_page_shows(page, x.log() * y, 0.1)


def test_browser_after_a_failed_forward_the_nodes_not_computed_look_it(tmp_path, open_page):
    """When an edit makes log fail, log's op looks failed and every node after it, with its op, looks not
    computed (faded, never an op whose rule has run), as the legend says; a good number again undoes both."""
    x, y = Value(0.5, "x"), Value(3.0, "y")
    log = x.log()
    names = trace.node_names(toposort(log * y))
    page = open_page(trace.to_html(log * y, tmp_path / "p.html", lr=0.1))
    ids = {name: f"n{row_index(page, name)}" for name in (names[log], names[x], "y", page.inner_text("#nodes tbody tr:last-child td"))}
    look = ("ids => Object.fromEntries(ids.map(id => { const g = [...document.querySelectorAll('#graph g.node')]"
            ".find(g => g.querySelector('title').textContent === id); return [id, [g.classList.value.replace('node', '').trim(),"
            " Number(getComputedStyle(g).opacity)]]; }))")
    log_id, x_id, y_id, out_id = ids.values()
    edit(page, "x", "-1.5")
    page.keyboard.press("End")
    page.wait_for_timeout(300)  # the fading's transition
    seen = page.evaluate(look, [x_id, y_id, log_id, log_id + "op", out_id, out_id + "op"])
    assert seen[x_id] == ["", 1] and seen[y_id] == ["", 1], seen
    assert seen[log_id + "op"][0] == "failed" and seen[log_id + "op"][1] == 1, seen
    assert all(seen[i][0] == "pending" and seen[i][1] < 0.5 for i in (log_id, out_id, out_id + "op")), seen
    legend = page.inner_text("#legend")
    assert "not computed (yet, or after an op failed)" in legend and "op that failed" in legend
    edit(page, "x", "2")
    page.wait_for_timeout(300)
    seen = page.evaluate(look, [log_id, log_id + "op", out_id, out_id + "op"])
    assert seen == {log_id: ["", 1], out_id: ["", 1], log_id + "op": ["rule-done", 1], out_id + "op": ["rule-done", 1]}, seen


def test_browser_a_number_that_is_not_one_is_refused_in_place(tmp_path, open_page):
    """Text that is not a number, or an lr that is not positive, is marked and explained; the page keeps its numbers."""
    page = open_page(trace.to_html(xy_tanh()[2], tmp_path / "p.html", lr=0.1))
    edit(page, "x", "abc")
    assert "'abc' is not a number" in page.inner_text("#inputs") and page.evaluate("document.body.dataset.edited") == "0"
    edit(page, "lr", "-1")
    assert "lr must be a positive number" in page.inner_text("#inputs")
    assert page.locator("#inputs input.invalid").count() == 2
    assert_page_shows(page, xy_tanh()[2], 0.1)


def test_browser_a_decimal_comma_is_read_and_digit_grouping_refused(tmp_path, open_page):
    """One comma is a decimal mark ("1,5", "-0,25"), while digit grouping ("1,000", "12,345,678", "1,000.5") is
    refused with a message naming the text, never read as another number."""
    page = open_page(trace.to_html(xy_tanh()[2], tmp_path / "p.html", lr=0.1))
    edit(page, "x", "1,5")
    edit(page, "y", "-0,25")
    assert "x = 1.5 (was 0.5), y = -0.25 (was -2.0)" in page.inner_text("#edit-note")
    for text in ["1,000", "12,345,678", "1,000.5"]:
        edit(page, "x", text)
        assert f"'{text}' looks like digit grouping" in page.inner_text("#edit-note")
        assert page.locator("#inputs input.invalid").count() == 1
    assert_page_shows(page, xy_tanh(1.5, -0.25)[2], 0.1)


def test_browser_the_quiz_reads_numbers_as_the_edit_bar_does(tmp_path, open_page):
    """A quiz answer with a decimal comma counts, and one that looks like digit grouping is refused, naming it."""
    page = open_page(trace.to_html(example()[2], tmp_path / "p.html"))
    page.check("#quiz")
    for _ in range(10):  # a.grad += n2.grad * dn2/da: local -3, a.grad becomes 0.9672
        page.keyboard.press("n")
    assert quiz_verdict(page, local="-3,000") == "not-a-number"
    assert "'-3,000' looks like digit grouping" in page.inner_text("#quiz-feedback")
    assert quiz_verdict(page, local="-3,0", after="0,9672") == "right right"


SIDEWAYS = """() => [...document.querySelectorAll('html, body, #side, #step, #summary, #table-box')]
  .filter(e => e.scrollWidth > e.clientWidth).map(e => `${e.id || e.tagName} ${e.scrollWidth} > ${e.clientWidth}`)"""


@pytest.mark.parametrize("width, height", [(1280, 800), (1920, 1080)])
def test_browser_the_summary_fits_its_panel_without_a_sideways_scroll(tmp_path, open_page, width, height):
    """A network's summary and node table, also with an input edited to a number like 1e300, need no sideways
    scroll and cut nothing off, at 1280x800 and 1920x1080."""
    model = nn.MLP(2, [3, 1], seed=1)
    pages = [trace.to_html(model([0.5, -0.3]), tmp_path / "out.html", lr=0.1),
             trace.to_html(nn.mse_loss(model([0.5, -0.3]), [1.0]), tmp_path / "loss.html", lr=0.1),
             trace.to_html(xy_tanh()[2], tmp_path / "xy.html", lr=0.1)]
    for path in pages:
        page = open_page(path)
        page.set_viewport_size({"width": width, "height": height})
        page.keyboard.press("End")
        assert page.evaluate(SIDEWAYS) == [], path.name
        names = page.eval_on_selector_all("#inputs label.edit span", "s => s.map(e => e.textContent.slice(0, -2))")
        edit(page, names[2], "-1.2345e300")
        edit(page, names[-1], "1e300")
        page.keyboard.press("End")
        assert page.evaluate(SIDEWAYS) == [], (path.name, names)


SHOWN = """() => [...document.querySelectorAll('#inputs .caption, #reset, #inputs label.edit, #edit-note')].map(e => {
  const r = e.getBoundingClientRect(); let top = r.top, bottom = r.bottom; // clipped by every scrolling box around it
  for (let a = e.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowY !== 'visible') {
    const c = a.getBoundingClientRect().top + a.clientTop; top = Math.max(top, c); bottom = Math.min(bottom, c + a.clientHeight); }
  return [e.id || e.textContent, Math.max(0, bottom - top), r.height]; })"""
TO_THE_END = "() => { for (const e of document.querySelectorAll('#inputs, #inputs *')) e.scrollTop = e.scrollHeight; }"


@pytest.mark.parametrize("width, height", [(1280, 800), (1920, 1080)])
def test_browser_the_edit_bar_shows_whole_rows_and_its_note(tmp_path, open_page, width, height):
    """On network pages the edit bar shows each field whole or not at all, scrolled to the top or the end, and
    its note (which says what became of an edit) always whole."""
    for root in (nn.mse_loss(nn.MLP(2, [3, 1], seed=1)([0.5, -0.3]), [1.0]), network_loss()):
        page = open_page(trace.to_html(root, tmp_path / "p.html", lr=0.1))
        page.set_viewport_size({"width": width, "height": height})
        edit(page, "lr", "1,000")  # a long note
        for scroll in (False, True):
            if scroll:
                page.evaluate(TO_THE_END)
                page.wait_for_timeout(400)  # a snap to a row settles
            shown = page.evaluate(SHOWN)
            assert all(s == 0 or abs(s - h) < 0.5 for _, s, h in shown), (scroll, shown)
            assert [s == h > 0 for name, s, h in shown if name == "edit-note"] == [True], (scroll, shown)
            assert sum(s > 0 for _, s, h in shown) >= 6, shown  # still a useful number of fields in view


def test_browser_the_quiz_checks_answers_at_the_edited_values(tmp_path, open_page):
    """After an edit the quiz hides and checks the new numbers: the old answer is wrong, the new one right."""
    page = open_page(trace.to_html(xy_tanh()[2], tmp_path / "p.html"))
    page.check("#quiz")
    edit(page, "x", "1.3")
    page.keyboard.press("End")
    for _ in range(3):  # back to the tanh step
        page.keyboard.press("p")
    assert "tanh_backward" in page.inner_text("#step-title")
    assert page.evaluate("document.body.dataset.hidden") == "1"
    old = 1 - math.tanh(0.5) ** 2
    assert quiz_verdict(page, local=f"{old:.4f}") == "wrong"
    new = 1 - math.tanh(1.3) ** 2
    assert quiz_verdict(page, local=f"{new:.4f}", after=f"{new:.4f}") == "right right"


def test_browser_editing_is_off_and_explained_for_user_ops_and_recorded_derivatives(tmp_path, open_page, user_op):
    """A graph with a define_op op, or one recorded by grad(create_graph=True), shows Python's numbers with its
    inputs disabled and a note saying why, and its legend has no look that only an edit makes (a failed op)."""
    cube = user_op("cube_edit", lambda x: x ** 3, lambda g, x, out: (g * 3.0 * x * x,))
    x = Value(0.5, "x")
    page = open_page(trace.to_html(cube(x) * 2.0, tmp_path / "p.html"))
    assert page.locator("#inputs input").first.is_disabled()
    assert "op that failed" not in page.inner_text("#legend-list") and "not computed yet" in page.inner_text("#legend-list")
    assert "cube_edit, an op defined in Python (define_op), which this page cannot run" in page.inner_text("#inputs")
    (dy,) = grad(x.tanh(), [x], create_graph=True)
    page = open_page(trace.to_html(dy, tmp_path / "q.html"))
    assert page.locator("#inputs input").first.is_disabled()
    assert "recorded by a backward pass (grad with create_graph=True)" in page.inner_text("#inputs")
    page.keyboard.press("End")
    assert "Summary" in page.inner_text("#step")


def every_op(x=0.7, y=1.3):
    """A sum with one term per built-in op (x, y inside every op's domain)."""
    from autograd import maximum, minimum

    x, y = Value(x, "x"), Value(y, "y")
    terms = [x * y, x - y, x / y, (x * x + 1.0) ** y, -x, abs(x - y), x.exp(), y.log(), x.sqrt(), x.tanh(),
             y.sigmoid(), (x - 0.5).relu(), (y - 2.0).leaky_relu(0.1), x.softplus(), y.erf(), x.erfc(), y.gelu(),
             x.sin(), y.cos(), maximum(x, y), minimum(x, y)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def test_browser_a_page_using_every_op_recomputes_each_as_python_does(tmp_path, open_page):
    """On the page of a sum using every built-in op, edited x and y give every step Python's text at the new values."""
    root = every_op()
    assert {n.op for n in toposort(root) if n.op} == {k for k, op in OPS.items() if op.builtin}
    page = open_page(trace.to_html(root, tmp_path / "p.html", lr=0.05))
    edit(page, "x", "0.9")
    edit(page, "y", "1.1")
    assert_page_shows(page, every_op(0.9, 1.1), 0.05)


def test_browser_two_leaves_labelled_alike_get_two_named_boxes(tmp_path, open_page):
    """Leaves sharing a label are told apart in the edit bar by their node id, and each edit reaches its own leaf."""
    a, b = Value(1.0, "w"), Value(2.0, "w")
    page = open_page(trace.to_html(a * 3.0 + b, tmp_path / "p.html"))
    labels = page.eval_on_selector_all("#inputs label.edit span", "s => s.map(e => e.textContent)")
    assert labels == ["w (n0) =", "w (n3) ="] or labels == ["w (n0) =", "w (n2) ="], labels
    edit(page, labels[1][:-2], "5")
    page.keyboard.press("End")
    rows = page.evaluate(SUMMARY)
    assert rows[0][:3] == ["w", "1.0000", "3.0000"] and rows[1][:3] == ["w", "5.0000", "1.0000"]


@settings(max_examples=6, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions(max_leaves=2, max_steps=5), shift=st.floats(-2.0, 2.0))
def test_browser_random_graphs_edited_show_what_python_computes_or_its_error(browser, tmp_path_factory, expr, shift):
    """For random graphs, every leaf moved by ``shift`` on the page gives Python's text at every step, or,
    where Python's forward pass refuses the new numbers, the page shows that very error at that op's step."""
    root = expr.fn(*expr.inputs)
    path = trace.to_html(root, tmp_path_factory.mktemp("random") / "p.html", lr=0.1)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(path.as_uri())
        page.wait_for_function("document.body.dataset.ready === '1'")
        new = [x + shift for x in expr.input_values]
        for i, x in enumerate(new):
            if f"x{i} =" in page.inner_text("#inputs"):  # an input the graph does not use has no box
                edit(page, f"x{i}", repr(x))
        try:
            moved = expr.fn(*[Value(x, f"x{i}") for i, x in enumerate(new)])
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            assert any(s["lines"][:1] == [f"{s['title'].split(': ')[-1]}: {e}"] for s in page.evaluate(EVERY_STEP)), e
            return
        assert_page_shows(page, moved, 0.1)
    finally:
        page.close()


def test_browser_an_infinite_input_is_not_called_a_wrong_rule(tmp_path, open_page):
    """At x = inf the finite differences cannot check a gradient: the summary says so instead of 'differ'."""
    page = open_page(trace.to_html(xy_tanh()[2], tmp_path / "p.html"))
    edit(page, "x", "inf")
    page.keyboard.press("End")
    rows = page.evaluate("[...document.querySelectorAll('#summary tr')].slice(1).map(r => [...r.cells].map(c => c.textContent))")
    assert rows and all(r[-1] in ("agree", "no check") for r in rows) and rows[0][-1] == "no check", rows
    edit(page, "x", "nan")
    page.keyboard.press("End")
    note = page.inner_text("#summary .note")
    assert "infinite or NaN" in note and "at an infinite number" not in note  # NaN is not called infinite


def test_browser_a_network_update_moves_its_parameters_and_never_its_data(tmp_path, open_page):
    """On a network's page the update moves weights and biases only; the data row keeps its numbers, as in
    Python's SGD step, and the forward pass again agrees with Python's."""
    model = nn.MLP(2, [3, 1], seed=1)
    loss = nn.mse_loss(model([0.5, -0.3]), [1.0])
    order = toposort(loss)
    names = trace.node_names(order)
    from autograd.stepper import describe_steps
    steps = describe_steps(loss, lr=0.1)
    moved = {s["title"].split(": ", 1)[1] for s in steps if s["title"].startswith("Update ")}
    params = {names[p] for p in model.parameters()}
    assert moved == params
    page = open_page(trace.to_html(loss, tmp_path / "p.html", lr=0.1))
    page.keyboard.press("End")
    rows = page.evaluate("[...document.querySelectorAll('#summary tr')].slice(1).map(r => [...r.cells].map(c => c.textContent))")
    after = {r[0]: r[-1] for r in rows}
    loss.backward()
    for leaf in (n for n in order if not n.op):
        expected = leaf.data - 0.1 * leaf.grad if names[leaf] in params else leaf.data
        assert after[names[leaf]] == fmt(expected), (names[leaf], after[names[leaf]], expected)


def test_browser_a_long_label_wraps_in_the_node_table(tmp_path, open_page):
    """A long label (with markup and a lone surrogate in it) wraps in the node table's first column, so the table
    needs no sideways scroll at 1280x800 and its grad column stays in view."""
    x = Value(0.5, label='größe "<script>alert(1)</script>" \ud800 a_really_long_label_for_a_node')
    page = open_page(trace.to_html(x * Value(-2.0, label="y") + x.tanh(), tmp_path / "long.html"))
    page.set_viewport_size({"width": 1280, "height": 800})
    page.keyboard.press("End")
    assert page.evaluate(SIDEWAYS) == []
    assert page.evaluate("document.querySelector('#nodes th:last-child').getBoundingClientRect().right") <= 1280
