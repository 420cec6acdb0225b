"""Optional cross-check against PyTorch (skipped when torch is not installed)."""

import math

import pytest

from autograd import Value, grad

torch = pytest.importorskip("torch")


def both(fn, xs):
    vals = [Value(x) for x in xs]
    ours = fn(*vals)
    ours.backward()
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    theirs = fn(*ts)
    theirs.backward()
    return ours, [v.grad for v in vals], theirs.item(), [t.grad.item() for t in ts]


CASES = {
    "mixed": (lambda x, y: (x * y + x.exp()).tanh() - (y / x) ** 2 + abs(x - y).sqrt(), [0.7, -1.3]),
    "activations": (lambda x, y: x.sigmoid() * y.relu() + (x * 3).sin() * y.cos(), [0.4, 1.1]),
    "logs": (lambda x, y: (x * x + 1).log() * (2 ** y) - y ** x, [1.5, 0.8]),
    "kinks": (lambda x, y: x.relu() + abs(y), [0.0, 0.0]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    """Forward values and gradients equal PyTorch's (float64) on graphs using every op."""
    fn, xs = CASES[name]
    ours, ours_grads, theirs, theirs_grads = both(fn, xs)
    assert math.isclose(ours.data, theirs, rel_tol=1e-12)
    for a, b in zip(ours_grads, theirs_grads):
        assert math.isclose(a, b, rel_tol=1e-10, abs_tol=1e-12)


def test_second_derivatives_match_torch():
    """d2/dx2 of a tanh/sigmoid/pow mix equals torch.autograd's double backward."""
    def f(x):
        return (x ** 3).tanh() + x.sigmoid() * x.sin()

    x = Value(0.6)
    (d1,) = grad(f(x), [x], create_graph=True)
    (d2,) = grad(d1, [x])
    t = torch.tensor(0.6, dtype=torch.float64, requires_grad=True)
    (t1,) = torch.autograd.grad(f(t), t, create_graph=True)
    (t2,) = torch.autograd.grad(t1, t)
    assert math.isclose(d2, t2.item(), rel_tol=1e-10)
