"""nn.Recorder and its training-replay page: recording never changes training, the history says what
it claims, bad arguments are clear errors, and the page works offline in a real browser."""

from __future__ import annotations

import inspect
import json
import math
import random
import re
import struct
import time

import pytest

import nn
from autograd import Value, grad, no_grad, trace
from nn.data import make_moons, make_sine, make_spiral


def bits(xs):
    return [struct.pack("<d", x) for x in xs]


def moons_model(seed=3, widths=(8, 8, 1), **kwargs):
    if "dropout" in inspect.signature(nn.MLP).parameters:  # once dropout lands, record under it too
        kwargs.setdefault("dropout", 0.25)
    return nn.MLP(2, list(widths), seed=seed, **kwargs)


def train(model, X, y, steps, rec=None, lr=0.5, alpha=1e-4, check=None):
    """The moons demo's hand-written loop, with an optional recorder between backward and update."""
    for k in range(steps):
        loss = nn.hinge_loss([model(x) for x in X], y) + alpha * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        if rec is not None:
            before = bits(p.data for p in model.parameters()) + bits(p.grad for p in model.parameters())
            rec.record(k, loss, lr=lr)
            assert bits(p.data for p in model.parameters()) + bits(p.grad for p in model.parameters()) == before
        if check:
            check(k, loss)
        for p in model.parameters():
            p.data -= lr * p.grad
    return model


def test_recording_does_not_change_training():
    """The weights after training are bitwise the same with and without a recorder, and no random state is used."""
    X, y = make_moons(40, noise=0.1, seed=2)
    Xv, yv = make_moons(20, noise=0.1, seed=9)
    plain = train(moons_model(), X, y, 6)
    model = moons_model()
    rec = nn.Recorder(model, train=(X, y), val=(Xv, yv))
    state = random.getstate()
    train(model, X, y, 6, rec)
    assert random.getstate() == state
    assert bits(p.data for p in model.parameters()) == bits(p.data for p in plain.parameters())
    assert len(rec.history) == 6


def test_history_is_plain_json_and_matches_the_model():
    """Each entry is JSON-serialisable and its losses, accuracies, weights and gradients are the model's own numbers."""
    X, y = make_moons(30, noise=0.1, seed=4)
    Xv, yv = make_moons(16, noise=0.2, seed=5)
    model = nn.MLP(2, [6, 5, 1], seed=1)
    rec = nn.Recorder(model, train=(X, y), val=(Xv, yv), every=2)

    def check(k, loss):
        if k % 2:
            return
        e = rec.history[-1]
        assert e["step"] == k and e["loss"] == loss.data and e["lr"] == 0.5
        assert e["weights"] == model.state_dict()
        assert e["grads"] == {p.label: p.grad for p in model.parameters()}
        with no_grad():  # what the model itself computes on each set
            for (rows, targets), kind in (((X, y), "train"), ((Xv, yv), "val")):
                scores = [model(x) for x in rows]
                assert e[f"{kind}_loss"] == nn.hinge_loss(scores, targets).data
                assert e[f"{kind}_accuracy"] == sum((s.data > 0) == (t > 0) for s, t in zip(scores, targets)) / len(targets)
        health = nn.health(model, X)
        assert {n for n, u in e["units"].items() if u["state"] == "dead"} == {n for h in health.layers for n in h.dead}

    train(model, X, y, 5, rec, check=check)
    assert [e["step"] for e in rec.history] == [0, 2, 4]
    assert json.loads(json.dumps(list(rec.history), allow_nan=False)) == list(rec.history)
    first = rec.history[0]
    assert set(first) == {"step", "loss", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                          "weights", "grads", "units", "example", "row_dloss"}
    assert len(first["row_dloss"]) == len(X) and first["row_dloss"][rec.example] == first["example"]["dloss"]
    assert set(first["units"]["L1.N1"]) == {"mean", "min", "max", "active", "state"}


def test_unit_states_follow_nn_health_rules():
    """A relu unit that never fires is 'dead' and a tanh unit pinned at ±1 is 'saturated', as nn.health says."""
    X, y = make_moons(20, noise=0.1, seed=1)
    relu = nn.MLP(2, [4, 1], seed=0)
    relu.layers[0].neurons[2].b.data = -100.0
    tanh = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    for w in tanh.layers[0].neurons[1].w:
        w.data *= 200.0
    for model, name, state in ((relu, "L1.N3", "dead"), (tanh, "L1.N2", "saturated")):
        rec = nn.Recorder(model, train=(X, y))
        loss = nn.hinge_loss([model(x) for x in X], y)
        loss.backward()
        rec.record(0, loss)
        states = {n: u["state"] for n, u in rec.history[0]["units"].items()}
        assert states[name] == state and sum(s is not None for s in states.values()) == 1


@pytest.mark.parametrize("targets, nout, task, loss_fn, accuracy", [
    ([-1, 1, 1], 1, "sign", nn.hinge_loss, 2 / 3),
    ([0, 1, 1], 1, "binary", nn.bce_with_logits, 2 / 3),
    ([0, 2, 1], 3, "classes", nn.cross_entropy, 1 / 3),
    ([0.5, -2.0, 3.0], 1, "regression", nn.mse_loss, None),
])
def test_loss_and_accuracy_fit_the_targets(targets, nout, task, loss_fn, accuracy):
    """±1 targets get hinge loss and sign accuracy, 0/1 logistic loss, class indices softmax and argmax, others mse."""
    X = [[0.1, 0.2], [0.3, -0.4], [-0.5, 0.6]]
    model = nn.MLP(2, [3, nout], seed=2)
    for neuron in model.layers[-1].neurons:  # make the scores known: +1 for the first output, -1 otherwise
        for w in neuron.w:
            w.data = 0.0
    for j, neuron in enumerate(model.layers[-1].neurons):
        neuron.b.data = 1.0 if j == 0 else -1.0
    rec = nn.Recorder(model, train=(X, targets))
    rec.record(0, 0.0)
    e = rec.history[0]
    assert rec.task == task and rec.loss_fn is loss_fn and e["train_accuracy"] == pytest.approx(accuracy)
    outs = [Value(v) for v in ([1.0] + [-1.0] * (nout - 1))]
    loss = loss_fn([outs if nout > 1 else outs[0]], [targets[0]])
    assert e["example"]["dloss"] == list(grad(loss, outs))


TASKS = {"sign": [-1, 1, 1, -1], "binary": [0, 1, 1, 0], "classes": [0, 2, 1, 2], "regression": [0.5, -2.0, 3.0, 1.0]}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", nn.module.ACTIVATIONS)
@pytest.mark.parametrize("scale", [1e300, math.inf, math.nan])
def test_huge_or_non_finite_weights_are_recorded_as_none(task, activation, scale):
    """With weights too large for a float's arithmetic (or inf, or nan), record() works and every number it keeps is
    finite or None; a NaN model's accuracy is 0."""
    X = [[0.1, 0.2], [0.3, -0.4], [-0.5, 0.6], [0.7, 0.8]]
    model = nn.MLP(2, [3, 3 if task == "classes" else 1], activation=activation, seed=2)
    for p in model.parameters():
        p.data *= scale
    rec = nn.Recorder(model, train=(X, TASKS[task]), val=(X, TASKS[task]))
    rec.record(0, math.inf, lr=0.1)
    e = rec.history[0]
    json.dumps(e, allow_nan=False)
    assert e["loss"] is None and (scale == scale or e["train_loss"] is None)
    if math.isnan(scale) and task != "regression":
        assert e["train_accuracy"] == e["val_accuracy"] == 0.0


def test_an_all_nan_models_page_shows_no_right_prediction(browser, tmp_path):
    """For a model whose outputs are all NaN, the recorded accuracy is 0 and the page marks every row wrong."""
    X, y = make_moons(12, seed=1)
    for targets, nout in ((y, 1), ([(t + 1) // 2 for t in y], 1), ([k % 3 for k in range(12)], 3)):
        model = nn.MLP(2, [3, nout], seed=0)
        model.layers[0].neurons[0].b.data = math.nan
        for n in model.layers[1].neurons:
            n.w[0].data = 1.0
        rec = nn.Recorder(model, train=(X, targets))
        rec.record(0, 0.5)
        assert rec.history[0]["train_accuracy"] == 0.0
        opened = Opened(browser, rec.to_html(tmp_path / "nan.html"))
        right = opened.page.evaluate("() => replay.data.train.X.map((x, r) => "
                                     "replay.predictedRight(replay.forward(0, x).out, replay.data.train.y[r]))")
        assert right == [False] * 12 and opened.errors == []
        opened.page.close()


def test_recorded_step_holds_about_8_bytes_a_number():
    """Recording keeps each step's numbers in a flat array: memory grows by under 16 bytes a recorded number (8 for the
    number, the rest transient), where a dict of dicts per step held 32."""
    tracemalloc = pytest.importorskip("tracemalloc")
    X, y = make_moons(4, seed=1)
    model = nn.MLP(2, [16, 16, 1], seed=1)
    rec = nn.Recorder(model, train=(X, y), val=(X, y))
    rec.record(0, 0.5, lr=0.1)
    width = len(rec._rows)  # numbers a step records: 337 weights, 337 gradients, unit statistics, losses
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for k in range(1, 41):
            rec.record(k, 0.5, lr=0.1)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    print(f"\n{held / 40:.0f} bytes per recorded step of {width} numbers")
    assert held < 40 * width * 16


def long_recording(steps):
    """The moons net (337 parameters) with `steps` recorded steps, made cheaply: one step recorded for real, then
    its row of numbers repeated with the step numbers 0, 1, ... and a loss falling to its lowest at step 2/3 of the way."""
    X, y = make_moons(20, noise=0.1, seed=1)
    model = nn.MLP(2, [16, 16, 1], seed=1)
    rec = nn.Recorder(model, train=(X, y), val=(X, y))
    rec.record(0, 0.5, lr=0.1)
    width, fields = rec._width, rec._fields
    rec._rows *= steps
    rec._states *= steps
    rec._row_dloss *= steps
    for k in range(steps):
        rec._rows[k * width] = k
        rec._rows[k * width + fields["val_loss"].start] = 1.0 + abs(k - 2 * steps // 3) / steps
    return rec


def page_json(path):
    return json.loads(re.search(r'id="replay-data">(.*?)</script>', path.read_text(encoding="utf-8"), re.S).group(1))


def test_a_long_runs_page_stays_under_the_cap_with_every_loss_value(tmp_path):
    """10^4 recorded steps of a 337-parameter net (149.6 MB unthinned) make a page under 20 MB: evenly spaced frames
    with the first, the last and the best, and every recorded step's losses."""
    rec = long_recording(10_000)
    path = rec.to_html(tmp_path / "long.html")
    size = path.stat().st_size
    data = page_json(path)
    frames = data["frames"]
    print(f"\n10^4 steps: page {size / 1e6:.1f} MB with {len(frames)} frames")
    assert nn.recorder.PAGE_BYTES == 20_000_000 and 0.8 * nn.recorder.PAGE_BYTES < size < nn.recorder.PAGE_BYTES
    assert data["steps"] == list(range(10_000)) and data["val_loss"] == [e["val_loss"] for e in rec.history]
    assert data["recorded"] == 10_000  # with every step in the curves, frames are positions among the recorded steps
    assert frames[0] == 0 and frames[-1] == 9_999 and 2 * 10_000 // 3 in frames and frames == sorted(set(frames))
    even = [b - a for a, b in zip(frames, frames[1:])]
    assert max(even) - min(even) <= max(even) // 2 + 1 and len(frames) > 500
    assert len(data["weights"]) == len(data["grads"]) == len(data["units"]) == len(data["row_dloss"]) == len(frames)
    assert data["weights"][-1] == list(rec.history[9_999]["weights"].values())


def test_a_thinned_page_says_so_and_scrubs_over_its_frames(browser, tmp_path, monkeypatch):
    """A page thinned to its cap says how many frames of how many steps it shows, and its scrubber ends at the last step;
    where even the curves would not fit, they are thinned too and the page says so."""
    monkeypatch.setattr(nn.recorder, "PAGE_BYTES", 1_000_000)
    rec = long_recording(600)
    path = rec.to_html(tmp_path / "thinned.html")
    n = len(page_json(path)["frames"])
    assert path.stat().st_size < 1_000_000 and 2 < n < 600
    opened = Opened(browser, path)
    note = opened.page.inner_text("#thinned")
    assert f"{n} evenly spaced frames of its 600 recorded steps" in note and opened.page.is_visible("#thinned")
    opened.page.keyboard.press("End")
    assert opened.page.inner_text("#step-readout").startswith(f"step 599 (frame {n} of {n})")
    assert opened.errors == []
    opened.page.close()
    monkeypatch.setattr(nn.recorder, "PAGE_BYTES", 200_000)  # even the curves of 3000 steps (167 kB) do not fit in half
    rec = long_recording(3000)
    path = rec.to_html(tmp_path / "curves.html")
    data = page_json(path)
    assert path.stat().st_size < 200_000 and data["recorded"] == 3000 and len(data["steps"]) < 3000
    assert set(data["steps"][k] for k in data["frames"]) >= {0, 2999, 2000}
    opened = Opened(browser, path)
    assert f"the curves have {len(data['steps'])} evenly spaced steps" in opened.page.inner_text("#thinned")
    marker = float(opened.page.get_attribute("#loss-chart line.marker", "x1"))
    opened.page.keyboard.press("End")  # the curves span the chart: the last step's marker is at its right end
    assert float(opened.page.get_attribute("#loss-chart line.marker", "x1")) > marker + 200
    assert "2999" in opened.page.text_content("#loss-chart")
    assert opened.errors == []
    opened.page.close()
    full = Opened(browser, recorder_with_steps_page(tmp_path))
    assert not full.page.is_visible("#thinned") and full.errors == []
    full.page.close()


def recorder_with_steps_page(tmp_path):
    rec = recorder_with_steps()
    for k in range(3):
        rec.record(k, 0.5)
    return rec.to_html(tmp_path / "short.html")


def recorder_with_steps(**kwargs):
    X, y = make_moons(10, seed=1)
    rec = nn.Recorder(nn.MLP(2, [3, 1], seed=0), train=(X, y), **kwargs)
    return rec


@pytest.mark.parametrize("make, error, words", [
    (lambda: nn.Recorder(3, train=([[0.0, 0.0]], [1])), TypeError, ["model", "int 3"]),
    (lambda: nn.Recorder(nn.MLP(2, [1]), train=5), ValueError, ["train", "5"]),
    (lambda: nn.Recorder(nn.MLP(2, [1]), train=([[0.0, 0.0]], [1, -1])), ValueError, ["train", "1 rows", "2 targets"]),
    (lambda: nn.Recorder(nn.MLP(2, [1]), train=([[0.0]], [1])), ValueError, ["train row 0", "[0.0]"]),
    (lambda: nn.Recorder(nn.MLP(2, [1]), train=([[0.0, 0.0]], ["a"])), ValueError, ["train target 0", "'a'"]),
    (lambda: nn.Recorder(nn.MLP(2, [1]), train=([[0.0, 0.0]], [1]), val=([[0.0, math.nan]], [1])), ValueError,
     ["val row 0", "nan"]),
    (lambda: nn.Recorder(nn.MLP(2, [1]), train=([[0.0, 0.0]], [1]), every=0), ValueError, ["every", "0"]),
    (lambda: nn.Recorder(nn.MLP(2, [1]), train=([[0.0, 0.0]], [1]), example=7), ValueError, ["example", "7"]),
    (lambda: nn.Recorder(nn.MLP(2, [1]), train=([[0.0, 0.0]], [1]), loss_fn="hinge"), TypeError, ["loss_fn", "'hinge'"]),
    (lambda: nn.Recorder(nn.MLP(2, [2]), train=([[0.0, 0.0]], [0.5])), ValueError, ["2 outputs", "[0.5]"]),
    (lambda: recorder_with_steps().record(-1, 0.5), ValueError, ["step", "-1"]),
    (lambda: recorder_with_steps().record("3", 0.5), ValueError, ["step", "'3'"]),
    (lambda: recorder_with_steps().record(0, "low"), TypeError, ["loss", "str 'low'"]),
    (lambda: recorder_with_steps().record(0, 0.5, lr=-1), ValueError, ["lr", "-1"]),
    (lambda: recorder_with_steps().to_html("x.html"), ValueError, ["nothing recorded"]),
])
def test_bad_arguments_name_the_argument_and_the_value(make, error, words):
    """Each bad argument is a clear error naming the argument and the value it got."""
    with pytest.raises(error) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_steps_must_increase():
    """Recording step 3 after step 5 is an error naming both."""
    rec = recorder_with_steps()
    rec.record(5, 0.5)
    with pytest.raises(ValueError, match=r"step must increase.*got 3 after 5"):
        rec.record(3, 0.5)


def test_page_is_one_escaped_file_and_shows_inline_in_jupyter(tmp_path):
    """The page inlines its assets, escapes hostile labels inside its JSON, and the recorder shows itself as an iframe."""
    X, y = make_moons(10, seed=1)
    model = nn.MLP(2, [3, 1], seed=0)
    model.layers[0].neurons[0].w[0].label = "</script><script>alert(1)</script>&"
    rec = nn.Recorder(model, train=(X, y))
    train(model, X, y, 2, rec)
    page = rec.to_html(tmp_path / "replay.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and page.count("</script>") == 2 and page.count("<style>") == 1
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page) and "@import" not in page
    data = json.loads(re.search(r'id="replay-data">(.*?)</script>', page, re.S).group(1))
    assert data["params"][0] == "</script><script>alert(1)</script>&" and len(data["weights"]) == 2
    inline = rec._repr_html_()
    assert inline.startswith("<iframe srcdoc=\"") and "<script>" not in inline and "&lt;script&gt;" in inline


# ---- the page in a real browser ------------------------------------------------------------------

# ``browser``: the headless Chromium of tests/conftest.py, one per module


class Opened:
    """A page opened from a file, with every console error and every request that left the file."""

    def __init__(self, browser, path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.errors, self.outside = [], []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r):
            if r.request.url.startswith(("file:", "data:")):
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        start = time.perf_counter()
        self.page.goto(path.as_uri())
        self.page.wait_for_function("document.body.dataset.step === '0' && window.replay !== undefined")
        self.seconds = time.perf_counter() - start


@pytest.fixture(scope="module")
def moons_page(tmp_path_factory):
    """The moons demo's run (MLP(2, [16, 16, 1]) on 100 points, 100 recorded steps) as a page."""
    X, y = make_moons(100, noise=0.1, seed=1)
    Xv, yv = make_moons(40, noise=0.1, seed=2)
    model = nn.MLP(2, [16, 16, 1], seed=1)
    rec = nn.Recorder(model, train=(X, y), val=(Xv, yv), example=62)
    train(model, X, y, 100, rec, lr=0.5)
    return rec, rec.to_html(tmp_path_factory.mktemp("replay") / "moons_replay.html")


def test_moons_page_loads_small_and_offline(browser, moons_page):
    """The 100-step moons page is under 3 MB, loads, logs no errors and asks for nothing outside itself
    (its load time is printed, not asserted: a timed assertion fails on a loaded, shared machine)."""
    rec, path = moons_page
    size = path.stat().st_size
    opened = Opened(browser, path)
    print(f"\nmoons replay page: {size / 1e6:.2f} MB, loaded in {opened.seconds:.2f} s")
    assert size < 3e6
    opened.page.keyboard.press("End")
    opened.page.click('input[value="grad"]')
    opened.page.click('input[value="update"]')
    assert opened.errors == [] and opened.outside == []
    opened.page.close()


def test_scrubbing_moves_the_boundary_and_the_curves_marker(browser, moons_page):
    """Moving from the first step to the last redraws the decision boundary and moves the loss curve's marker."""
    opened = Opened(browser, moons_page[1])
    page = opened.page
    picture = "document.getElementById('boundary').toDataURL()"
    marker = "document.querySelector('#loss-chart .marker').getAttribute('x1')"
    first, x_first = page.evaluate(picture), float(page.evaluate(marker))
    page.keyboard.press("End")
    assert page.evaluate("document.body.dataset.step") == "99"
    assert page.evaluate(picture) != first and float(page.evaluate(marker)) > x_first + 200
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("PageUp")
    assert page.evaluate("document.body.dataset.step") == "88"
    page.fill("#scrubber", "5")
    page.dispatch_event("#scrubber", "input")
    assert page.evaluate("document.body.dataset.step") == "5"
    assert opened.errors == []
    page.close()


def test_clicking_a_weight_shows_its_numbers(browser, moons_page):
    """Clicking an edge shows that weight's value and gradient at the current step, and its chain-rule sum."""
    rec, path = moons_page
    opened = Opened(browser, path)
    page = opened.page
    page.keyboard.press("End")
    name = "L2.N4.w2"
    p = list(rec.history[0]["weights"]).index(name)
    page.dispatch_event(f'line.hit[data-param="{p}"]', "click")
    details = page.text_content("#details")
    assert name in details and "chain rule" in details
    shown = {f: float(page.text_content(f'#details tr[data-field="{f}"] .num')) for f in ("value", "grad")}
    last = rec.history[-1]
    assert shown["value"] == pytest.approx(last["weights"][name], rel=1e-5)
    assert shown["grad"] == pytest.approx(last["grads"][name], rel=1e-3, abs=1e-12)
    widths = page.evaluate("['.selected-halo', '.selected-edge'].map(c => Number(document.querySelector('#edges ' + c)"
                           ".getAttribute('stroke-width')))")
    assert widths[0] == pytest.approx(widths[1] + 5)  # a ring around the edge's own width, thin or thick
    page.click("#network .unit >> nth=5")  # a neuron: its activation statistics
    assert "rows with output > 0" in page.text_content("#details")
    assert opened.errors == []
    page.close()


def model_at(rec, i, make):
    """A fresh model with the weights recorded at step index i."""
    model = make()
    model.load_state_dict(rec.history[i]["weights"])
    return model


@pytest.mark.parametrize("activation", nn.module.ACTIVATIONS)
def test_page_forward_pass_equals_pythons(browser, tmp_path, activation):
    """The page's own forward pass (for boundaries and heatmaps) gives the model's outputs and every neuron's output."""
    X, y = make_moons(12, noise=0.2, seed=3)
    make = lambda: nn.MLP(2, [5, 4, 1], activation=activation, seed=4)  # noqa: E731
    model = make()
    rec = nn.Recorder(model, train=(X, y))
    train(model, X, y, 3, rec, lr=0.3)
    opened = Opened(browser, rec.to_html(tmp_path / "p.html"))
    for i in (0, 2):
        at = model_at(rec, i, make)
        for x in X:
            js = opened.page.evaluate("([i, x]) => replay.forward(i, x)", [i, x])
            with no_grad():
                outs = [v.data for layer_out in _layer_outputs(at, x) for v in layer_out]
                score = at(x).data
            assert js["out"][0] == pytest.approx(score, rel=1e-12, abs=1e-12)
            assert js["units"] == pytest.approx(outs, rel=1e-12, abs=1e-12)
    assert opened.errors == []
    opened.page.close()


def _layer_outputs(model, x):
    outs = []
    for layer in model.layers:
        x = layer(x)
        outs.append(x)
    return outs


def test_page_marks_wrong_exactly_the_rows_nn_accuracy_counts_wrong(browser, moons_page):
    """At every tenth frame, the rows the page rings as wrong are the ones nn.accuracy (the recorded accuracy) counts."""
    rec, path = moons_page
    opened = Opened(browser, path)
    n = len(rec.train[1])
    for i in range(0, len(rec.history), 10):
        right = opened.page.evaluate("(i) => replay.data.train.X.map((x, r) => "
                                     "replay.predictedRight(replay.forward(i, x).out, replay.data.train.y[r]))", i)
        assert sum(right) / n == rec.history[i]["train_accuracy"]
    opened.page.close()

def test_page_chain_rule_paths_are_the_engines(browser, moons_page):
    """For a weight in each layer, the page's path products are trace.paths' and add up to the engine's gradient."""
    rec, path = moons_page
    opened = Opened(browser, path)
    i, row = 3, rec.example
    make = lambda: nn.MLP(2, [16, 16, 1], seed=1)  # noqa: E731
    model = model_at(rec, i, make)
    x, target = rec.train[0][row], rec.train[1][row]
    loss = nn.hinge_loss([model([Value(v) for v in x])], [target])
    names = list(rec.history[0]["weights"])
    for name in ("L1.N3.w1", "L1.N7.b", "L2.N4.w2", "L3.N1.w5", "L3.N1.b"):
        w = model.parameters()[names.index(name)]
        (expected,) = grad(loss, [w])
        js = opened.page.evaluate("([p, i]) => replay.paths(p, i)", [names.index(name), i])
        engine = sorted(q.product for q in trace.paths(w, loss))
        assert sorted(q["product"] for q in js["paths"]) == pytest.approx(engine, rel=1e-9, abs=1e-15)
        assert js["total"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert js["paths"][0]["nodes"][-1] == name
    assert opened.errors == []
    opened.page.close()


@pytest.mark.parametrize("kind", ["classes", "curve"])
def test_other_tasks_draw_without_errors(browser, tmp_path, kind):
    """A three-class spiral draws class regions and a 1-D regression its fitted curve, with no console errors."""
    if kind == "classes":
        X, y = make_spiral(30, classes=3, seed=1)
        model = nn.MLP(2, [6, 3], seed=1)
        lossf = lambda: nn.cross_entropy([model(x) for x in X], y)  # noqa: E731
        title = "Decision boundary"
    else:
        X, y = make_sine(20, seed=1)
        model = nn.MLP(1, [6, 1], activation="tanh", seed=1)
        lossf = lambda: nn.mse_loss([model(x) for x in X], y)  # noqa: E731
        title = "Fitted curve"
    rec = nn.Recorder(model, train=(X, y))
    for k in range(3):
        loss = lossf()
        model.zero_grad()
        loss.backward()
        rec.record(k, loss)
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    opened = Opened(browser, rec.to_html(tmp_path / "p.html"))
    assert opened.page.text_content("#plane-title") == title
    opened.page.keyboard.press("End")
    opened.page.dispatch_event('line.hit[data-param="0"]', "click")
    assert opened.errors == [] and opened.outside == []
    opened.page.close()


def test_page_assets_ship_as_package_data():
    """Every file under nn/assets is matched by pyproject's package-data, so a non-editable install has the page."""
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path

    root = Path(nn.__file__).parent
    patterns = tomllib.loads((root.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["nn"]
    assets = sorted((root / "assets").iterdir())
    assert assets and all(any(a.match(f"nn/{pattern}") for pattern in patterns) for a in assets)


def run_every_second_step(lr):
    """Ten steps of moons with a decaying learning rate, recorded every second step, with or without the lr."""
    X, y = make_moons(30, noise=0.1, seed=4)
    model = nn.MLP(2, [6, 5, 1], seed=1)
    rec = nn.Recorder(model, train=(X, y), every=2)
    for k in range(10):
        rate = 0.5 / (1 + k)
        loss = nn.hinge_loss([model(x) for x in X], y) + 1e-4 * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        rec.record(k, loss, lr=rate if lr else None)
        for p in model.parameters():
            p.data -= rate * p.grad
    return rec


def shown_update(page, rec, i, name):
    """Frame i in update mode with weight `name` clicked: (the update row's label, its number, the net legend)."""
    page.evaluate("i => replay.setStep(i)", i)
    page.click('input[value="update"]')
    page.dispatch_event(f'line.hit[data-param="{list(rec.history[0]["weights"]).index(name)}"]', "click")
    label = page.text_content('#details tr[data-field="update"] td')
    return label, float(page.text_content('#details tr[data-field="update"] .num')), page.text_content("#net-legend")


def assert_edges_show(page, expected):
    """Every weight's edge is coloured by the sign of its number in ``expected`` and as wide as its size allows."""
    scale = max(abs(v) for v in expected)
    edges = page.eval_on_selector_all("#edges line.edge[data-param]", "ls => ls.map(l => "
                                      "[+l.dataset.param, l.getAttribute('stroke'), +l.getAttribute('stroke-width')])")
    for p, stroke, width in edges:
        v = expected[p]
        assert width == pytest.approx(0.4 + 5.6 * abs(v) / scale, abs=0.006)
        assert stroke == ("#2563eb" if v > 0 else "#dc2626" if v < 0 else "#9ca3af")


def test_update_with_lr_is_this_steps_minus_lr_times_grad(browser, tmp_path):
    """With lr recorded every second step, a weight's update and the update edges are -lr·grad of that step, not two steps' change."""
    rec = run_every_second_step(lr=True)
    opened = Opened(browser, rec.to_html(tmp_path / "p.html"))
    page, i, name = opened.page, 2, "L2.N3.w4"
    e = rec.history[i]
    label, number, legend = shown_update(page, rec, i, name)
    assert number == pytest.approx(-e["lr"] * e["grads"][name], rel=1e-5)
    assert number != pytest.approx(rec.history[i + 1]["weights"][name] - e["weights"][name], rel=1e-3)
    assert "−lr·grad" in label and "−lr·grad > 0" in legend
    assert_edges_show(page, [-e["lr"] * g for g in e["grads"].values()])
    assert opened.errors == []
    page.close()


def test_update_without_lr_says_it_is_the_change_to_the_next_frame(browser, tmp_path):
    """Without an lr the page shows the change until the next recorded step and says how many steps that is."""
    rec = run_every_second_step(lr=False)
    opened = Opened(browser, rec.to_html(tmp_path / "p.html"))
    name = "L1.N2.w1"
    label, number, legend = shown_update(opened.page, rec, 1, name)
    assert number == pytest.approx(rec.history[2]["weights"][name] - rec.history[1]["weights"][name], rel=1e-5)
    assert label == "change until step 4 (2 steps)" and "went up by step 4" in legend and "this step" not in label
    label, number, _ = shown_update(opened.page, rec, 4, name)
    assert label == "change until the final weights"
    assert number == pytest.approx(rec.model.state_dict()[name] - rec.history[4]["weights"][name], rel=1e-5)
    assert opened.errors == []
    opened.page.close()


@pytest.mark.parametrize("width", [1000, 1280, 1400, 1920])
def test_layout_holds_from_1000_to_1920_pixels(browser, moons_page, width):
    """The page never scrolls sideways, the network's legend stays in its panel, column titles do not overlap and the model is shown whole."""
    rec, path = moons_page
    opened = Opened(browser, path)
    page = opened.page
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("replay.setStep(78)")
    page.click('input[value="update"]')
    page.dispatch_event('line.hit[data-param="40"]', "click")
    box = "id => { const r = document.getElementById(id).getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    legend, middle, network = page.evaluate(box, "net-legend"), page.evaluate(box, "middle"), page.evaluate(box, "network")
    assert middle[0] <= legend[0] and legend[2] <= middle[2] and middle[1] <= legend[1] and legend[3] <= middle[3]
    assert page.evaluate("document.getElementById('net-legend').scrollWidth <= document.getElementById('net-legend').clientWidth")
    titles = page.eval_on_selector_all(".column-title", "ts => ts.map(t => { const r = t.getBoundingClientRect(); "
                                       "return [r.left, r.top, r.right, r.bottom]; })")
    for a, b in zip(titles, titles[1:]):
        assert a[2] < b[0], (a, b)  # left to right, apart
    assert all(network[0] <= t[0] and t[2] <= network[2] for t in titles)
    model = page.evaluate("(() => { const m = document.getElementById('model'); "
                          "return [m.scrollWidth <= m.clientWidth, m.scrollHeight <= m.clientHeight, m.textContent]; })()")
    assert model[0] and model[1] and model[2].startswith(repr(rec.model))
    assert opened.errors == []
    page.close()


def test_selected_edge_is_drawn_on_top_with_its_highlight(browser, moons_page):
    """In weight mode the clicked edge is drawn again after every other edge, over its yellow highlight, a ring
    2.5 px wide on each side of it (a fixed 9 px made a tiny update look large)."""
    rec, path = moons_page
    opened = Opened(browser, path)
    page = opened.page
    page.dispatch_event('line.hit[data-param="40"]', "click")
    last = page.evaluate("""(() => {
      const kids = [...document.getElementById('edges').children], edge = document.querySelector('line.edge[data-param="40"]');
      const [halo, top] = kids.slice(-2);
      const same = ['x1', 'y1', 'x2', 'y2', 'stroke', 'stroke-width'].every(a => top.getAttribute(a) === edge.getAttribute(a));
      return [halo.classList.contains('selected-halo'), top.classList.contains('edge'), same,
              Number(halo.getAttribute('stroke-width')) - Number(top.getAttribute('stroke-width'))];
    })()""")
    assert last[:3] == [True, True, True] and last[3] == pytest.approx(5)
    assert opened.errors == []
    page.close()


def test_sparklines_have_room_for_their_labels(browser, moons_page):
    """A clicked weight's small charts hold their axis labels and captions inside themselves, left edges aligned."""
    rec, path = moons_page
    opened = Opened(browser, path)
    page = opened.page
    names = list(rec.history[0]["grads"])
    weights = [n for n in names if not n.endswith(".b")]
    tiny = min(weights, key=lambda n: max(abs(e["grads"][n]) for e in rec.history))  # the longest labels, like -4.87e-5
    page.dispatch_event(f'line.hit[data-param="{names.index(tiny)}"]', "click")
    sparks = page.eval_on_selector_all("#details svg.spark", """ss => ss.map(s => {
      const v = s.viewBox.baseVal, w = v && v.width ? v.width : +s.getAttribute('width'), h = v && v.height ? v.height : +s.getAttribute('height');
      return {inside: [...s.querySelectorAll('text')].every(t => { const b = t.getBBox();
        return b.x >= 0 && b.y >= 0 && b.x + b.width <= w && b.y + b.height <= h; }),
        left: s.querySelector('path').getAttribute('d').split(',')[0]}; })""")
    assert len(sparks) == 2 and all(s["inside"] for s in sparks), (tiny, sparks)
    assert sparks[0]["left"] == sparks[1]["left"]
    assert opened.errors == []
    page.close()


def small_run(activation="relu", loss_fn=None, record_loss=nn.hinge_loss, restore=False, steps=12):
    """A 2-4-1 net on 30 moons rows, trained on ``record_loss`` (bce gets the ±1 labels as 0/1), recorded."""
    X, y = make_moons(30, noise=0.1, seed=4)
    model = nn.MLP(2, [4, 1], activation=activation, seed=2)
    targets = [(t + 1) // 2 for t in y] if record_loss is nn.bce_with_logits else y
    rec = nn.Recorder(model, train=(X, targets if loss_fn is not None else y), loss_fn=loss_fn)
    es = nn.EarlyStopping(patience=100)
    for k in range(steps):
        loss = record_loss([model(x) for x in X], targets)
        model.zero_grad()
        loss.backward()
        rec.record(k, loss, lr=0.3)
        es.step(loss.data if k != 3 else -1.0, model)  # step 3 "best": restore puts its weights back
        for p in model.parameters():
            p.data -= 0.3 * p.grad
    if restore:
        es.restore(model)
    return rec


def test_replay_draws_and_names_the_loss_the_user_trained_with(browser, tmp_path):
    """Trained with bce on ±1 labels and no loss_fn, the page says hinge_loss is inferred and not the loss recorded,
    and draws only the recorded loss; with loss_fn= given it names that loss, with no 'inferred'."""
    mismatch = small_run(record_loss=nn.bce_with_logits)
    assert mismatch.page_data()["loss_mismatch"] is not None
    opened = Opened(browser, mismatch.to_html(tmp_path / "m.html"))
    page = opened.page
    assert "hinge_loss (inferred, not the loss you recorded)" in page.inner_text("#model")
    legend = page.inner_text("#loss-legend")
    assert "loss passed to record()" in legend and "training" not in legend and "pass loss_fn=" in legend
    assert page.eval_on_selector_all("#loss-chart path", "ps => ps.length") == 1
    given = small_run(loss_fn=nn.bce_with_logits, record_loss=nn.bce_with_logits)
    assert given.page_data()["loss_mismatch"] is None and not given.page_data()["loss_inferred"]
    page2 = Opened(browser, given.to_html(tmp_path / "g.html")).page
    assert "bce_with_logits" in page2.inner_text("#model") and "inferred" not in page2.inner_text("#model")
    assert "training bce_with_logits" in page2.inner_text("#loss-legend")
    assert opened.errors == [] and opened.outside == []
    page.close()
    page2.close()


def test_clicking_a_training_point_chooses_the_story_row(browser, tmp_path):
    """A click on a training row in the plane makes it the story's row, and its sum over paths is the
    engine's gradient of that row's loss for the weight."""
    rec = small_run(loss_fn=nn.hinge_loss)
    opened = Opened(browser, rec.to_html(tmp_path / "r.html"))
    page = opened.page
    i, p = 5, 0
    page.evaluate(f"window.replay.setStep({i})")
    page.evaluate(f"window.replay.select({{kind: 'weight', p: {p}}})")
    X, y = rec.train
    # the row whose point lies nearest the plane's centre, but not the default example row
    box = page.eval_on_selector("#boundary", "c => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.width]; }")
    points = page.evaluate("() => { const D = window.replay.data; return D.train.X; }")
    lo = [min(r[d] for r in points) - 0.5 for d in (0, 1)]
    hi = [max(r[d] for r in points) + 0.5 for d in (0, 1)]
    row = max((r for r in range(len(X)) if r != rec.example),
              key=lambda r: -min(abs(X[r][0] - X[q][0]) + abs(X[r][1] - X[q][1]) for q in range(len(X)) if q != r))
    px = box[0] + (X[row][0] - lo[0]) / (hi[0] - lo[0]) * box[2]
    py = box[1] + (hi[1] - X[row][1]) / (hi[1] - lo[1]) * box[2]
    page.mouse.click(px, py)
    assert page.evaluate("document.body.dataset.row") == str(row)
    assert f"For training row {row} alone" in page.inner_text("#details")
    shown = float(page.inner_text('[data-field="story-sum"] td.num'))
    model = nn.MLP(2, [4, 1], seed=2)
    model.load_state_dict(rec.history[i]["weights"])
    w = model.parameters()[p]
    (expected,) = grad(nn.hinge_loss([model(X[row])], [y[row]]), [w])
    assert shown == pytest.approx(expected, rel=1e-5, abs=1e-9)
    assert opened.errors == [] and opened.outside == []
    page.close()


def test_weights_that_never_moved_are_not_called_restored():
    """A model whose weights did not change (no update between the records) holds the last recorded step's
    weights, so the page claims no restore, though they equal every earlier step's too."""
    X, y = make_moons(10, noise=0.1, seed=4)
    model = nn.MLP(2, [3, 1], seed=2)
    rec = nn.Recorder(model, train=(X, y))
    for k in range(3):
        loss = nn.hinge_loss([model(x) for x in X], y)
        model.zero_grad()
        loss.backward()
        rec.record(k, loss)
    assert rec.page_data()["restored_to"] is None


def test_replay_key_layout_log_axis_and_restored_model(browser, tmp_path):
    """A tanh net's key shows only the saturated state; 'log scale' labels the y axis; at 1280x800 the left
    column and the network key fit without scrolling; a restored model is named with the step it holds, in a note
    under the header, which stays as high as a page without it."""
    rec = small_run(activation="tanh", loss_fn=nn.hinge_loss, restore=True)
    assert rec.page_data()["restored_to"] == 3
    opened = Opened(browser, rec.to_html(tmp_path / "t.html"))
    page = opened.page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("window.replay.setStep(2)")
    key = page.inner_text("#net-legend")
    assert "saturated" in key and "dead" not in key
    assert "restored to step 3" in page.inner_text("#restored") and page.is_visible("#restored")
    plain = Opened(browser, small_run(activation="tanh", loss_fn=nn.hinge_loss).to_html(tmp_path / "p.html")).page
    plain.set_viewport_size({"width": 1280, "height": 800})
    height = "document.querySelector('header').getBoundingClientRect().height"
    assert page.evaluate(height) == plain.evaluate(height) and not plain.is_visible("#restored")
    plain.close()
    axis = page.eval_on_selector_all("#loss-chart text", "ts => ts.filter(t => t.textContent === 'log scale')"
                                     ".map(t => t.getAttribute('transform'))")
    assert len(axis) == 1 and axis[0].startswith("rotate(-90")
    fits = page.evaluate("""() => { const l = document.getElementById('left'), k = document.getElementById('net-legend');
        return [l.scrollHeight <= l.clientHeight + 1, k.getBoundingClientRect().bottom <= innerHeight,
                document.getElementById('acc-legend').getBoundingClientRect().bottom <= innerHeight]; }""")
    assert fits == [True, True, True]
    page.close()


def test_a_zero_sum_over_paths_says_why(browser, moons_page):
    """Where a weight's sum over paths is exactly 0, the story says why (a dead unit on the row, or a flat loss)."""
    rec, path = moons_page
    opened = Opened(browser, path)
    found = opened.page.evaluate("""() => { const R = window.replay, D = R.data;
        for (let i = D.steps.length - 1; i >= 0; i--) for (let p = 0; p < D.params.length; p++)
          if (R.paths(p, i).total === 0) return [i, p];
        return null; }""")
    assert found is not None
    i, p = found
    opened.page.evaluate(f"window.replay.setStep({i}); window.replay.select({{kind: 'weight', p: {p}}})")
    why = opened.page.inner_text('[data-field="zero-why"]')
    assert why.startswith("The sum is 0 because")
    assert "slope 0 on this row" in why or "dℓ/d(output) is 0" in why or "is 0 on this row" in why
    opened.page.close()


def run_adam(steps=6, every=1, clip=0.5):
    """Moons trained by nn.optim.Adam with clipping, recorded with the optimizer; also returns each step's applied change."""
    X, y = make_moons(30, noise=0.1, seed=4)
    model = nn.MLP(2, [6, 5, 1], seed=1)
    opt = nn.optim.Adam(model.parameters(), lr=0.05)
    rec = nn.Recorder(model, train=(X, y), every=every, optimizer=opt)
    applied = []
    for k in range(steps):
        loss = nn.hinge_loss([model(x) for x in X], y)
        opt.zero_grad()
        loss.backward()
        nn.clip_grad_norm(model.parameters(), clip)
        before = model.state_dict()
        rec.record(k, loss)
        assert model.state_dict() == before
        opt.step()
        applied.append({key: model.state_dict()[key] - w for key, w in before.items()})
    return rec, applied


def test_recorder_with_an_optimizer_records_the_update_it_applies():
    """With optimizer=Adam, each entry's update is exactly the change Adam's step made (clipped gradients,
    moving averages and all), not -lr * grad, and lr is the optimizer's."""
    rec, applied = run_adam()
    for e, change in zip(rec.history, applied):
        assert e["lr"] == 0.05 and e["update"] == change
    e = rec.history[3]
    assert any(abs(e["update"][k] + e["lr"] * g) > 1e-4 for k, g in e["grads"].items())
    data = rec.page_data()
    assert data["optimizer"] == "Adam" and data["updates"][3] == [e["update"][k] for k in data["params"]]
    thinned = rec.page_data(frames=[1, 4])  # a long run's page keeps some frames: their updates go with them
    assert thinned["updates"] == [[applied[k][key] for key in data["params"]] for k in (1, 4)]
    with pytest.raises(TypeError, match="optimizer must be an nn.optim optimizer"):
        nn.Recorder(rec.model, train=rec.train, optimizer="adam")


def test_page_shows_adams_applied_update(browser, tmp_path):
    """On a recorded Adam run the page's update for a weight, and the update edges, are the change Adam applied, named as Adam's."""
    rec, applied = run_adam()
    opened = Opened(browser, rec.to_html(tmp_path / "adam.html"))
    page, i, e = opened.page, 3, rec.history[3]
    name = max(e["grads"], key=lambda k: abs(e["update"][k] + e["lr"] * e["grads"][k]))  # Adam differs most here
    label, number, legend = shown_update(page, rec, i, name)
    assert number == pytest.approx(applied[i][name], rel=1e-5)
    assert number != pytest.approx(-rec.history[i]["lr"] * rec.history[i]["grads"][name], rel=1e-2)
    assert label == "Adam's update" and "Adam's update > 0 (raises the weight)" in legend
    assert_edges_show(page, [applied[i][k] for k in rec.page_data()["params"]])
    assert "Adam's step()" in page.get_attribute('#details tr[data-field="update"]', "title")
    page.screenshot(path="/tmp/optim/adam_replay.png")
    assert opened.errors == []
    page.close()


# ---- the chain-rule story of a clicked row, read from the engine's own record ----------------------

def story_run(activation, loss_fn, steps=8, lr=0.3):
    """A 2-5-4-1 net of ``activation`` on 30 moons rows trained with ``loss_fn`` (0/1 targets for bce), recorded;
    with cross_entropy a 2-5-4-3 net on 30 spiral rows of 3 classes."""
    if loss_fn is nn.cross_entropy:
        (X, targets), nout = make_spiral(10, classes=3, seed=1), 3
    else:
        (X, y), nout = make_moons(30, noise=0.1, seed=4), 1
        targets = [(t + 1) // 2 for t in y] if loss_fn is nn.bce_with_logits else y
    model = nn.MLP(2, [5, 4, nout], activation=activation, seed=2)
    rec = nn.Recorder(model, train=(X, targets), loss_fn=loss_fn)
    for k in range(steps):
        loss = loss_fn([model(x) for x in X], targets)
        model.zero_grad()
        loss.backward()
        rec.record(k, loss, lr=lr)
        for p in model.parameters():
            p.data -= lr * p.grad
    return rec


def engine_story(rec, i, row, name):
    """The engine's account of d loss / d ``name`` for training row ``row`` alone at recorded step ``i``:
    (trace.paths collapsed to neurons as the page shows them, grad). Each collapsed path is (its neurons
    from the top, its factors: d loss / d output summed over the loss's own paths, then the local
    derivative of every edge below the output that is not a neuron's addition, and the last edge's)."""
    model = nn.MLP(2, [len(layer.neurons) for layer in rec.model.layers], activation=rec.model.activation)
    model.load_state_dict(rec.history[i]["weights"])
    h, units = rec.train[0][row], {}
    for layer in model.layers:  # layer by layer, so every neuron's output node is known by identity
        h = layer(h)
        units.update({id(v): n.name for v, n in zip(h, layer.neurons)})
    loss = rec.loss_fn([h if len(h) > 1 else h[0]], [rec.train[1][row]])
    w = dict(zip(model.state_dict(), model.parameters()))[name]
    (total,) = grad(loss, [w])
    grouped = {}
    for q in trace.paths(w, loss):
        top = next(k for k, n in enumerate(q.nodes) if id(n) in units)
        below = [(k, f) for k, f in enumerate(q.factors) if k >= top]
        factors = [f for k, f in below if q.nodes[k].op != "add" or k == len(q.factors) - 1]
        key = tuple(id(n) for n in q.nodes[top:])
        entry = grouped.setdefault(key, [[units[id(n)] for n in q.nodes[top:] if id(n) in units], 0.0, factors])
        entry[1] += math.prod(q.factors[:top])
    paths = sorted((["ℓ"] + nodes + [name], [dloss] + factors) for nodes, dloss, factors in grouped.values())
    return paths, total


def click_row(page, rec, row):
    """Click training row ``row``'s point on the input plane, as a user would."""
    X = rec.train[0]
    box = page.eval_on_selector("#boundary", "c => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.width]; }")
    lo = [min(r[d] for r in X) - 0.5 for d in (0, 1)]
    hi = [max(r[d] for r in X) + 0.5 for d in (0, 1)]
    page.mouse.click(box[0] + (X[row][0] - lo[0]) / (hi[0] - lo[0]) * box[2],
                     box[1] + (hi[1] - X[row][1]) / (hi[1] - lo[1]) * box[2])
    assert page.evaluate("document.body.dataset.row") == str(row)


def isolated_rows(rec, rows):
    """``rows`` ordered from the one farthest from any other training point (a click cannot miss it)."""
    X = rec.train[0]
    far = lambda r: min(math.dist(X[r], X[q]) for q in range(len(X)) if q != r)  # noqa: E731
    return sorted(rows, key=far, reverse=True)


def shown_story(page):
    """The story as the page shows it: per path its neurons, the factors' texts and the product's text; the sum's text."""
    rows = page.eval_on_selector_all("#details tr.path-row", """trs => trs.map(tr => [
        tr.querySelector('.path').textContent, [...tr.querySelectorAll('.factors span')].map(s => s.textContent),
        tr.querySelector('td.num').textContent])""")
    return rows, page.inner_text('[data-field="story-sum"] td.num')


def near_shown(text, x):
    """Whether the page's text for a number (3 or 4 decimals, or 3 significant digits) is ``x`` to the digits shown."""
    shown = float(text)
    return shown == pytest.approx(x, abs=5.01e-4, rel=5e-3) or (x == 0 and shown == 0)


def assert_story_is_the_engines(page, rec, i, row, name):
    """The page's story for ``name`` on ``row`` at frame ``i`` is the engine's: each path's neurons and factors
    (to 1e-12, and to the digits shown), the products, and the sum (= grad of that row's loss)."""
    p = rec.page_data()["params"].index(name)
    page.evaluate("i => replay.setStep(i)", i)
    if name.endswith(".b"):  # a bias has no edge: its neuron's square, then the link to its story
        units = [n.name for layer in rec.model.layers for n in layer.neurons]
        page.click(f"#network .unit >> nth={len(rec.train[0][0]) + units.index(name[:-2])}")
        page.click("#details a.link")
    else:
        page.dispatch_event(f'line.hit[data-param="{p}"]', "click")
    assert page.inner_text("#details h3") == name
    expected, total = engine_story(rec, i, row, name)
    js = page.evaluate("([p, i]) => replay.paths(p, i)", [p, i])
    got = sorted((q["nodes"], q["factors"]) for q in js["paths"])
    assert [n for n, _ in got] == [n for n, _ in expected]
    for (_, fs), (_, es) in zip(got, expected):
        assert fs == pytest.approx(es, rel=1e-12, abs=1e-300)
    assert js["total"] == pytest.approx(total, rel=1e-12, abs=1e-300)
    rows, shown_sum = shown_story(page)
    assert len(rows) == len(expected)
    by_path = {}
    for nodes, factors in expected:
        by_path.setdefault(" ← ".join(nodes[:-1] + [nodes[-1].rsplit(".", 1)[-1]]), []).append(factors)
    for path_text, texts, product in rows:
        options = by_path[path_text]
        assert any(len(texts) == len(fs) and all(near_shown(t, f) for t, f in zip(texts, fs))
                   and near_shown(product, math.prod(fs)) for fs in options), (path_text, texts, options)
    assert float(shown_sum) == pytest.approx(total, rel=1e-5, abs=1e-300)
    return total


@pytest.mark.parametrize("activation, loss_fn", [("tanh", nn.hinge_loss), ("relu", nn.bce_with_logits),
                                                  ("gelu", nn.cross_entropy)])
def test_a_clicked_rows_story_is_the_engines(browser, tmp_path, activation, loss_fn):
    """Click a training row and a weight at a step: every path's neurons and factors and the sum on the page are what
    trace.paths and grad give for that row's loss at that step's weights, for weights in every layer (and through
    every output of a three-class net)."""
    rec = story_run(activation, loss_fn)
    opened = Opened(browser, rec.to_html(tmp_path / f"{activation}.html"))
    page = opened.page
    for row in isolated_rows(rec, [r for r in range(len(rec.train[0])) if r != rec.example])[:2]:
        click_row(page, rec, row)
        for i, name in ((5, "L1.N2.w1"), (5, "L2.N3.w4"), (7, "L3.N1.w0"), (2, "L1.N4.w0"), (7, "L2.N1.b")):
            assert_story_is_the_engines(page, rec, i, row, name)
    assert opened.errors == [] and opened.outside == []
    page.close()


def test_a_dead_relu_rows_sum_is_zero_and_says_why(browser, tmp_path):
    """On a row where a first-layer relu unit is off, each of its weights' paths has the engine's factor 0, the sum is 0
    like grad's, and the page says the unit has slope 0 on this row."""
    rec = story_run("relu", nn.bce_with_logits)
    i = 6
    W = rec.history[i]["weights"]
    off = [(r, j) for r in range(len(rec.train[0])) for j in range(1, 6)
           if W[f"L1.N{j}.b"] + sum(W[f"L1.N{j}.w{k}"] * rec.train[0][r][k] for k in (0, 1)) < 0]
    row = isolated_rows(rec, sorted({r for r, _ in off}))[0]
    unit = next(j for r, j in off if r == row)
    opened = Opened(browser, rec.to_html(tmp_path / "dead.html"))
    page = opened.page
    click_row(page, rec, row)
    assert assert_story_is_the_engines(page, rec, i, row, f"L1.N{unit}.w0") == 0
    why = page.inner_text('[data-field="zero-why"]')
    assert why.startswith("The sum is 0 because") and re.search(rf"\bL1\.N{unit}\b[^(]* ha(s|ve) slope 0 on this row", why)
    assert opened.errors == []
    page.close()


@pytest.mark.parametrize("activation, slope", [("relu", 0.0), ("leaky_relu", 0.01)])
def test_a_unit_at_its_kink_has_the_rules_slope(browser, tmp_path, activation, slope):
    """A unit whose input is exactly 0 on every row shows the slope the engine's rule gives at the kink
    (relu'(0) = 0, leaky_relu'(0) = its slope), on the example row and on a clicked one."""
    X, y = make_moons(12, noise=0.1, seed=4)
    model = nn.MLP(2, [3, 1], activation=activation, seed=2)
    for p in model.layers[0].neurons[1].parameters():
        p.data = 0.0
    rec = nn.Recorder(model, train=(X, y), loss_fn=nn.mse_loss)
    loss = nn.mse_loss([model(x) for x in X], y)
    model.zero_grad()
    loss.backward()
    rec.record(0, loss)
    opened = Opened(browser, rec.to_html(tmp_path / "kink.html"))
    page = opened.page
    for row in (rec.example, isolated_rows(rec, range(1, 12))[0]):
        if row != rec.example:
            click_row(page, rec, row)
        paths = page.evaluate("p => replay.paths(p, 0)", rec.page_data()["params"].index("L1.N2.w0"))["paths"]
        assert len(paths) == 1 and paths[0]["factors"][2] == slope
        assert_story_is_the_engines(page, rec, 0, row, "L1.N2.w0")
    assert opened.errors == []
    page.close()


def test_a_story_with_more_paths_than_max_paths_says_it_is_partial(browser, tmp_path):
    """A first-layer neuron of a 2-6-6-6-6-6-1 net has 1296 paths to the output: the story keeps trace.paths' first
    MAX_PATHS of them, flags them, and the page says its sum is partial."""
    X, y = make_moons(6, seed=1)
    model = nn.MLP(2, [6, 6, 6, 6, 6, 1], activation="tanh", seed=0)
    rec = nn.Recorder(model, train=(X, y))
    rec.record(0, 0.5)
    story = rec.page_data()["story"]
    assert story["truncated"][:6] == [True] * 6 and not any(story["truncated"][6:])
    assert [len(a) for a in story["above"][:7]] == [nn.recorder.MAX_PATHS] * 6 + [216]
    opened = Opened(browser, rec.to_html(tmp_path / "deep.html"))
    opened.page.dispatch_event('line.hit[data-param="0"]', "click")
    assert "sum over 1000 paths (stopped at 1000: partial)" in opened.page.inner_text('[data-field="story-sum"]')
    assert opened.errors == []
    opened.page.close()


def test_the_pages_arithmetic_is_the_op_tables_forms_it_carries(browser, tmp_path):
    """The page computes activations and local derivatives from the op forms in its JSON and from nothing else: a page
    whose tanh forms are replaced (forward 2x, derivative 7) shows outputs 2z and slopes 7."""
    rec = story_run("tanh", nn.hinge_loss, steps=2)
    path = rec.to_html(tmp_path / "forms.html")
    data = page_json(path)
    assert set(data["ops"]) == {"add", "mul", "tanh"} and data["activations"]["tanh"]["op"] == "tanh"
    data["ops"]["tanh"].update(forward="2 * x", partials=["7"])
    text = path.read_text(encoding="utf-8")
    start = text.index('id="replay-data">') + len('id="replay-data">')
    path.write_text(text[:start] + nn.recorder._script_json(data) + text[text.index("</script>", start):], encoding="utf-8")
    opened = Opened(browser, path)
    slopes = opened.page.evaluate("() => [...Array(9).keys()].map(u => replay.unitOnRow(0, replay.state.row, u)[1])")
    assert slopes == [7] * 9  # every hidden neuron of the 2-5-4-1 net, on the example row
    x = rec.train[0][rec.example]
    W = rec.history[0]["weights"]
    z = W["L1.N1.b"] + W["L1.N1.w0"] * x[0] + W["L1.N1.w1"] * x[1]
    assert opened.page.evaluate("x => replay.forward(0, x).units[0]", x) == pytest.approx(2 * z, rel=1e-12)
    assert opened.page.evaluate("u => replay.unitOnRow(0, replay.state.row, u)[0]", 0) == pytest.approx(2 * z, rel=1e-12)
    assert opened.errors == []
    opened.page.close()


def test_recording_a_loss_before_its_backward_is_refused_and_after_it_works():
    """record() with a loss whose backward() has not run (its .grad is still 0.0) is a ValueError saying when to call it, for any step."""
    X, y = make_moons(8, noise=0.1, seed=1)
    model = nn.MLP(2, [3, 1], seed=0)
    rec = nn.Recorder(model, train=(X, y), every=2)
    for step in (0, 1):
        loss = nn.hinge_loss([model(x) for x in X], y)
        model.zero_grad()
        with pytest.raises(ValueError, match=r"^record: the loss's backward\(\) has not run \(loss.grad is 0.0\), so "
                                             r"every gradient recorded would be 0 or stale; call rec.record\(step, loss\) "
                                             r"after loss.backward\(\) and before the update"):
            rec.record(step, loss, lr=0.1)
        loss.backward()
        rec.record(step, loss, lr=0.1)
    assert len(rec.history) == 1 and any(g != 0.0 for g in rec.history[0]["grads"].values())
    rec.record(2, 0.25, lr=0.1)  # a plain number cannot be checked, and is recorded as before
    assert rec.history[1]["loss"] == 0.25
