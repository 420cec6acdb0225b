"""Exploding gradients, and how gradient clipping and a learning-rate schedule tame them.

    python -m demos.exploding [--steps 200] [--seed 1] [--out out/] [--quick]

A deep relu MLP(1, [8] * 6 + [1]) starts from weights 1.6 times as large as He initialisation
would give. Each layer then multiplies the signal by about 1.6, so the first loss is about 3e3 and
the gradient norm about 2e4. It learns 40 samples of sin(x) with mean squared error by SGD at lr
0.01, four times from the same start: plainly (the first step throws the weights so far that the
loss passes 1e8 two steps later), with ``nn.clip_grad_norm(params, 1.0)`` (every step at
most lr * 1.0 long), with a warm-up schedule (``nn.optim.LinearLR`` from 1% of the rate to all of
it over 50 steps) and with clipping plus a cosine decay (``nn.optim.CosineAnnealingLR``). The
right panel shows the gradient norm before clipping (what ``clip_grad_norm`` returns).
"""

from __future__ import annotations

import math
import sys

import nn
from autograd.compile import compile_graph
from nn.data import make_sine

try:
    from demos import common
except ImportError:
    import common

LR, MAX_NORM, SCALE = 0.01, 1.0, 1.6
TOP = 1e9  # the plots' upper edge: a run that blew up is marked there
# name -> (colour, clip?, schedule maker)
RUNS = {
    "plain SGD": ("#dc2626", False, None),
    f"clip_grad_norm({MAX_NORM:g})": ("#2563eb", True, None),
    "warm-up (LinearLR 1% to 100% in 50 steps)": ("#16a34a", False,
                                                  lambda opt, steps: nn.optim.LinearLR(opt, 0.01, 1.0, 50)),
    f"clip_grad_norm({MAX_NORM:g}) + CosineAnnealingLR": ("#9333ea", True,
                                                          lambda opt, steps: nn.optim.CosineAnnealingLR(opt, steps)),
}


def setup(seed=1, n=40):
    """The sine data, the model with its too-large starting weights, and the compiled gradient."""
    X, y = make_sine(n, seed=seed)
    model = nn.MLP(1, [8] * 6 + [1], activation="relu", seed=seed, init="he")
    for p in model.parameters():
        p.data *= SCALE  # too large: each relu layer now multiplies the signal by about 1.6
    return model, compile_graph(nn.mse_loss([model(x) for x in X], y), model.parameters())


def run(model, gradient, start, clip, schedule, steps, bar=None):
    """(losses, gradient norms before clipping) per step; stops once the loss is not finite or above 1e8."""
    model.load_state_dict(start)
    params = model.parameters()
    opt = nn.optim.SGD(params, lr=LR)
    sched = schedule(opt, steps) if schedule else None
    losses, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = gradient()
        norm = nn.clip_grad_norm(params, MAX_NORM) if clip else math.sqrt(sum(p.grad * p.grad for p in params))
        losses.append(loss)
        norms.append(norm)
        if bar is not None:
            bar.update()
        if not loss < 1e8:  # diverged (or NaN)
            break
        opt.step()
        if sched:
            sched.step()
    return losses, norms


def plot(results, steps, path):
    """Loss and gradient norm per step (log scales), one line per run; a cross where a run blew up."""
    plt = common.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    for name, (losses, norms) in results.items():
        colour = RUNS[name][0]
        blew = len(losses) < steps
        label = f"{name}: {'blew up at step ' + str(len(losses) - 1) if blew else f'final loss {losses[-1]:.3g}'}"
        for ax, ys in ((left, losses), (right, norms)):
            ax.plot(range(len(ys)), ys, color=colour, label=label, linewidth=1.3)
            if blew:  # the last value is far off the scale: a cross at the top edge, with the number
                ax.plot(len(ys) - 1, TOP / 2, "x", color=colour, markersize=10, clip_on=False)
                ax.annotate(f"{ys[-1]:.1e} (off the scale)", (len(ys) - 1, TOP / 2), xytext=(8, -4),
                            textcoords="offset points", color=colour, fontsize=8)
    right.axhline(MAX_NORM, color="#111827", linestyle="--", linewidth=1, label=f"max_norm = {MAX_NORM:g} (clipped above)")
    left.set(xlabel="SGD step (lr 0.01 at most, full batch of 40)", ylabel="mean squared error (log scale)",
             title="loss: the too-large start explodes without help")
    right.set(xlabel="SGD step", ylabel="gradient norm before clipping (log scale)",
              title="gradient norm (what clip_grad_norm returns)")
    for ax in (left, right):
        ax.set_yscale("log")
        ax.set_ylim(top=TOP)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper right", bbox_to_anchor=(1.0, 0.9), framealpha=0.9)
    fig.tight_layout()
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=200, quick="a few steps, for tests")
    args = p.parse_args(argv)
    common.pyplot()
    steps = 4 if args.quick else args.steps
    model, gradient = setup(args.seed, 10 if args.quick else 40)
    start = model.state_dict()
    with common.counting(steps * len(RUNS), args.quiet, desc="four runs") as bar:
        results = {name: run(model, gradient, start, clip, schedule, steps, bar)
                   for name, (_, clip, schedule) in RUNS.items()}
    print(f"picture: {plot(results, steps, args.out / 'exploding.png')}")
    for name, (losses, norms) in results.items():
        end = f"blew up at step {len(losses) - 1} (loss {losses[-1]:.3g})" if len(losses) < steps else f"final loss {losses[-1]:.4g}"
        print(f"{name:50} first loss {losses[0]:.3g}, first gradient norm {norms[0]:.3g}; {end}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
