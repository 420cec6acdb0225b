"""micrograd's headline demo through chainrule's public API: an MLP learns the two moons.

    python -m demos.moons [--steps 100] [--seed 1] [--lr 1.0] [--hidden 16,16] [--activation relu] [--out out/]

Gradient descent is written by hand below, as in micrograd's notebook. With the defaults it reaches
100% training accuracy and leaves three pictures in --out: the decision boundary, the loss and
accuracy curves, and the trained network on one input; and moons_replay.html, a page that replays the
training step by step (open it in a browser).
"""

from __future__ import annotations

import sys
import time

import nn
from autograd import no_grad
from nn.data import make_moons

try:
    from demos import common
except ImportError:  # run as a script from inside demos/
    import common


def loss_and_accuracy(model, X, y, alpha=1e-4):
    """Hinge loss plus L2 (alpha * sum p^2) over the whole batch, and the training accuracy."""
    scores = [model(x) for x in X]
    loss = nn.hinge_loss(scores, y) + alpha * sum(p * p for p in model.parameters())
    accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, y)) / len(y)
    return loss, accuracy


def train(steps=100, seed=1, lr=1.0, hidden=(16, 16), activation="relu", log=print, quiet=True, health_every=0,
          replay=None):
    """Train MLP(2, [*hidden, 1]) on 100 moons points; returns (model, X, y, history of (loss, accuracy)).

    With ``replay`` (a path), an nn.Recorder watches every step and writes the training-replay page there.
    """
    X, y = make_moons(100, noise=0.1, seed=seed)
    model = nn.MLP(2, [*hidden, 1], activation=activation, seed=seed)
    # the chain-rule story follows the row nearest the gap between the moons, where learning goes on longest
    middle = min(range(len(X)), key=lambda i: abs(X[i][0] - 0.5) + abs(X[i][1] - 0.25))
    rec = nn.Recorder(model, train=(X, y), example=middle) if replay else None
    history = []
    bar = common.progress(steps, quiet)
    for k in bar:
        loss, accuracy = loss_and_accuracy(model, X, y)
        model.zero_grad()
        loss.backward()
        rate = lr * (1.0 - 0.9 * k / steps)  # decays from lr towards lr / 10
        if rec is not None:
            rec.record(k, loss, lr=rate)  # after backward, before the update
        if health_every and k % health_every == 0:
            (bar.write if hasattr(bar, "write") else log)(f"step {k}: health\n{nn.health(model, X, lr=rate)}")
        for p in model.parameters():
            p.data -= rate * p.grad
        history.append((loss.data, accuracy))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.data:.4f}", accuracy=f"{accuracy:.0%}")
        elif k % 10 == 0 or k == steps - 1:
            log(f"step {k:3d}  loss {loss.data:.4f}  accuracy {accuracy:.0%}")
    if rec is not None:
        rec.to_html(replay)
    return model, X, y, history


def plot_boundary(model, X, y, path):
    """Decision regions (score > 0 vs < 0) with the data points, as micrograd's notebook shows."""
    plt = common.pyplot()
    xs, ys, grid = common.grid_predictions(model, X)
    scores = [[v.data for v in row] for row in grid]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(xs, ys, [[s > 0 for s in row] for row in scores], levels=[-0.5, 0.5, 1.5],
                colors=["#fecaca", "#bfdbfe"], alpha=0.8)
    ax.contour(xs, ys, scores, levels=[0.0], colors="#111827", linewidths=1)
    for label, colour in ((-1, "#dc2626"), (1, "#2563eb")):
        pts = [x for x, t in zip(X, y) if t == label]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], c=colour, s=18, edgecolors="white", linewidths=0.5,
                   label=f"label {label:+d}")
    ax.set(title="moons: decision boundary after training", xlabel="x0", ylabel="x1")
    ax.legend(loc="upper right", fontsize=8)
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=100)
    p.add_argument("--lr", type=common.positive_float, default=1.0, help="initial learning rate (1.0)")
    p.add_argument("--hidden", type=common.widths, default=[16, 16], help="hidden widths (16,16)")
    p.add_argument("--activation", choices=["relu", "tanh", "sigmoid", "linear"], default="relu")
    p.add_argument("--health-every", type=int, default=25, help="print nn.health every N steps (25; 0: never)")
    args = p.parse_args(argv)
    common.pyplot()  # fail early, before training, if matplotlib is missing
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model, X, y, history = train(args.steps, args.seed, args.lr, args.hidden, args.activation,
                                 quiet=args.quiet, health_every=args.health_every,
                                 replay=args.out / "moons_replay.html")
    seconds = time.perf_counter() - start
    with no_grad():
        loss, accuracy = loss_and_accuracy(model, X, y)
    pictures = [plot_boundary(model, X, y, args.out / "moons_boundary.png"),
                common.plot_curves(history, args.out / "moons_curves.png", "moons"),
                common.network_picture(model, X[0], args.out / "moons_network.svg"),
                args.out / "moons_replay.html"]
    for path in filter(None, pictures):
        print(f"picture: {path}")
    print(f"final loss {loss.data:.4f}, training accuracy {accuracy:.0%} "
          f"({model!r}, {len(model.parameters())} parameters, {args.steps} steps in {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
