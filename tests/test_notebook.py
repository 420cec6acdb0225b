"""Jupyter: a notebook executed for real (nbclient + ipykernel) shows Values and models as SVG and a
live Recorder as one display updated in place; outside a notebook the same calls show nothing."""

import pytest

from autograd import Value
from autograd.notebook import MAX_INLINE, mimebundle

import nn


def test_value_displays_its_graph_as_svg():
    """A small Value's Jupyter bundle holds the SVG of its graph and its repr as text."""
    pytest.importorskip("graphviz")
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + a.exp()).tanh()
    bundle = c._repr_mimebundle_()
    assert bundle["text/plain"] == repr(c)
    assert "<svg" in bundle["image/svg+xml"] and ">a<" in bundle["image/svg+xml"]


def test_huge_graph_is_summarised_in_one_line_not_drawn():
    """A graph over the inline limit with no network in it shows one line naming its size, no picture."""
    x = Value(1.0, label="x")
    s = x
    for _ in range(MAX_INLINE):
        s = s * 1.01 + x
    bundle = mimebundle(s)
    assert "image/svg+xml" not in bundle
    assert f"{2 * MAX_INLINE + 1:,} nodes" in bundle["text/plain"] and "\n" not in bundle["text/plain"]


def test_big_network_graph_is_drawn_folded_by_neuron():
    """A network's loss too big to draw node by node is drawn with one box per neuron."""
    pytest.importorskip("graphviz")
    model = nn.MLP(2, [8, 8, 1], seed=0)
    loss = sum((model([0.5 * k, -0.3]) - 1.0) ** 2 for k in range(2))
    bundle = mimebundle(loss)
    assert "one box per neuron" in bundle["text/plain"]
    assert "L2.N8" in bundle["image/svg+xml"]


def test_display_without_the_viz_extra_falls_back_to_text(monkeypatch):
    """When drawing fails (no graphviz package), the display is the repr, and nothing is raised."""
    import builtins

    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError("No module named 'graphviz'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    import autograd.viz as viz

    monkeypatch.setattr(viz, "_digraph_class", lambda: viz._graphviz().Digraph)
    v = Value(1.5) * 2
    bundle = v._repr_mimebundle_()
    assert set(bundle) == {"text/plain"} and bundle["text/plain"].startswith(repr(v))
    assert "graphviz" in bundle["text/plain"]
    assert set(nn.MLP(2, [3, 1], seed=0)._repr_mimebundle_()) == {"text/plain"}


def test_mlp_displays_one_box_per_neuron_and_keeps_its_random_stream():
    """An MLP's display draws each neuron, and displaying it does not advance its dropout stream."""
    pytest.importorskip("graphviz")
    model = nn.MLP(2, [3, 1], seed=0, dropout=0.5)
    twin = nn.MLP(2, [3, 1], seed=0, dropout=0.5)
    bundle = model._repr_mimebundle_()
    assert all(f"L1.N{k}" in bundle["image/svg+xml"] for k in (1, 2, 3))
    assert model([0.2, 0.4]).data == twin([0.2, 0.4]).data


def test_live_recorder_outside_a_notebook_only_records():
    """live=True outside Jupyter records exactly as live=False does and draws nothing."""
    X, y = nn.data.make_moons(20, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    rec = nn.Recorder(model, train=(X, y), live=True)
    loss = nn.hinge_loss([model(x) for x in X], y)
    loss.backward()
    rec.record(0, loss)
    assert rec._live is None and len(rec.history) == 1
    with pytest.raises(TypeError, match="live must be True or False"):
        nn.Recorder(model, train=(X, y), live="yes")


NOTEBOOK_CELLS = [
    """from autograd import Value
a, b = Value(2.0, label="a"), Value(-3.0, label="b")
c = (a * b + a.exp()).tanh()
c.backward()
c""",
    """import nn
model = nn.MLP(2, [4, 4, 1], seed=0)
model""",
    """X, y = nn.data.make_moons(40, noise=0.1, seed=0)
rec = nn.Recorder(model, train=(X, y), live=True)
for step in range(40):
    loss = nn.hinge_loss([model(x) for x in X], y)
    model.zero_grad()
    loss.backward()
    rec.record(step, loss, lr=0.05)
    for p in model.parameters():
        p.data -= 0.05 * p.grad
last = rec.history[-1]
""",
    """print(f"updates={rec._live.updates} last_loss={last['loss']:.4g}")""",
]


def test_notebook_executed_by_a_real_kernel_shows_graphs_and_a_live_run():
    """Run by ipykernel: the Value and the MLP cells output SVG, and the live display, updated in
    place through its display id, ends showing the last recorded step's loss."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("graphviz")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    value_out, model_out, live_out, printed = (cell.outputs for cell in nb.cells)
    assert "<svg" in value_out[0]["data"]["image/svg+xml"]
    assert "L2.N4" in model_out[0]["data"]["image/svg+xml"]
    assert len(live_out) == 1, "one display, updated in place, not one output per step"
    data = live_out[0]["data"]
    stats = dict(pair.split("=") for pair in printed[0]["text"].split())
    assert f"step 39, loss {stats['last_loss']}" in data["text/plain"]
    assert "<svg" in data["image/svg+xml"] and "decision boundary" in data["image/svg+xml"]
    assert 2 <= int(stats["updates"]) < 40, "throttled to a few updates per second, never one per step"
