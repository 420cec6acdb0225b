"""How the optimization algorithm changes training: plain SGD, momentum, Adam and RMSprop.

    python -m demos.optimizers [--steps 150] [--seed 1] [--out out/] [--quick]

Left: the same tanh MLP(2, [16, 16, 1]), from the same starting weights, fits 64 moons points with
mean squared error under each nn.optim optimizer at a usual rate (full batch; the step is
compiled once with compile_graph and shared by the four runs). The rates are the largest of the
usual ones that never let the loss jump here: SGD at 0.1 and RMSprop at PyTorch's default 0.01
each had the loss jump threefold or more at some step. Right: the path each optimizer takes
on a 2-parameter loss surface, a long narrow valley f(x, y) = x**2 / 20 + y**2 (the kind a network's
loss has around its minimum), drawn as contours: plain SGD zigzags across the valley and crawls
along it, momentum overshoots and swings back, Adam and RMSprop divide each coordinate's step by its
own recent gradient size, so they head down both directions at the same pace.
"""

from __future__ import annotations

import sys

import nn
from autograd import Value
from autograd.compile import compile_graph
from nn.data import Standardizer, make_moons

try:
    from demos import common
except ImportError:
    import common

# name -> (colour, optimizer, options, rate on the network, rate on the valley)
OPTIMIZERS = {
    "SGD": ("#6b7280", nn.optim.SGD, {}, 0.05, 0.9),
    "momentum 0.9": ("#dc2626", nn.optim.SGD, {"momentum": 0.9}, 0.01, 0.1),
    "Adam": ("#2563eb", nn.optim.Adam, {}, 0.01, 0.3),
    "RMSprop": ("#16a34a", nn.optim.RMSprop, {}, 0.001, 0.1),
}
START = (-9.0, 2.0)  # where every path on the valley begins


def valley(x, y):
    """The 2-parameter loss surface: steep across (y), shallow along (x); minimum 0 at (0, 0)."""
    return x * x / 20 + y * y


def train_network(steps, seed=1, n=64, bar=None):
    """{optimizer name: full-batch loss per step} on the moons network, every run from the same weights."""
    X, y = make_moons(n, noise=0.1, seed=seed)
    X = Standardizer.fit(X).transform(X)
    model = nn.MLP(2, [16, 16, 1], activation="tanh", seed=seed, init="xavier")
    start, params = model.state_dict(), model.parameters()
    gradient = compile_graph(nn.mse_loss([model(x) for x in X], y), params)  # reads p.data, adds into p.grad
    curves = {}
    for name, (_, make, options, lr, _) in OPTIMIZERS.items():
        model.load_state_dict(start)
        opt = make(params, lr=lr, **options)
        curves[name] = []
        for _ in range(steps):
            opt.zero_grad()
            curves[name].append(gradient())
            opt.step()
            if bar is not None:
                bar.update()
    return curves


def paths(steps):
    """{optimizer name: [(x, y) after each step]} on the valley, each from START."""
    out = {}
    for name, (_, make, options, _, lr) in OPTIMIZERS.items():
        x, y = Value(START[0], "x"), Value(START[1], "y")
        opt = make([x, y], lr=lr, **options)
        out[name] = [START]
        for _ in range(steps):
            opt.zero_grad()
            valley(x, y).backward()
            opt.step()
            out[name].append((x.data, y.data))
    return out


def plot(curves, tracks, path, rows=64):
    """Loss curves (left) and the paths on the valley's contours (right); one legend entry per line."""
    plt = common.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.4), gridspec_kw={"width_ratios": [1, 1.35]})
    for name, losses in curves.items():
        colour, _, _, lr, _ = OPTIMIZERS[name]
        left.plot(range(1, len(losses) + 1), losses, color=colour, label=f"{name}, lr {lr:g}")
    left.set_yscale("log")
    left.set(xlabel=f"step (full batch of {rows} rows)", ylabel="mean squared error (log scale)",
             title="the same network trained four ways")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    xs = [-10 + 20 * i / 199 for i in range(200)]
    ys = [-3 + 6 * j / 119 for j in range(120)]
    levels = [0.02, 0.1, 0.3, 0.7, 1.5, 3, 5, 8, 12]
    contour = right.contour(xs, ys, [[valley(x, y) for x in xs] for y in ys], levels=levels,
                            colors="#9ca3af", linewidths=0.7)
    right.clabel(contour, fontsize=6, fmt="%g")
    for name, track in tracks.items():
        colour, _, _, _, lr = OPTIMIZERS[name]
        right.plot([p[0] for p in track], [p[1] for p in track], "-o", color=colour, markersize=2.5,
                   linewidth=1.1, label=f"{name}, lr {lr:g} ({len(track) - 1} steps)")
    right.plot(*START, "k*", markersize=10, label="start")
    right.plot(0, 0, "kx", markersize=8, label="minimum")
    right.set(xlim=(-10, 10), ylim=(-3, 3), xlabel="parameter x (shallow direction)",
              ylabel="parameter y (steep direction)", title="paths on the loss x²/20 + y² (grey contours)")
    right.legend(fontsize=7, loc="lower right", framealpha=0.9)
    fig.tight_layout()
    return common.save(fig, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=150, quick="a few steps, for tests")
    args = p.parse_args(argv)
    common.pyplot()  # fail early if matplotlib is missing
    steps = 5 if args.quick else args.steps
    with common.counting(steps * len(OPTIMIZERS), args.quiet, desc="four optimizers") as bar:
        curves = train_network(steps, args.seed, n=16 if args.quick else 64, bar=bar)
    tracks = paths(min(steps, 40))
    print(f"picture: {plot(curves, tracks, args.out / 'optimizers.png', 16 if args.quick else 64)}")
    print(f"{'optimizer':14} {'lr':>6} {'loss at start':>14} {'after ' + str(steps) + ' steps':>16}   valley: distance to the minimum after {min(steps, 40)} steps")
    for name, losses in curves.items():
        x, y = tracks[name][-1]
        print(f"{name:14} {OPTIMIZERS[name][3]:>6g} {losses[0]:>14.4f} {losses[-1]:>16.4f}   {(x * x + y * y) ** 0.5:.3f} (lr {OPTIMIZERS[name][4]:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
