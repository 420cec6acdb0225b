"""microgpt on chainrule: the model written the microgpt way runs on autograd.Value unchanged and
gives the numbers of the local-gradient engine that script ships; the demo trains and samples."""

import math
import random

import pytest

from autograd import Value
from demos import microgpt as mg

VOCAB, EMBD, HEADS, LAYERS, BLOCK = 27, 8, 2, 1, 8


def tokens(name: str) -> list:
    return [0] + [ord(c) - ord("a") + 1 for c in name] + [0]


@pytest.mark.parametrize("name", ["emma", "anna", "b", "maximilianus"])
def test_same_loss_and_gradients_as_the_local_gradient_engine(name):
    """Loss and every parameter's gradient on chainrule equal the local-gradient Value's to 1e-12,
    for names with repeated letters, one letter, and longer than the context."""
    ours = mg.init_params(VOCAB, EMBD, LAYERS, BLOCK, seed=3)
    theirs = mg.init_params(VOCAB, EMBD, LAYERS, BLOCK, seed=3, value=mg.LocalGradValue)
    loss = mg.name_loss(ours, HEADS, LAYERS, tokens(name))
    reference = mg.name_loss(theirs, HEADS, LAYERS, tokens(name))
    loss.backward()
    reference.backward()
    assert loss.data == pytest.approx(reference.data, rel=1e-12, abs=0)
    pairs = list(zip(mg.parameters(ours), mg.parameters(theirs)))
    assert all(math.isclose(a.grad, b.grad, rel_tol=1e-12, abs_tol=1e-15) for a, b in pairs)
    assert sum(a.grad != 0.0 for a, _ in pairs) > len(pairs) // 4, "most weights take part"
    assert all(type(a.grad) is float for a, _ in pairs)


def test_a_wrong_local_derivative_is_caught_by_the_comparison(monkeypatch):
    """The comparison has teeth: the local-gradient engine with exp's derivative off by 1% disagrees."""
    def exp_off(self):
        e = math.exp(self.data)
        return mg.LocalGradValue(e, (self,), (1.01 * e,))

    monkeypatch.setattr(mg.LocalGradValue, "exp", exp_off)
    ours = mg.init_params(VOCAB, EMBD, LAYERS, BLOCK, seed=3)
    theirs = mg.init_params(VOCAB, EMBD, LAYERS, BLOCK, seed=3, value=mg.LocalGradValue)
    loss = mg.name_loss(ours, HEADS, LAYERS, tokens("emma"))
    bad = mg.name_loss(theirs, HEADS, LAYERS, tokens("emma"))
    loss.backward()
    bad.backward()
    assert loss.data == bad.data
    assert not all(math.isclose(a.grad, b.grad, rel_tol=1e-9)
                   for a, b in zip(mg.parameters(ours), mg.parameters(theirs)))


def test_sampling_returns_names_from_the_vocabulary():
    """Sampled names use only the data's characters, stop at BOS or the context, and record no graph."""
    tok = mg.Tokenizer(["emma", "olivia", "ava"])
    params = mg.init_params(len(tok.chars), EMBD, LAYERS, BLOCK, seed=0)
    rng = random.Random(0)
    names = [mg.sample(params, HEADS, LAYERS, tok, rng, 0.5) for _ in range(5)]
    assert all(set(n) <= set("emaolivia") and len(n) <= BLOCK for n in names)
    assert all(p.grad == 0.0 for p in mg.parameters(params))


def test_demo_trains_samples_and_writes_its_pictures(tmp_path, capsys):
    """The quick demo on a user's names file trains with Adam, prints names and writes the loss
    picture, the attention heatmap and the softmax stepper page."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("tqdm")
    data = tmp_path / "names.txt"
    data.write_text("emma\nolivia\n\nava\nzoë\n", encoding="utf-8")
    assert mg.main(["--data", str(data), "--quick", "--quiet", "--embd", "8", "--heads", "2", "--block", "8",
                    "--html", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "4 names, 10 tokens" in out and "new names at temperature 0.5" in out
    for picture in ("microgpt_loss.png", "microgpt_attention.png"):
        assert (tmp_path / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "microgpt_softmax.html").read_text(encoding="utf-8")
    assert "exp" in page and "s2" in page and "head1" in page


def test_demo_refuses_a_names_file_it_cannot_use(tmp_path):
    """An empty file, a missing one, or a name holding the BOS character is a one-line exit naming --data."""
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    dotted = tmp_path / "dotted.txt"
    dotted.write_text("a.b\n", encoding="utf-8")
    for path, why in ((empty, "holds no names"), (tmp_path / "missing.txt", "cannot read"), (dotted, "may not contain")):
        with pytest.raises(SystemExit, match=why):
            mg.main(["--data", str(path), "--quick", "--quiet", "--out", str(tmp_path)])


def test_compiled_steps_reuse_one_graph_per_length_and_match_eager():
    """One compiled step per name length serves every name of that length (repeated letters
    included): losses and gradients equal the eager pass's to 1e-12, and only two lengths compile."""
    ours = mg.init_params(VOCAB, EMBD, LAYERS, BLOCK, seed=5)
    twin = mg.init_params(VOCAB, EMBD, LAYERS, BLOCK, seed=5)
    compiled = mg.CompiledSteps(ours, HEADS, LAYERS)
    for name in ("abcd", "anna", "emma", "zoe", "eve"):
        for p in mg.parameters(ours) + mg.parameters(twin):
            p.grad = 0.0
        loss = compiled(tokens(name))
        eager = mg.name_loss(twin, HEADS, LAYERS, tokens(name))
        eager.backward()
        assert loss == pytest.approx(eager.data, rel=1e-12, abs=0)
        assert all(math.isclose(a.grad, b.grad, rel_tol=1e-9, abs_tol=1e-14)
                   for a, b in zip(mg.parameters(ours), mg.parameters(twin))), name
    assert sorted(compiled.steps) == [4, 5]
