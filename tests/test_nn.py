"""The network package: shapes, parameters, losses and weight files."""

import json
import math
import os
import random
import re
import subprocess
import sys

import pytest

import nn
from autograd import Value, grad
from nn.data import make_moons, make_sine, make_spiral, make_xor


def test_micrograd_network_has_337_parameters_with_unique_labels():
    """MLP(2, [16, 16, 1]) has 337 parameters, labelled like L1.N3.w0, in a fixed order."""
    model = nn.MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    labels = [p.label for p in params]
    assert len(params) == 337 and len(set(labels)) == 337
    assert labels[:3] == ["L1.N1.w0", "L1.N1.w1", "L1.N1.b"] and labels[-1] == "L3.N1.b"
    assert labels == [p.label for p in model.parameters()]


def test_output_shapes():
    """Layer returns a list; MLP returns a Value for width 1 and a list otherwise."""
    assert isinstance(nn.Layer(3, 1, seed=0)([1, 2, 3]), list)
    assert isinstance(nn.MLP(3, [4, 1], seed=0)([1, 2, 3]), Value)
    out = nn.MLP(3, [4, 2], seed=0)([Value(1.0), 2, 3])
    assert isinstance(out, list) and len(out) == 2
    assert isinstance(nn.Neuron(2, seed=0)([1.0, 2.0]), Value)


def test_seed_reproducible_and_independent_of_global_random_state():
    """The same seed gives the same weights whatever the global random module did."""
    import random

    random.seed(1)
    a = nn.MLP(2, [4, 1], seed=7).state_dict()
    random.seed(2)
    b = nn.MLP(2, [4, 1], seed=7).state_dict()
    assert a == b and a != nn.MLP(2, [4, 1], seed=8).state_dict()


@pytest.mark.parametrize("activation, op", [(a, a) for a in nn.ACTIVATIONS if a != "linear"] + [("linear", "add")])
def test_activations_and_linear_last_layer(activation, op):
    """Hidden layers use the activation; the last layer is linear."""
    model = nn.MLP(2, [3, 1], activation=activation, seed=0)
    hidden = model.layers[0]([0.5, -0.5])
    assert all(h.op == op for h in hidden)
    assert model([0.5, -0.5]).op == "add"


def test_zero_grad_clears_every_parameter():
    """zero_grad() sets every gradient to 0.0 after a backward pass."""
    model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


@pytest.mark.parametrize("make, match", [
    (lambda: nn.MLP(2, [16, 1], activation="swish"), "activation must be one of relu, leaky_relu, .*got 'swish'"),
    (lambda: nn.MLP(0, [1]), "nin"),
    (lambda: nn.MLP(2, []), "nouts"),
    (lambda: nn.MLP(2, [4, 0]), "width"),
    (lambda: nn.MLP(2, 3), "nouts"),
    (lambda: nn.MLP(2, [3, 1], seed=0)([1.0]), "expected 2 inputs, got 1"),
])
def test_bad_network_arguments(make, match):
    """Bad widths, activations and input lengths raise ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=match):
        make()


def test_losses_match_hand_computed_values():
    """Each loss equals its formula on a small example, and its gradient too."""
    p = [Value(0.5), Value(-2.0)]
    assert math.isclose(nn.mse_loss(p, [1.0, 0.0]).data, (0.25 + 4.0) / 2)
    assert math.isclose(nn.hinge_loss(p, [1, 1]).data, (0.5 + 3.0) / 2)
    z = Value(0.3)
    bce = nn.bce_with_logits(z, 1.0)
    assert math.isclose(bce.data, -math.log(1 / (1 + math.exp(-0.3))))
    assert math.isclose(grad(bce, [z])[0], 1 / (1 + math.exp(-0.3)) - 1.0)
    logits = [Value(1.0), Value(2.0), Value(0.5)]
    ce = nn.cross_entropy(logits, 1)
    total = sum(math.exp(v.data) for v in logits)
    assert math.isclose(ce.data, -math.log(math.exp(2.0) / total))
    assert math.isclose(grad(ce, [logits[1]])[0], math.exp(2.0) / total - 1)
    batch = nn.cross_entropy([logits, logits], [1, 1])
    assert math.isclose(batch.data, ce.data)


def test_losses_are_stable_for_huge_logits():
    """bce_with_logits and cross_entropy stay finite (values and gradients) at logits of +-1000."""
    for z0, t in [(1000.0, 0.0), (-1000.0, 1.0), (1000.0, 1.0)]:
        z = Value(z0)
        loss = nn.bce_with_logits(z, t)
        loss.backward()
        assert math.isfinite(loss.data) and math.isfinite(z.grad)
    logits = [Value(1000.0), Value(-1000.0), Value(0.0)]
    loss = nn.cross_entropy(logits, 1)
    loss.backward()
    assert math.isclose(loss.data, 2000.0) and all(math.isfinite(v.grad) for v in logits)


@pytest.mark.parametrize("call, match", [
    (lambda: nn.hinge_loss([Value(1.0)], [0]), "-1 or \\+1"),
    (lambda: nn.mse_loss([Value(1.0)], [1.0, 2.0]), "1 predictions and 2 targets"),
    (lambda: nn.bce_with_logits([Value(1.0)], [2.0]), "\\[0, 1\\]"),
    (lambda: nn.cross_entropy([Value(1.0), Value(2.0)], 2), "class index"),
    (lambda: nn.mse_loss([Value(1.0)], [math.nan]), "finite"),
])
def test_bad_loss_arguments(call, match):
    """Losses reject mismatched lengths and invalid targets with a clear message."""
    with pytest.raises(ValueError, match=match):
        call()


def test_state_dict_round_trip(tmp_path):
    """save then load into a fresh model of the same shape restores every weight exactly."""
    a, b = nn.MLP(2, [4, 4, 1], seed=1), nn.MLP(2, [4, 4, 1], seed=2)
    path = nn.save(a, tmp_path / "w.json")
    assert nn.load(b, path) is b
    assert b.state_dict() == a.state_dict()
    b2 = nn.MLP(2, [4, 4, 1], seed=3)
    b2.load_state_dict(a.state_dict())
    assert b2([0.3, 0.1]).data == a([0.3, 0.1]).data


def test_load_failures_leave_the_model_unchanged(tmp_path):
    """A different architecture, a truncated file or non-finite numbers raise and change nothing."""
    model = nn.MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    other = nn.save(nn.MLP(2, [5, 1], seed=0), tmp_path / "other.json")
    good = nn.save(nn.MLP(2, [4, 1], seed=9), tmp_path / "good.json")
    truncated = tmp_path / "trunc.json"
    truncated.write_text(good.read_text()[:100])
    doc = json.loads(good.read_text())
    doc["state"]["L1.N1.w0"] = "NaN"
    bad_number = tmp_path / "nan.json"
    bad_number.write_text(json.dumps(doc).replace('"NaN"', "NaN"))
    doc["state"]["L1.N1.w0"] = "x"
    wrong_type = tmp_path / "str.json"
    wrong_type.write_text(json.dumps(doc))
    cases = [(other, "MLP\\(2, \\[5, 1\\]"), (truncated, "not a valid"), (bad_number, "non-finite"),
             (wrong_type, "finite number"), (tmp_path / "empty.json", "format marker")]
    (tmp_path / "empty.json").write_text("[]")
    for path, match in cases:
        with pytest.raises(ValueError, match=match):
            nn.load(model, path)
        assert model.state_dict() == before, path


def malformed_weight_files(good: str) -> dict:
    """name -> (file text, words the ValueError must contain) for files a fuzzer or an editor makes."""
    doc = json.loads(good)

    def with_state(value):
        return json.dumps({**doc, "state": value})

    def with_weight(text):
        return json.dumps(doc).replace(json.dumps(doc["state"]["L1.N1.w0"]), text, 1)

    return {
        "400 digits": (with_weight("1" * 400), "finite number, got inf"),
        "past the int limit": (with_weight("9" * 5000), "finite number, got inf"),
        "huge exponent": (with_weight("1e400"), "finite number, got inf"),
        "deep nesting": (with_weight("[" * 100_000 + "]" * 100_000), "nested too deeply"),
        "state a list": (with_state([1.0, 2.0]), "should map names to numbers, got a list"),
        "no state": (json.dumps({"format": "chainrule.weights"}), "got nothing"),
        "a bool weight": (with_weight("true"), "finite number, got True"),
        "a null weight": (with_weight("null"), "finite number, got None"),
        "a huge string weight": (with_weight(json.dumps("A" * 10**6)), "characters)"),
        "a huge unknown name": (with_state({**doc["state"], "B" * 10**6: 1.0}), "unexpected"),
        "a huge model text": (json.dumps({**doc, "model": "C" * 10**6, "state": {}}), "characters)"),
        "not UTF-8": ('{"format": "\udcff"}', "not a valid"),
    }


@pytest.mark.parametrize("case", list(malformed_weight_files(json.dumps({"state": {"L1.N1.w0": 0.5}}))))
def test_every_malformed_weights_file_is_a_short_value_error_naming_it(tmp_path, case):
    """Oversized numbers, deep nesting, wrong types and huge strings are a ValueError naming the
    file, under 1,000 characters, and the model keeps its weights."""
    model = nn.MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    good = nn.save(nn.MLP(2, [4, 1], seed=9), tmp_path / "good.json").read_text()
    text, words = malformed_weight_files(good)[case]
    path = tmp_path / "bad.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError) as info:
        nn.load(model, path)
    message = str(info.value)
    assert str(path) in message and words in message and len(message) < 1000, message[:2000]
    assert model.state_dict() == before


def test_save_is_atomic_and_refuses_non_finite_weights(tmp_path):
    """Saving NaN weights raises and keeps the previous file intact, leaving no temporary files."""
    model = nn.MLP(2, [2, 1], seed=0)
    path = nn.save(model, tmp_path / "w.json")
    saved = path.read_text()
    model.parameters()[0].data = math.nan
    with pytest.raises(ValueError, match="L1.N1.w0"):
        nn.save(model, path)
    assert path.read_text() == saved and os.listdir(tmp_path) == ["w.json"]


def test_datasets_are_seeded_and_shaped():
    """The small datasets are deterministic per seed and have the advertised shapes and labels."""
    X, y = make_moons(100, seed=3)
    assert (X, y) == make_moons(100, seed=3) and len(X) == 100 and set(y) == {-1, 1}
    assert y.count(1) == 50 and all(len(x) == 2 for x in X)
    X, y = make_spiral(90, classes=3, seed=0)
    assert set(y) == {0, 1, 2} and len(X) == 90
    assert make_xor()[1] == [-1, 1, 1, -1]
    X, y = make_sine(10)
    assert math.isclose(y[0], math.sin(-math.pi), abs_tol=1e-12)
    with pytest.raises(ValueError, match="make_moons"):
        make_moons(1)
    for bad in (-1.0, math.nan, math.inf, "0.1"):
        with pytest.raises(ValueError, match=r"make_moons: noise is a standard deviation, a finite number >= 0; got"):
            make_moons(10, noise=bad)
    with pytest.raises(ValueError, match="make_spiral: noise"):
        make_spiral(9, noise=-0.5)


def test_health_names_X_when_its_rows_do_not_fit():
    """nn.health with rows of the wrong length, no rows or a non-sequence X says so, naming X and the row."""
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"health: X must be rows of 2 inputs for MLP\(2, \[3, 1\].*; row 1 is \[3.0\]"):
        nn.health(model, [[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match="health: X must be rows of 2 inputs.*; got int"):
        nn.health(model, 5)
    with pytest.raises(ValueError, match="health: X has no rows"):
        nn.health(model, [])


def test_tools_are_reachable_from_the_package_as_the_readme_writes_them():
    """In a fresh interpreter, `import autograd` alone gives autograd.trace, .compile, .viz (and nn.data) on first use."""
    code = ("import autograd, nn, sys; from autograd import Value; c = Value(2.0) * 3.0; "
            "assert 'autograd.trace' not in sys.modules; autograd.trace.explain(c); autograd.compile.compile_graph(c, []); "
            "assert autograd.gradcheck.gradcheck and autograd.forward.Dual and nn.data.split; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_saved_weights_get_ordinary_permissions(tmp_path):
    """A weights file is created with the umask's permissions, like any file the user writes."""
    umask = os.umask(0o022)
    os.umask(umask)
    path = nn.save(nn.MLP(2, [1], seed=0), tmp_path / "w.json")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_widths_may_be_any_iterable():
    """MLP accepts a tuple or a generator of widths, not just a list."""
    assert repr(nn.MLP(2, (w for w in [3, 1]), seed=0)) == "MLP(2, [3, 1], activation='relu')"
    assert len(nn.MLP(2, (3, 1), seed=0).parameters()) == 13


def test_losses_accept_plain_numbers_and_networks_reject_non_sequences():
    """Plain-number predictions give Value losses; a network called on a non-list says what it wants."""
    assert isinstance(nn.hinge_loss(3, [1]), Value) and nn.hinge_loss([0.5], [1]).data == 0.5
    assert nn.mse_loss([1, 2], [1.0, 0.0]).data == 2.0
    with pytest.raises(TypeError, match="Value"):
        nn.mse_loss(["a"], [1.0])
    with pytest.raises(TypeError, match="expected a list of 2 inputs"):
        nn.MLP(2, [1], seed=0)(None)
    with pytest.raises(TypeError, match="expected a list of 1 inputs"):
        nn.MLP(1, [1], seed=0)(0.5)


@pytest.mark.parametrize("bad", ["a", None, [2.0], 2j])
def test_a_bad_input_element_is_named_with_its_neuron_and_position(bad):
    """An input that is not a number or a Value is reported by neuron, position, type and value."""
    with pytest.raises(TypeError, match=rf"Neuron L1\.N1: input 1 must be a number or a Value, got {type(bad).__name__}"):
        nn.MLP(2, [3, 1], seed=0)([0.5, bad])


@pytest.mark.parametrize("make", [
    lambda seed: nn.MLP(2, [1], seed=seed),
    lambda seed: nn.Layer(2, 2, seed=seed),
    lambda seed: nn.Neuron(2, seed=seed),
    lambda seed: nn.Dropout(0.5, seed=seed),
])
@pytest.mark.parametrize("seed", ["a", 1.5, True, [1]])
def test_a_seed_that_is_not_an_int_is_refused_naming_it(make, seed):
    """A seed must be None, an int or a random.Random: a str or a float is a TypeError naming the class and the value."""
    with pytest.raises(TypeError, match=rf"^(MLP|Layer|Neuron|Dropout): seed must be None, an int or a random.Random, "
                                        rf"got {type(seed).__name__} {re.escape(repr(seed))}$"):
        make(seed)
    assert make(None) and make(7) and make(random.Random(7))
