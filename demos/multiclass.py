"""Three spiral arms, three classes, softmax cross-entropy; plots the decision regions.

    python -m demos.multiclass [--steps 150] [--seed 1] [--hidden 16,16] [--out out/]
"""

from __future__ import annotations

import math
import sys

import nn
from autograd import no_grad
from nn.data import make_spiral

try:
    from demos import common
except ImportError:
    import common

COLOURS = ["#dc2626", "#2563eb", "#16a34a"]
REGIONS = ["#fecaca", "#bfdbfe", "#bbf7d0"]  # light versions of COLOURS
REGION_NAMES = ["light red", "light blue", "light green"]


def accuracy(model, X, y) -> float:
    with no_grad():
        return sum(max(range(3), key=lambda c, o=model(x): o[c].data) == t for x, t in zip(X, y)) / len(y)


def train(steps=150, seed=1, hidden=(16, 16), lr=0.5, quiet=True):
    """MLP(2, [*hidden, 3]) on 90 spiral points with cross_entropy; returns (model, X, y, history)."""
    X, y = make_spiral(90, classes=3, noise=0.1, seed=seed)
    model = nn.MLP(2, [*hidden, 3], activation="relu", seed=seed)
    history = []
    bar = common.progress(steps, quiet)
    for k in bar:
        logits = [model(x) for x in X]
        loss = nn.cross_entropy(logits, y) + 1e-4 * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        rate = lr * (1.0 - 0.9 * k / steps)
        for p in model.parameters():
            p.data -= rate * p.grad
        acc = sum(max(range(3), key=lambda c, o=o: o[c].data) == t for o, t in zip(logits, y)) / len(y)
        history.append((loss.data, acc))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.data:.4f}", accuracy=f"{acc:.0%}")
    return model, X, y, history


def plot_regions(model, X, y, path, n=100):
    """Each grid cell painted with its predicted class (no interpolation between class indices), and
    the boundaries where the two largest logits are equal."""
    plt = common.pyplot()
    from matplotlib.colors import ListedColormap

    xs, ys, grid = common.grid_predictions(model, X, n=n, margin=0.2)
    logits = [[[v.data for v in o] for o in row] for row in grid]
    classes = [[o.index(max(o)) for o in row] for row in logits]
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.pcolormesh(xs, ys, classes, cmap=ListedColormap(REGIONS), vmin=-0.5, vmax=2.5, shading="nearest")
    for i, j in ((0, 1), (0, 2), (1, 2)):  # o_i - o_j = 0 where i and j are the two largest logits
        gap = [[o[i] - o[j] if sorted(range(3), key=o.__getitem__)[1:] in ([i, j], [j, i]) else math.nan
                for o in row] for row in logits]
        ax.contour(xs, ys, gap, levels=[0.0], colors="#111827", linewidths=0.8)
    for c in range(3):
        pts = [x for x, t in zip(X, y) if t == c]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], c=COLOURS[c], s=18, edgecolors="white",
                   linewidths=0.5, label=f"class {c} (region: {REGION_NAMES[c]})")
    ax.set(title="spiral: predicted class per region", xlabel="x0", ylabel="x1")
    ax.legend(fontsize=7, loc="upper right", framealpha=0.9)
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=150)
    p.add_argument("--hidden", type=common.widths, default=[16, 16], help="hidden widths (16,16)")
    args = p.parse_args(argv)
    common.pyplot()
    model, X, y, history = train(args.steps, args.seed, args.hidden, quiet=args.quiet)
    print(f"picture: {plot_regions(model, X, y, args.out / 'multiclass_regions.png')}")
    print(f"picture: {common.plot_curves(history, args.out / 'multiclass_curves.png', 'spiral')}")
    print(f"final loss {history[-1][0]:.4f}, training accuracy {accuracy(model, X, y):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
