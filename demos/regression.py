"""Regression: a tanh MLP fits sin(x) with mean squared error; plots the fit.

    python -m demos.regression [--steps 300] [--seed 1] [--hidden 16] [--out out/]
"""

from __future__ import annotations

import math
import sys

import nn
from autograd import no_grad
from nn.data import make_sine

try:
    from demos import common
except ImportError:
    import common


def train(steps=300, seed=1, hidden=16, lr=0.05, quiet=True):
    """MLP(1, [hidden, 1]) with tanh on 40 points of sin(x); returns (model, X, y, history)."""
    X, y = make_sine(40, noise=0.05, seed=seed)
    model = nn.MLP(1, [hidden, 1], activation="tanh", seed=seed)
    history = []
    bar = common.progress(steps, quiet)
    for _ in bar:
        loss = nn.mse_loss([model(x) for x in X], y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        history.append((loss.data, None))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.data:.4f}")
    return model, X, y, history


def plot_fit(model, X, y, path):
    plt = common.pyplot()
    xs = [-math.pi + 2 * math.pi * i / 199 for i in range(200)]
    with no_grad():
        fit = [model([x]).data for x in xs]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(xs, [math.sin(x) for x in xs], color="#9ca3af", linestyle="--", label="sin(x)")
    ax.scatter([x[0] for x in X], y, s=14, color="#dc2626", label="noisy samples")
    ax.plot(xs, fit, color="#2563eb", label="network")
    ax.set(title="regression: fitting sin(x)", xlabel="x")
    ax.legend(fontsize=8)
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=300)
    p.add_argument("--hidden", type=common.positive_int, default=16, help="hidden units (16)")
    args = p.parse_args(argv)
    common.pyplot()
    model, X, y, history = train(args.steps, args.seed, args.hidden, quiet=args.quiet)
    print(f"picture: {plot_fit(model, X, y, args.out / 'regression_fit.png')}")
    print(f"picture: {common.plot_curves(history, args.out / 'regression_curves.png', 'regression')}")
    print(f"final mean squared error {history[-1][0]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
