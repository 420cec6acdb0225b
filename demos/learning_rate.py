"""Learning rate and batch size: "a smaller learning rate ensures stable convergence, while a larger
rate accelerates learning but might lead to overshooting".

    python -m demos.learning_rate [--steps 100] [--epochs 20] [--seed 1] [--out out/]

A tanh MLP(2, [16, 16, 1]) fits 64 moons points with mean squared error, from the same starting
weights every time. Left: full-batch gradient descent at four learning rates (too small, good, too
large, divergent). Right: the good rate with batches of 1 and 16 rows and the full batch, per
epoch: small batches take many noisy steps per epoch, the full batch one smooth one. Each training
step is compiled once with ``compile_graph``; the mini-batches' rows and targets are its ``feeds``.
Each rate's run also leaves a replay page (learning_rate_replay_<rate>.html): watch the good rate
settle and the divergent one blow up.
"""

from __future__ import annotations

import math
import sys

import nn
from autograd import Value, no_grad
from autograd.compile import compile_graph
from nn.data import Standardizer, batches, make_moons

try:
    from demos import common
except ImportError:
    import common

RATES = {0.003: "too small", 0.1: "good", 0.3: "too large", 1.0: "divergent"}
SIZES = {1: "#dc2626", 16: "#2563eb", 64: "#111827"}
GOOD = 0.1


def setup(seed=1, n=64):
    """The data (standardised moons, labels -1/+1) and a model with its starting weights."""
    X, y = make_moons(n, noise=0.1, seed=seed)
    model = nn.MLP(2, [16, 16, 1], activation="tanh", seed=seed, init="xavier")
    return Standardizer.fit(X).transform(X), y, model, model.state_dict()


def compiled_gradient(model, size):
    """The gradient of the mean squared error on a batch of ``size`` rows, compiled once: call it
    with the batch; it sets every parameter's .grad and returns the loss."""
    xs = [[Value(0.0), Value(0.0)] for _ in range(size)]
    ts = [Value(0.0) for _ in range(size)]
    params = model.parameters()
    step = compile_graph(nn.mse_loss([model(x) for x in xs], ts), params, feeds=[v for r in xs for v in r] + ts)

    def gradient(X, y) -> float:
        for row, x, t, target in zip(xs, X, ts, y):
            row[0].data, row[1].data, t.data = x[0], x[1], target
        model.zero_grad()
        return step()  # reads the feeds and the parameters, adds the gradients into p.grad

    return gradient


def update(model, lr) -> None:
    """Gradient descent, by hand: w <- w - lr * dL/dw."""
    for p in model.parameters():
        p.data -= lr * p.grad


def sweep(X, y, model, start, gradient, steps=100, replay=None):
    """Full-batch loss per step for each rate in RATES, from the weights ``start`` (a run stops once
    its loss passes 1e3); ``gradient`` is the compiled full-batch gradient. With ``replay`` (a
    function of the rate giving a path), each run also writes its replay page there."""
    curves = {}
    for lr in RATES:
        model.load_state_dict(start)
        rec = nn.Recorder(model, train=(X, y), every=1, loss_fn=nn.mse_loss) if replay else None
        curves[lr] = []
        for k in range(steps):
            try:
                loss = gradient(X, y)
            except (OverflowError, ValueError):  # the weights grew past what a float holds
                break
            curves[lr].append(loss)
            if rec:
                rec.record(k, loss, lr=lr)
            if not loss < 1e3:
                break
            update(model, lr)
        if rec:
            rec.to_html(replay(lr))
    return curves


def batch_sizes(X, y, model, start, full, epochs=20, per_epoch=8, quiet=True):
    """Full training loss ``per_epoch`` times per epoch for batches of each size in SIZES, at the good rate."""
    curves = {}
    for size in SIZES:
        gradient = full if size == len(X) else compiled_gradient(model, size)
        model.load_state_dict(start)
        every = max(1, len(X) // size // per_epoch)
        curves[size] = []
        for epoch in common.progress(epochs, quiet, desc=f"batches of {size}", unit="epoch"):
            for k, (X_batch, y_batch) in enumerate(batches(X, y, size, seed=epoch)):
                if k % every == 0:
                    curves[size].append((epoch + k * size / len(X), loss_of(model, X, y)))
                gradient(X_batch, y_batch)
                update(model, GOOD)
        curves[size].append((epochs, loss_of(model, X, y)))
    return curves


def loss_of(model, X, y) -> float:
    """The mean squared error on every row, evaluated without a graph."""
    with no_grad():
        return nn.mse_loss([model(x) for x in X], y).data


def plot(rates, sizes, path):
    plt = common.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    colours = ["#9ca3af", "#16a34a", "#ea580c", "#dc2626"]
    top = 10 * max(c[0] for c in rates.values())
    for (lr, curve), colour in zip(rates.items(), colours):
        left.plot(range(len(curve)), curve, color=colour, label=f"lr {lr}: {RATES[lr]}")
        if curve[-1] >= top or len(curve) < len(rates[GOOD]):
            left.annotate(f"diverged at step {len(curve) - 1}\n(loss {curve[-1]:.0e})",
                          xy=(len(curve) - 1, top), xytext=(len(curve) + 8, top / 4), fontsize=8, color=colour,
                          arrowprops={"arrowstyle": "->", "color": colour})
    left.set_yscale("log")
    left.set_ylim(top=top)
    left.set(xlabel="step (full batch)", ylabel="mean squared error (log scale)",
             title="full-batch gradient descent at four learning rates")
    for size, curve in sizes.items():
        name = "full batch (64)" if size == 64 else f"batches of {size}"
        steps = 64 // size
        right.plot([c[0] for c in curve], [c[1] for c in curve], color=SIZES[size],
                   label=f"{name}: {steps} step{'s' if steps > 1 else ''} per epoch",
                   linewidth=1.0 if size == 1 else 1.5)
    right.set_yscale("log")
    right.set(xlabel="epoch (one pass over the 64 rows)", ylabel="mean squared error (log scale)",
              title=f"batch size at lr {GOOD}: noise against speed")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")  # the corner no curve passes through
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=100)
    p.add_argument("--epochs", type=common.positive_int, default=20, help="epochs per batch size (20)")
    args = p.parse_args(argv)
    common.pyplot()
    X, y, model, start = setup(args.seed)
    full = compiled_gradient(model, len(X))  # compiled once, used by both experiments
    pages = {lr: args.out / f"learning_rate_replay_{lr}.html" for lr in RATES}
    rates = sweep(X, y, model, start, full, args.steps, replay=pages.get)
    sizes = batch_sizes(X, y, model, start, full, args.epochs, quiet=args.quiet)
    for lr, curve in rates.items():
        end = f"loss {curve[-1]:.4f} after {len(curve)} steps" if math.isfinite(curve[-1]) else "diverged"
        print(f"lr {lr:<6} ({RATES[lr]}): {end}")
    for size, curve in sizes.items():
        print(f"batches of {size:2}: loss {curve[-1][1]:.4f} after {args.epochs} epoch{'s' if args.epochs > 1 else ''}")
    print(f"picture: {plot(rates, sizes, args.out / 'learning_rate.png')}")
    for lr, page in pages.items():
        print(f"training replay, lr {lr} ({RATES[lr]}): {page} (open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
