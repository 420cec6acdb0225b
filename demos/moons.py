"""micrograd's headline demo through chainrule's public API, trained the way backprop is taught.

    python -m demos.moons [--epochs 40] [--batch-size 20] [--lr 0.2] [--seed 1] [--hidden 16,16] [--out out/]
                          [--optimizer {sgd,momentum,adam,rmsprop}]

200 noisy moons points are split into training (60%), validation (20%) and test (20%) rows and
standardised with the training rows' statistics. An MLP learns by mini-batch gradient descent,
written by hand below as in micrograd's notebook (or, with --optimizer, by nn.optim: the same
decaying rate as an nn.optim.LinearLR schedule); the loss and accuracy on all the
training and validation rows are measured every second step (by the nn.Recorder that also makes
the replay page); the test rows are used once, at the end. Leaves three
pictures in --out: the decision boundary, the training and validation curves, and the trained
network on one input; and moons_replay.html, a page that replays the training step by step (open it
in a browser).
"""

from __future__ import annotations

import sys
import time

import nn
from autograd import no_grad
from nn.data import Standardizer, batches, make_moons, split

try:
    from demos import common
except ImportError:  # run as a script from inside demos/
    import common

ALPHA = 1e-4  # weight of the L2 penalty
# --optimizer: how to make it, and its usual initial rate (momentum 0.9 moves about 1 / (1 - 0.9) = 10
# times as far per step as plain SGD, so a tenth of SGD's rate)
OPTIMIZERS = {"sgd": (nn.optim.SGD, {}, 0.2), "momentum": (nn.optim.SGD, {"momentum": 0.9}, 0.02),
              "adam": (nn.optim.Adam, {}, 0.01), "rmsprop": (nn.optim.RMSprop, {}, 0.01)}


def evaluate(model, X, y) -> tuple:
    """(hinge loss, accuracy) of the model on rows X, without recording a graph."""
    with no_grad():
        scores = [model(x) for x in X]
        return nn.hinge_loss(scores, y).data, nn.accuracy(scores, y)


def train(epochs=40, seed=1, lr=0.2, hidden=(16, 16), activation="relu", batch_size=20, n=200,
          log=print, quiet=True, health_every=0, replay=None, every=2, optimizer=None):
    """Mini-batch SGD on MLP(2, [*hidden, 1]); returns (model, scaler, (train, val, test) raw rows, history).

    ``optimizer`` (a key of OPTIMIZERS) trains with nn.optim instead of the hand-written update.

    An nn.Recorder measures the loss and accuracy on all training and validation rows every
    ``every`` steps (``history["at"]``: those steps and the end); ``history["batch"]`` is each
    step's mini-batch loss, as backward saw it. With ``replay`` (a path) it also writes the replay page.
    """
    X, y = make_moons(n, noise=0.1, seed=seed)
    parts = split(X, y, val=0.2, test=0.2, seed=seed)
    scaler = Standardizer.fit(parts[0][0])  # statistics of the training rows only
    (X_train, y_train), (X_val, y_val) = [(scaler.transform(Xp), yp) for Xp, yp in parts[:2]]
    model = nn.MLP(2, [*hidden, 1], activation=activation, seed=seed)
    per_epoch = len(batches(X_train, y_train, batch_size))
    steps, k = epochs * per_epoch, 0
    # the chain-rule story follows the training row nearest the gap between the moons
    middle = min(range(len(X_train)), key=lambda i: abs(X_train[i][0]) + abs(X_train[i][1]))
    opt = schedule = None
    if optimizer is not None:
        make, options, _ = OPTIMIZERS[optimizer]
        opt = make(model.parameters(), lr=lr, **options)
        # the hand-written loop's decay, lr * (1 - 0.9 k / steps), as a schedule
        schedule = nn.optim.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=steps)
    rec = nn.Recorder(model, train=(X_train, y_train), val=(X_val, y_val), every=every, example=middle,
                      optimizer=opt)  # with an optimizer, the replay page shows the update it applied
    batch_losses = []
    bar = common.progress(epochs, quiet, unit="epoch")
    for epoch in bar:
        for X_batch, y_batch in batches(X_train, y_train, batch_size, seed=epoch):
            loss = nn.hinge_loss([model(x) for x in X_batch], y_batch) + ALPHA * nn.l2(model)
            model.zero_grad()
            loss.backward()
            rate = lr * (1.0 - 0.9 * k / steps) if opt is None else schedule.get_last_lr()[0]  # lr to lr / 10
            rec.record(k, loss, lr=rate)  # after backward, before the update
            batch_losses.append(loss.data)
            if health_every and epoch % health_every == 0 and k % per_epoch == 0:
                (bar.write if hasattr(bar, "write") else log)(
                    f"epoch {epoch}, step {k}: health\n{nn.health(model, X_train, lr=rate)}")
            if opt is None:
                for p in model.parameters():
                    p.data -= rate * p.grad
            else:
                opt.step()
                schedule.step()
            k += 1
        last = rec.history[-1]
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{last['train_loss']:.4f}", val_loss=f"{last['val_loss']:.4f}",
                            val_accuracy=f"{last['val_accuracy']:.0%}")
        elif epoch % 10 == 0 or epoch == epochs - 1:
            log(f"epoch {epoch:3d}  loss {last['train_loss']:.4f} (validation {last['val_loss']:.4f})  "
                f"accuracy {last['train_accuracy']:.0%} (validation {last['val_accuracy']:.0%})")
    if replay is not None:
        rec.to_html(replay)
    history = {"at": [e["step"] for e in rec.history] + [steps], "batch": batch_losses, "per_epoch": per_epoch,
               "train": [(e["train_loss"], e["train_accuracy"]) for e in rec.history],
               "val": [(e["val_loss"], e["val_accuracy"]) for e in rec.history]}
    history["train"].append(evaluate(model, X_train, y_train))  # after the last update
    history["val"].append(evaluate(model, X_val, y_val))
    return model, scaler, parts, history


def plot_curves(history, path):
    """Loss and accuracy per step: each mini-batch's loss, and the loss and accuracy on all
    training and validation rows every few steps; epochs along the top."""
    plt = common.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    at = history["at"]
    left.plot(range(len(history["batch"])), history["batch"], color="#9ca3af", linewidth=0.8,
              label="mini-batch loss (+ L2), each step")
    for name, rows, colour in (("training", history["train"], "#2563eb"), ("validation", history["val"], "#ea580c")):
        left.plot(at, [r[0] for r in rows], color=colour, label=f"{name} rows, all of them")
        right.plot(at, [100 * r[1] for r in rows], color=colour, label=f"{name} rows")
    left.set_yscale("log")
    left.set(xlabel="step", ylabel="hinge loss (log scale)", title="moons: loss")
    right.set(xlabel="step", title="moons: accuracy")
    common.percent_axis(right, min(100 * r[1] for rows in (history["train"], history["val"]) for r in rows))
    per_epoch = history["per_epoch"]
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        top = ax.secondary_xaxis("top", functions=(lambda s: s / per_epoch, lambda e: e * per_epoch))
        top.set_xlabel(f"epoch ({per_epoch} steps each)", fontsize=8)
        top.tick_params(labelsize=8)
    fig.tight_layout()
    return common.save(fig, path)


def plot_boundary(model, scaler, parts, path):
    """Decision regions (score > 0 vs < 0) with the training and validation points."""
    plt = common.pyplot()
    (X_train, y_train), (X_val, y_val), _ = parts
    xs, ys, grid = common.grid_predictions(lambda p: model(scaler.transform([p])[0]), X_train + X_val)
    scores = [[v.data for v in row] for row in grid]
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.contourf(xs, ys, [[s > 0 for s in row] for row in scores], levels=[-0.5, 0.5, 1.5],
                colors=["#fecaca", "#bfdbfe"], alpha=0.8)
    ax.contour(xs, ys, scores, levels=[0.0], colors="#111827", linewidths=1)
    for X, y, name, marker in ((X_train, y_train, "training", "o"), (X_val, y_val, "validation", "^")):
        for label, colour in ((-1, "#dc2626"), (1, "#2563eb")):
            pts = [x for x, t in zip(X, y) if t == label]
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], c=colour, s=22, marker=marker,
                       edgecolors="white" if marker == "o" else "black", linewidths=0.5,
                       label=f"{name}, label {label:+d}")
    ax.set(title="moons: decision boundary after training", xlabel="x0", ylabel="x1")
    ax.legend(loc="upper right", fontsize=7, framealpha=0.9)
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=40, unit="epochs")
    p.add_argument("--batch-size", type=common.positive_int, default=20, help="rows per gradient step (20)")
    p.add_argument("--lr", type=common.positive_float, default=None,
                   help="initial learning rate (0.2; with --optimizer: sgd 0.2, momentum 0.02, adam 0.01, rmsprop 0.01)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                   help="train with nn.optim (momentum: SGD with momentum 0.9); default: the update written by hand")
    p.add_argument("--hidden", type=common.widths, default=[16, 16], help="hidden widths (16,16)")
    p.add_argument("--activation", choices=nn.ACTIVATIONS, default="relu")
    p.add_argument("--health-every", type=common.count, default=10, help="print nn.health every N epochs (10; 0: never)")
    args = p.parse_args(argv)
    common.pyplot()  # fail early, before training, if matplotlib is missing
    start = time.perf_counter()
    lr = args.lr if args.lr is not None else OPTIMIZERS[args.optimizer][2] if args.optimizer else 0.2
    model, scaler, parts, history = train(args.epochs, args.seed, lr, args.hidden, args.activation,
                                          args.batch_size, quiet=args.quiet, health_every=args.health_every,
                                          replay=args.out / "moons_replay.html", optimizer=args.optimizer)
    seconds = time.perf_counter() - start
    X_test, y_test = parts[2]
    test_loss, test_acc = evaluate(model, scaler.transform(X_test), y_test)  # the test rows' only use
    (train_loss, train_acc), (val_loss, val_acc) = history["train"][-1], history["val"][-1]
    pictures = [plot_boundary(model, scaler, parts, args.out / "moons_boundary.png"),
                plot_curves(history, args.out / "moons_curves.png"),
                common.network_picture(model, scaler.transform(parts[0][0][:1])[0], args.out / "moons_network.svg")]
    for path in filter(None, pictures):
        print(f"picture: {path}")
    print(f"training replay: {args.out / 'moons_replay.html'} (open it in a browser)")
    how = f"nn.optim {args.optimizer}" if args.optimizer else "the hand-written update"
    print(f"{model!r}, {len(model.parameters())} parameters, {how} from lr {lr:g}, {args.epochs} epoch{'s' if args.epochs > 1 else ''} in {seconds:.1f} s")
    print(f"final loss {train_loss:.4f}, training accuracy {train_acc:.0%}, validation accuracy {val_acc:.0%}")
    print(f"test accuracy {test_acc:.0%} ({len(y_test)} rows held out until now)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
