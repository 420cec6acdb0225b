"""The role of the activation function: vanishing gradients in a deep narrow network.

    python -m demos.activations [--steps 250] [--seed 1] [--out out/] [--quick]

A deep narrow MLP(2, [6] * 8 + [1]) (eight hidden layers of six units, the same Xavier-initialised
starting weights for each activation) learns 32 moons points with mean squared error by plain
gradient descent, once with each of sigmoid, tanh, relu and gelu. ``nn.health`` measures the
gradient norm of each layer's parameters at initialisation and after training, and counts dead
relu units (units that output 0 on every training row, so they get no gradient and never recover).
Backprop multiplies one local derivative per layer: sigmoid's is at most 0.25, so the first layers'
gradients are orders of magnitude smaller than the last's and they barely learn; tanh's is at most
1, relu's is 0 or 1. Each run's step is compiled once with ``compile_graph``.
"""

from __future__ import annotations

import sys

import nn
from autograd.compile import compile_graph
from nn.data import Standardizer, make_moons

try:
    from demos import common
except ImportError:
    import common

ACTIVATIONS = {"sigmoid": "#dc2626", "tanh": "#2563eb", "relu": "#16a34a", "gelu": "#9333ea"}
DEPTH, WIDTH, LR = 8, 6, 0.1


def run(activation, steps, seed=1, n=32, bar=None):
    """Train one activation; returns (losses, health at init, health after, model)."""
    X, y = make_moons(n, noise=0.1, seed=seed)
    X = Standardizer.fit(X).transform(X)
    model = nn.MLP(2, [WIDTH] * DEPTH + [1], activation=activation, seed=seed, init="xavier")
    params = model.parameters()
    gradient = compile_graph(nn.mse_loss([model(x) for x in X], y), params)
    losses, first = [], None
    opt = nn.optim.SGD(params, lr=LR)
    for k in range(steps + 1):
        opt.zero_grad()
        losses.append(gradient())  # the loss, and every .grad
        if k == 0:
            first = nn.health(model, X)
        if k < steps:
            opt.step()
        if bar is not None:
            bar.update()
    return losses, first, nn.health(model, X), model


def plot(results, path):
    """Gradient norm per layer at init and after training (log scale), and the loss curves."""
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    layers = list(range(1, DEPTH + 2))
    for name, (losses, first, last, _) in results.items():
        colour = ACTIVATIONS[name]
        for ax, report, style in ((axes[0], first, "-o"), (axes[1], last, "-o")):
            dead = sum(len(h.dead) for h in report.layers)
            extra = f", {dead} dead units" if name == "relu" else ""
            ax.plot(layers, [h.grad_norm for h in report.layers], style, color=colour, markersize=4,
                    label=f"{name}{extra}")
        axes[2].plot(range(len(losses)), losses, color=colour, label=f"{name} (final {losses[-1]:.3f})")
    steps = len(next(iter(results.values()))[0]) - 1
    for ax, when in ((axes[0], "at initialisation"), (axes[1], f"after {steps} steps")):
        ax.set_yscale("log")
        ax.set_xticks(layers, [f"L{i}" for i in layers[:-1]] + ["out"])
        ax.set(xlabel="layer (L1 = nearest the input)", ylabel="|gradient| of the layer's weights and biases",
               title=f"gradient size per layer, {when}")
    axes[2].set(xlabel="gradient descent step (lr 0.1, full batch)", ylabel="mean squared error (log scale)",
                title=f"training an {DEPTH}-layer, {WIDTH}-wide network")
    axes[2].set_yscale("log")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=250, quick="a few steps, for tests")
    args = p.parse_args(argv)
    common.pyplot()
    steps = 3 if args.quick else args.steps
    n = 8 if args.quick else 32
    with common.counting((steps + 1) * len(ACTIVATIONS), args.quiet, desc="four activations") as bar:
        results = {a: run(a, steps, args.seed, n, bar) for a in ACTIVATIONS}
    print(f"picture: {plot(results, args.out / 'activations.png')}")
    print(f"{'activation':10} {'|grad| L1 / out at init':>24} {'after':>10} {'dead units init':>16} {'after':>6} "
          f"{'loss':>7} -> {'final':<7}")
    for name, (losses, first, last, _) in results.items():
        ratio = [r.layers[0].grad_norm / r.layers[-1].grad_norm for r in (first, last)]
        dead = [sum(len(h.dead) for h in r.layers) for r in (first, last)]
        print(f"{name:10} {ratio[0]:>24.2e} {ratio[1]:>10.2e} {dead[0]:>16} {dead[1]:>6} {losses[0]:>7.3f} -> {losses[-1]:<7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
