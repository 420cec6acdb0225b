"""XOR: the smallest problem a network needs a hidden layer for. Prints the truth table it learned.

    python -m demos.xor [--steps 200] [--seed 1] [--hidden 4] [--out out/]
"""

from __future__ import annotations

import sys

import nn
from autograd import no_grad
from nn.data import make_xor

try:
    from demos import common
except ImportError:
    import common


def train(steps=200, seed=1, hidden=4, lr=0.2, quiet=True):
    """A tanh MLP(2, [hidden, 1]) on XOR with MSE; returns (model, history of (loss, accuracy))."""
    X, y = make_xor()
    model = nn.MLP(2, [hidden, 1], activation="tanh", seed=seed)
    history = []
    bar = common.progress(steps, quiet)
    for _ in bar:
        scores = [model(x) for x in X]
        loss = nn.mse_loss(scores, y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, y)) / len(y)
        history.append((loss.data, accuracy))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.data:.4f}", accuracy=f"{accuracy:.0%}")
    return model, history


def truth_table(model) -> str:
    X, y = make_xor()
    rows = ["a b | target | network output"]
    with no_grad():
        for (a, b), t in zip(X, y):
            out = model([a, b]).data
            rows.append(f"{a:.0f} {b:.0f} | {t:+d}     | {out:+.3f}  {'ok' if (out > 0) == (t > 0) else 'WRONG'}")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=200)
    p.add_argument("--hidden", type=common.positive_int, default=4, help="hidden units (4)")
    args = p.parse_args(argv)
    common.pyplot()
    model, history = train(args.steps, args.seed, args.hidden, quiet=args.quiet)
    print(truth_table(model))
    print(f"picture: {common.plot_curves(history, args.out / 'xor_curves.png', 'xor')}")
    print(f"final loss {history[-1][0]:.4f}, accuracy {history[-1][1]:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
