"""Overfitting and three remedies: a big network on a small noisy data set, trained four ways.

    python -m demos.generalisation [--epochs 200] [--seed 1] [--out out/]

30 training rows of noisy moons and an MLP(2, [16, 16, 1]) with 337 parameters: left alone it
learns the noise (training loss falls while validation loss climbs). The same run again with an L2
penalty (nn.l2), with dropout (MLP(dropout=...)), and with early stopping (nn.EarlyStopping, which
puts back the weights of the best validation epoch). Prints a table of training, validation and
test accuracy; draws the four validation curves and the four decision boundaries, and writes a
replay page of each run (generalisation_replay_*.html: watch the boundary bend around the noise).
"""

from __future__ import annotations

import sys

import nn
from autograd import no_grad
from autograd.compile import compile_graph
from nn.data import Standardizer, make_moons, split

try:
    from demos import common
except ImportError:
    import common

RUNS = {"none": "#dc2626", "L2": "#2563eb", "dropout": "#16a34a", "early stopping": "#9333ea"}


def data(seed=1, n=150, noise=0.4):
    """Noisy moons with 0/1 labels: 20% for training, 40% each for validation and test, standardised."""
    X, y = make_moons(n, noise=noise, seed=seed)
    parts = split(X, [(t + 1) // 2 for t in y], val=0.4, test=0.4, seed=seed)
    scaler = Standardizer.fit(parts[0][0])
    return parts, scaler


def evaluate(model, X, y) -> tuple:
    """(cross-entropy, accuracy) in eval mode (no dropout), without recording a graph."""
    was_training = model.training
    model.eval()
    with no_grad():
        logits = [model(x) for x in X]
    model.train(was_training)
    return nn.bce_with_logits(logits, y).data, nn.accuracy(logits, y)


def full_batch_gradient(model, X, y, alpha):
    """A function that sets every parameter's .grad to the full training set's gradient and returns
    the loss. A fixed graph is compiled once; dropout draws a new mask every step, so its graph
    changes and it runs eagerly."""
    params = model.parameters()

    def loss():
        return nn.bce_with_logits([model(x) for x in X], y) + (alpha * nn.l2(model) if alpha else 0.0)

    compiled = None if model.dropouts else compile_graph(loss(), params)

    def gradient() -> float:
        model.zero_grad()
        if compiled is not None:
            return compiled()
        value = loss()
        value.backward()
        return value.data

    return gradient


def train(run, epochs=200, seed=1, lr=0.3, alpha=0.01, dropout=0.5, patience=10, every=5, quiet=True,
          replay=None):
    """Train one run ("none", "L2", "dropout" or "early stopping"); returns (model, curve) where the
    curve holds (epoch, training loss, validation loss) every ``every`` epochs. With ``replay`` (a
    path), an nn.Recorder watches every second epoch and writes the replay page there."""
    parts, scaler = data(seed)
    (X_train, y_train), (X_val, y_val) = [(scaler.transform(X), y) for X, y in parts[:2]]
    model = nn.MLP(2, [16, 16, 1], seed=seed, init="xavier", dropout=dropout if run == "dropout" else 0.0)
    gradient = full_batch_gradient(model, X_train, y_train, alpha if run == "L2" else 0.0)
    stopper = nn.EarlyStopping(patience=patience) if run == "early stopping" else None
    rec = nn.Recorder(model, train=(X_train, y_train), val=(X_val, y_val), every=2) if replay else None
    curve = []
    for epoch in common.progress(epochs + 1, quiet, desc=run, unit="epoch"):
        if epoch % every == 0:
            val_loss = evaluate(model, X_val, y_val)[0]
            curve.append((epoch, evaluate(model, X_train, y_train)[0], val_loss))
            if stopper and stopper.step(val_loss, model):
                stopper.restore(model)
                break
        if epoch < epochs:
            loss = gradient()
            if rec:
                rec.record(epoch, loss, lr=lr)  # after the gradient, before the update
            for p in model.parameters():
                p.data -= lr * p.grad
    if stopper and stopper.best_epoch is not None:
        stopper.restore(model)  # also when it ran out of epochs before its patience
    model.eval()
    if rec:
        rec.to_html(replay)
    return model, curve


def plot_curves(curves, stopped_at, path):
    """Every run's validation loss, and the unregularised run's training loss for the gap."""
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    epochs, train_loss, _ = zip(*curves["none"])
    ax.plot(epochs, train_loss, color=RUNS["none"], linestyle=":", label="none: training loss")
    for run, curve in curves.items():
        stop = f" (stopped at epoch {curve[-1][0]})" if run == "early stopping" else ""
        ax.plot([c[0] for c in curve], [c[2] for c in curve], color=RUNS[run], label=f"{run}: validation loss{stop}",
                linewidth=2.5 if run == "early stopping" else 1.5, zorder=3 if run == "early stopping" else 2)
    epoch, loss = stopped_at
    ax.scatter([epoch], [loss], color=RUNS["early stopping"], s=50, zorder=4, edgecolors="white",
               label=f"early stopping: best epoch ({epoch}), weights restored")
    last = curves["none"][-1]
    ax.annotate("", xy=(last[0], last[1]), xytext=(last[0], last[2]),
                arrowprops={"arrowstyle": "<->", "color": RUNS["none"], "lw": 1})
    ax.text(last[0], (last[1] * last[2]) ** 0.5, "overfitting: \nthe gap  ", color=RUNS["none"], ha="right",
            va="center", fontsize=8)
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="cross-entropy (log scale)",
           title="30 noisy training rows, 337 parameters: validation loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)  # below: no curve hidden
    return common.save(fig, path)


def plot_boundaries(models, parts, scaler, table, path):
    """The four decision boundaries over the training (filled) and validation (hollow) points."""
    plt = common.pyplot()
    (X_train, y_train), (X_val, y_val), _ = parts
    fig, axes = plt.subplots(2, 2, figsize=(8, 7), sharex=True, sharey=True)
    for ax, (run, model) in zip(axes.flat, models.items()):
        xs, ys, grid = common.grid_predictions(lambda p, m=model: m(scaler.transform([p])[0]), X_train + X_val, n=50)
        scores = [[v.data for v in row] for row in grid]
        ax.contourf(xs, ys, [[s > 0 for s in row] for row in scores], levels=[-0.5, 0.5, 1.5],
                    colors=["#fecaca", "#bfdbfe"], alpha=0.8)
        ax.contour(xs, ys, scores, levels=[0.0], colors="#111827", linewidths=1)
        for X, y, name, filled in ((X_train, y_train, "training", True), (X_val, y_val, "validation", False)):
            for label, colour in ((0, "#dc2626"), (1, "#2563eb")):
                pts = [x for x, t in zip(X, y) if t == label]
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=26 if filled else 18, linewidths=1,
                           c=colour if filled else "none", edgecolors="white" if filled else colour,
                           label=f"{name}, label {label}")
        train_acc, val_acc = table[run][:2]
        ax.set_title(f"{run}: training {train_acc:.0%}, validation {val_acc:.0%}", fontsize=10)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("x0")
    for row in axes:
        row[0].set_ylabel("x1")
    fig.suptitle("Decision boundaries (shaded: predicted label; red 0, blue 1)")
    fig.subplots_adjust(bottom=0.12)
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=200, unit="epochs")
    p.add_argument("--every", type=common.positive_int, default=5, help="evaluate every N epochs (5)")
    args = p.parse_args(argv)
    common.pyplot()
    parts, scaler = data(args.seed)
    scaled = [(scaler.transform(X), y) for X, y in parts]
    models, curves, table, pages = {}, {}, {}, []
    for run in RUNS:
        replay = args.out / f"generalisation_replay_{run.replace(' ', '_')}.html"
        models[run], curves[run] = train(run, args.epochs, args.seed, every=args.every, quiet=args.quiet,
                                         replay=replay)
        pages.append(replay)
        table[run] = tuple(evaluate(models[run], X, y)[1] for X, y in scaled) + (
            evaluate(models[run], *scaled[1])[0],)
    es_curve = curves["early stopping"]
    best = min(es_curve, key=lambda c: c[2])
    print(f"{'accuracy':16} {'training':>9} {'validation':>11} {'test':>6}   validation loss")
    for run, (train_acc, val_acc, test_acc, val_loss) in table.items():
        print(f"{run:16} {train_acc:9.0%} {val_acc:11.0%} {test_acc:6.0%}   {val_loss:.3f}")
    print(f"early stopping stopped at epoch {es_curve[-1][0]}, restoring epoch {best[0]}")
    print(f"picture: {plot_curves(curves, (best[0], best[2]), args.out / 'generalisation_curves.png')}")
    print(f"picture: {plot_boundaries(models, parts, scaler, table, args.out / 'generalisation_boundaries.png')}")
    for page in pages:
        print(f"training replay: {page} (open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
