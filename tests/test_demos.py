"""Every demo runs from the public API with tiny settings and leaves valid pictures."""

import importlib
import math
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")


def assert_picture(path):
    data = path.read_bytes()
    if path.suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000, path
    else:
        ET.fromstring(data)


def pictures(out):
    return sorted(p for p in out.iterdir() if p.suffix in (".png", ".svg"))


@pytest.mark.parametrize("name, argv, expected", [
    ("moons", ["--epochs", "2", "--health-every", "1"], ["moons_boundary.png", "moons_curves.png", "moons_network.svg"]),
    ("xor", ["--steps", "5"], ["xor_curves.png"]),
    ("regression", ["--steps", "5", "--hidden", "4"], ["regression_curves.png", "regression_fit.png"]),
    ("multiclass", ["--steps", "2", "--hidden", "4"], ["multiclass_curves.png", "multiclass_regions.png"]),
    ("graph_demo", ["--quiet"], ["neuron_after.png", "neuron_before.png"]),
    ("generalisation", ["--epochs", "3", "--every", "1"], ["generalisation_boundaries.png", "generalisation_curves.png"]),
    ("learning_rate", ["--steps", "3", "--epochs", "1"], ["learning_rate.png"]),
    ("optimizers", ["--quick"], ["optimizers.png"]),
    ("activations", ["--quick"], ["activations.png"]),
    ("exploding", ["--quick"], ["exploding.png"]),
    ("gradient_cost", ["--quick"], ["gradient_cost.png"]),
    ("newton", ["--quick"], ["newton_d2tanh.svg", "newton_paths.png"]),
])
def test_demo_runs_and_writes_valid_pictures(tmp_path, capsys, name, argv, expected):
    """Each demo's main() exits 0, prints where its pictures and replay pages went, and they are valid."""
    if name in ("moons", "graph_demo", "newton"):
        pytest.importorskip("graphviz")
    module = importlib.import_module(f"demos.{name}")
    assert module.main(argv + ["--out", str(tmp_path)]) == 0
    assert [p.name for p in pictures(tmp_path)] == expected
    for p in pictures(tmp_path):
        assert_picture(p)
    out = capsys.readouterr().out
    assert all(str(tmp_path / e) in out for e in expected)
    replays = {"moons": 1, "generalisation": 4, "learning_rate": 4}.get(name, 0)
    pages = sorted(tmp_path.glob("*replay*.html"))
    assert len(pages) == replays and all("training replay" in out and str(p) in out for p in pages)
    assert all(p.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>") for p in pages)


def test_moons_demo_prints_health_and_accuracies_with_the_progress_bar_on_stderr(tmp_path, capsys):
    """The moons demo prints nn.health tables, the final accuracies and one test accuracy on stdout,
    and its progress bar on stderr only."""
    from demos import moons

    moons.main(["--epochs", "3", "--health-every", "2", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    out = captured.out
    assert "epoch 2, step 12: health" in out and "lr*|g|/|w|" in out
    assert "training accuracy" in out and "validation accuracy" in out and "337 parameters" in out
    assert out.count("test accuracy") == 1
    assert "\r" not in out and "training:" in captured.err and "epoch/s" in captured.err


def test_moons_default_learning_rate_is_healthy_at_the_first_step():
    """At the default settings' first step, nn.health gives no hint (no too-large update/weight ratio)."""
    from demos import moons

    lines = []
    moons.train(epochs=1, health_every=1, log=lines.append)
    assert lines[0].startswith("epoch 0, step 0: health") and "hint" not in lines[0]


def test_moons_learns_and_keeps_the_parts_apart():
    """The default moons run reaches 95% on validation and test; train, val and test rows are disjoint."""
    from demos import moons

    model, scaler, parts, history = moons.train()
    (X_train, _), (X_val, _), (X_test, y_test) = parts
    assert len(X_train) == 120 and len(X_val) == 40 and len(X_test) == 40
    rows = [tuple(x) for x in X_train + X_val + X_test]
    assert len(set(rows)) == 200
    assert history["val"][-1][1] >= 0.95 and moons.evaluate(model, scaler.transform(X_test), y_test)[1] >= 0.95
    assert len(history["train"]) == len(history["val"]) == len(history["at"]) == 121  # every 2nd of 240 steps, and the end
    assert len(history["batch"]) == 240 and history["at"][-1] == 240


def test_bad_demo_arguments_are_clear_errors(capsys, tmp_path):
    """Bad --epochs, --batch-size, --health-every, --lr, --hidden, --activation or --out give argparse's error and exit 2 (before training)."""
    from demos import moons

    (tmp_path / "taken").write_text("a file where the pictures' directory should go")
    for argv, words in [(["--epochs", "0"], "positive integer"), (["--batch-size", "0"], "positive integer"),
                        (["--health-every", "-1"], "expected 0 or a positive integer, got '-1'"), (["--lr", "-1"], "positive number"), (["--optimizer", "adagrad"], "invalid choice"),
                        (["--hidden", "16,x"], "widths like 16,16"), (["--activation", "swish"], "invalid choice"),
                        (["--out", str(tmp_path / "taken")], "is a file, not a directory for pictures"),
                        (["--out", str(tmp_path / "taken" / "sub")], "cannot use")]:
        with pytest.raises(SystemExit) as info:
            moons.main(argv)
        assert info.value.code == 2 and words in capsys.readouterr().err


def test_missing_optional_package_names_the_extra(monkeypatch, capsys, tmp_path):
    """Without matplotlib a demo says which extra to install and exits 2."""
    from demos import common, xor

    real = importlib.import_module

    def fake(name, *args):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(common.importlib, "import_module", fake)
    with pytest.raises(SystemExit) as info:
        xor.main(["--out", str(tmp_path)])
    assert info.value.code == 2 and 'pip install -e ".[demos]"' in capsys.readouterr().err


def test_xor_learns_the_truth_table():
    """200 steps learn XOR exactly (all four signs right)."""
    from demos import xor

    model, history = xor.train(200, seed=1)
    assert history[-1][1] == 1.0 and "WRONG" not in xor.truth_table(model)


def test_health_reports_dead_units_and_ratios():
    """nn.health counts dead relu units and flags a too-large update ratio."""
    import nn
    from nn.data import make_moons

    X, y = make_moons(20, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    dead = model.layers[0].neurons[0]
    for p in dead.w:
        p.data = 0.0
    dead.b.data = -5.0  # this unit never fires
    loss = nn.hinge_loss([model(x) for x in X], y)
    model.zero_grad()
    loss.backward()
    report = nn.health(model, X, lr=100.0)
    assert report.layers[0].dead == ["L1.N1"] and report.layers[1].dead == []
    assert any("learning rate is likely too high" in h for h in report.hints)
    assert "L1     relu" in str(report)
    with pytest.raises(TypeError, match="nn.MLP"):
        nn.health(object())
    with pytest.raises(ValueError, match="lr"):
        nn.health(model, lr=0)


def test_health_finds_dead_units_under_l2_and_asks_for_backward_first():
    """With X, a unit that never fires is dead even when an L2 term gives its weights gradients;
    a model with no gradients at all is told to run backward() first, not called dead."""
    import nn
    from nn.data import make_moons

    X, y = make_moons(20, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    assert not any(layer.dead for layer in nn.health(model).layers)
    assert nn.health(model).hints == ["every gradient is 0: call loss.backward() before health()"]
    dead = model.layers[0].neurons[0]
    for p in dead.w:
        p.data = 0.1
    dead.b.data = -5.0  # never fires on moons data (|x| < 2.5)
    loss = nn.hinge_loss([model(x) for x in X], y) + 1e-4 * sum(p * p for p in model.parameters())
    loss.backward()
    assert all(p.grad != 0.0 for p in dead.parameters())  # the L2 term alone
    report = nn.health(model, X)
    assert report.layers[0].dead == ["L1.N1"] and not report.no_gradients


def test_health_reports_saturated_tanh_units():
    """A tanh unit whose input is always large is reported as saturated."""
    import nn

    model = nn.MLP(1, [2, 1], activation="tanh", seed=0)
    neuron = model.layers[0].neurons[0]
    neuron.w[0].data, neuron.b.data = 0.0, 10.0
    report = nn.health(model, [[0.1], [0.5], [-0.3]])
    assert report.layers[0].saturated == ["L1.N1"]


def test_step_through_demo_explains_and_matches_backward(capsys, tmp_path):
    """step_through prints the pdb recipe, the tape of the graph it differentiated (with its gradients),
    the chain-rule steps and the final gradients, and writes the stepper page."""
    from demos import step_through

    assert step_through.main(["--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'step_through.html'} (open it in a browser)" in out
    assert "stepper-data" in (tmp_path / "step_through.html").read_text(encoding="utf-8")
    assert "grad 0.9672  [a]" in out and "grad 1.0000  [c]" in out
    assert "break autograd.rules.mul_backward" in out and "n2 = mul(n0, n1)" in out
    assert "[mul_backward]" in out and "sum over 2 paths" in out and "a.grad = 0.967244" in out


def test_gradcheck_demo_catches_the_wrong_derivative(capsys):
    """gradcheck_demo passes the user function, catches the wrong sigmoid rule and restores it."""
    from autograd import rules
    from demos import gradcheck_demo

    before = rules.RULES["sigmoid"]
    assert gradcheck_demo.main(["--quiet"]) == 0
    out = capsys.readouterr().out
    assert "-> True" in out and "culprit: sigmoid_backward" in out and "crossed a kink" in out
    assert "passed on 50 random graphs" in out and rules.RULES["sigmoid"] is before
    assert "worst found: Expression(" in out


def test_network_picture_shows_this_inputs_gradients_only(tmp_path):
    """Gradients left in the parameters by training do not leak into the one-input network picture."""
    pytest.importorskip("graphviz")
    import nn
    from demos.common import network_picture

    model = nn.MLP(2, [3, 1], seed=0)
    for p in model.parameters():
        p.grad = 12345.0  # as if left over from the last training step
    svg = network_picture(model, [0.5, -0.25], tmp_path / "net.svg").read_text()
    assert "1.234e+04" not in svg and "12345" not in svg
    assert "max |param grad|" in svg


def test_network_picture_legend_speaks_to_a_learner(tmp_path):
    """The network picture's key has no API names (no "color_grad"), explains both shadings it uses and says
    its gradients are of the output on this one input, not of the loss."""
    pytest.importorskip("graphviz")
    import nn
    from demos.common import network_picture

    model = nn.MLP(2, [3, 1], seed=0)
    svg = network_picture(model, [0.5, -0.25], tmp_path / "net.svg").read_text()
    assert "color_grad" not in svg
    assert "shaded by gradient: x0, x1 (neurons are not)" in svg and "one neuron (its ops in one box)" in svg
    assert "not of the loss" in svg and "grad = d(L2.N1)/d(this value)" in svg


def test_regression_loss_descends_without_a_spike():
    """The regression demo's default schedule never lets the loss rise by more than 1% after step 20."""
    from demos import regression

    _, _, _, history = regression.train()
    losses = [h[0] for h in history]
    assert all(b <= 1.01 * a for a, b in zip(losses[20:], losses[21:])) and losses[-1] < 0.012


def test_learning_rate_sweep_shows_the_four_behaviours():
    """In 40 full-batch steps the small rate barely moves, the good one descends steadily, the large one
    overshoots (its loss jumps) and the divergent one blows up and stops early."""
    from demos import learning_rate as demo

    X, y, model, start = demo.setup()
    rates = demo.sweep(X, y, model, start, demo.compiled_gradient(model, len(X)), steps=40)
    small, good, large, divergent = rates.values()
    assert good[-1] < 0.9 * small[-1] and all(b <= a for a, b in zip(good[1:], good[2:]))
    assert max(b / a for a, b in zip(large, large[1:])) > 2 and len(divergent) < 40 and divergent[-1] > 1e3


def test_moons_optimizer_sgd_is_the_hand_written_update_and_adam_learns():
    """moons with --optimizer sgd (its LinearLR schedule) ends at the hand-written loop's weights to 1e-9,
    and --optimizer adam trains too, naming itself in the output."""
    from demos import moons

    hand = moons.train(epochs=2, hidden=(4,))[0]
    sgd = moons.train(epochs=2, hidden=(4,), optimizer="sgd")[0]
    assert max(abs(a - b) for a, b in zip(hand.state_dict().values(), sgd.state_dict().values())) < 1e-9
    adam, _, _, history = moons.train(epochs=2, hidden=(4,), lr=0.01, optimizer="adam")
    assert history["train"][-1][0] < history["train"][0][0]


def test_optimizers_demo_paths_show_zigzag_overshoot_and_rescaling():
    """On the valley, plain SGD's y flips sign every step (zigzag), momentum overshoots x = 0, and Adam
    and RMSprop take their first step the same length in x and y (each coordinate rescaled)."""
    from demos import optimizers

    paths = optimizers.paths(30)
    ys = [p[1] for p in paths["SGD"][:10]]
    assert all(a * b < 0 for a, b in zip(ys[1:], ys[2:]))
    assert max(p[0] for p in paths["momentum 0.9"]) > 0.1
    for name in ("Adam", "RMSprop"):
        (x0, y0), (x1, y1) = paths[name][:2]
        assert math.isclose(abs(x1 - x0), abs(y1 - y0), rel_tol=1e-6)


def test_activations_demo_shows_sigmoid_gradients_vanishing():
    """At initialisation sigmoid's first layer gets a gradient over 100 times smaller than its last layer,
    tanh's does not; dead relu units are counted by nn.health."""
    from demos import activations

    ratios = {}
    for name in ("sigmoid", "tanh"):
        _, first, _, _ = activations.run(name, 0, n=16)
        ratios[name] = first.layers[0].grad_norm / first.layers[-1].grad_norm
    assert ratios["sigmoid"] < 1e-2 < ratios["tanh"]


def test_exploding_demo_plain_blows_up_and_clipping_tames_it():
    """From the too-large start plain SGD passes 1e8 within a few steps; clipped, every step's
    gradient norm is reported before clipping and the loss falls."""
    from demos import exploding

    model, gradient = exploding.setup()
    start = model.state_dict()
    plain, _ = exploding.run(model, gradient, start, False, None, 20)
    clipped, norms = exploding.run(model, gradient, start, True, None, 20)
    assert len(plain) < 5 and not plain[-1] < 1e8
    assert len(clipped) == 20 and clipped[-1] < clipped[0] and norms[0] > 1e3


def test_gradient_cost_methods_agree_and_extrapolate_only_past_the_limit():
    """Finite differences, forward mode and reverse mode give the same gradient; sizes past the limit are
    marked as extrapolated (quadratically) for the first two, never for reverse mode."""
    from demos import gradient_cost as gc

    results, worst = gc.measure((1, 2, 4), gc.count(2))
    assert worst < 1e-6
    fd, fwd, rev = results.values()
    assert [r[2] for r in fd] == [True, True, False] and all(r[2] for r in rev)
    assert math.isclose(fd[2][1], fd[1][1] * (gc.count(4) / gc.count(2)) ** 2)


def test_newton_lands_in_a_handful_of_steps_where_gradient_descent_needs_thousands():
    """Newton's method with autograd.functional's Hessian reaches (1, 1) exactly within 8 steps from (-1.2, 1);
    gradient descent at its stable rate is still short of 0.001 after 2,000 steps."""
    from demos import newton

    path = newton.newton()
    assert len(path) - 1 <= 8 and newton.error(path[-1]) < 1e-12
    assert newton.error(path[2]) > 1.0  # no luck involved: the second step lands far from the minimum
    gd = newton.gradient_descent(1.8e-3, 2000, 1e-3)
    assert len(gd) == 2001 and newton.error(gd[-1]) > 1e-3


def test_newton_demo_draws_the_second_derivative_graph_with_its_value(tmp_path):
    """The second-derivative picture's root is d2/dx2 tanh at 0.5 (exactly -2 tanh (1 - tanh^2)) and the
    picture marks nodes made by a backward pass."""
    pytest.importorskip("graphviz")
    import math

    from demos import newton

    d2y, path = newton.second_derivative_graph(tmp_path / "d2.svg")
    t = math.tanh(0.5)
    assert d2y.data == pytest.approx(-2 * t * (1 - t * t), rel=1e-15)
    assert "made by a backward pass" in path.read_text()
