"""Newton's method against gradient descent on Rosenbrock's valley, with the Hessian from autograd.functional.

    python -m demos.newton [--lr 0.0018] [--max-steps 50000] [--tol 0.001] [--quick] [--out out/]

Gradient descent from (-1.2, 1) needs thousands of small steps, zig-zagging across the curved valley
before crawling along it; Newton's method, stepping by H^-1 grad with the Hessian H that
``autograd.functional.hessian`` takes by differentiating the gradient again, lands on (1, 1) in a
handful. Then the graph of a second derivative: d2/dx2 tanh(x), built by two ``grad`` calls with
``create_graph=True``, drawn by ``autograd.viz``.
"""

from __future__ import annotations

import math
import sys

from autograd import Value, functional, grad

try:
    from demos import common
except ImportError:
    import common

START = (-1.2, 1.0)
MINIMUM = (1.0, 1.0)


def rosenbrock(x, y):
    """(1 - x)^2 + 100 (y - x^2)^2: a curved valley whose floor leads to the minimum at (1, 1)."""
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def error(p) -> float:
    """Distance from p to the minimum (1, 1)."""
    return math.hypot(p[0] - MINIMUM[0], p[1] - MINIMUM[1])


def gradient_descent(lr: float, max_steps: int, tol: float) -> list:
    """The points of gradient descent from START until within ``tol`` of the minimum (or max_steps)."""
    path = [START]
    while len(path) <= max_steps and error(path[-1]) >= tol:
        x, y = Value(path[-1][0]), Value(path[-1][1])
        gx, gy = grad(rosenbrock(x, y), [x, y])
        path.append((x.data - lr * gx, y.data - lr * gy))
    return path


def newton(max_steps: int = 20) -> list:
    """The points of Newton's method from START: p <- p - H^-1 grad, stopping when the step is 0."""
    path = [START]
    for _ in range(max_steps):
        (g,) = functional.jacobian(rosenbrock, path[-1])
        (a, b), (c, d) = functional.hessian(rosenbrock, path[-1])
        det = a * d - b * c
        step = ((d * g[0] - b * g[1]) / det, (a * g[1] - c * g[0]) / det)  # H^-1 g, H is 2 x 2
        if step == (0.0, 0.0):
            break
        path.append((path[-1][0] - step[0], path[-1][1] - step[1]))
    return path


def _contours(ax, x_range, y_range):
    xs = [x_range[0] + (x_range[1] - x_range[0]) * i / 199 for i in range(200)]
    ys = [y_range[0] + (y_range[1] - y_range[0]) * j / 199 for j in range(200)]
    zs = [[math.log10(rosenbrock(x, y) + 1e-3) for x in xs] for y in ys]
    return ax.contourf(xs, ys, zs, levels=24, cmap="Greys", alpha=0.45)


def plot_paths(gd: list, nt: list, lr: float, path, zoom_steps: int = 40):
    """Both paths over log-spaced contours of the valley, and the first steps of gradient descent up close."""
    plt = common.pyplot()
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(13, 6.2), gridspec_kw={"width_ratios": [1.25, 1]})
    shading = _contours(ax, (-2.0, 2.0), (-3.5, 3.5))
    fig.colorbar(shading, ax=ax, label="log10(Rosenbrock + 0.001): darker is higher")
    gd_label = f"gradient descent, lr {lr:g}: {len(gd) - 1:,} steps, error {error(gd[-1]):.1e}"
    nt_label = f"Newton's method: {len(nt) - 1} steps, error {error(nt[-1]):.1e}"
    ax.plot([p[0] for p in gd], [p[1] for p in gd], "-", color="tab:orange", lw=1.5, label=gd_label)
    ax.plot([p[0] for p in nt], [p[1] for p in nt], "o-", color="tab:blue", lw=1.5, ms=5, label=nt_label)
    for k, p in enumerate(nt[1:5], 1):  # later steps sit on the minimum
        ax.annotate(f"step {k}", p, textcoords="offset points", xytext=(7, -3), color="tab:blue", fontsize=9)
    for a in (ax, zoom):
        a.plot(*START, "s", color="black", ms=7, label="start (-1.2, 1)")
        a.plot(*MINIMUM, "*", color="tab:red", ms=14, label="minimum (1, 1)")
        a.set_xlabel("x")
        a.set_ylabel("y")
    ax.set_xlim(-2.0, 2.0)
    ax.set_ylim(-3.5, 3.5)
    ax.set_title(f"Newton's method reaches (1, 1) in {len(nt) - 1} steps,\n"
                 f"gradient descent needs {len(gd) - 1:,} (from (-1.2, 1))")
    first = gd[:zoom_steps + 1]
    pad = 0.08
    x_range = (min(p[0] for p in first) - pad, max(p[0] for p in first) + pad)
    y_range = (min(p[1] for p in first) - pad, max(p[1] for p in first) + pad)
    _contours(zoom, x_range, y_range)
    zoom.plot([p[0] for p in first], [p[1] for p in first], ".-", color="tab:orange", lw=1, ms=5)
    zoom.set_xlim(*x_range)
    zoom.set_ylim(*y_range)
    zoom.set_title(f"the first {zoom_steps} gradient descent steps, up close:\n"
                   "each overshoots across the narrow valley (the zig-zag)")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.subplots_adjust(bottom=0.2, wspace=0.25)
    return common.save(fig, path)


def second_derivative_graph(path, x0: float = 0.5):
    """d2/dx2 tanh(x) at x0 as a recorded graph (two grad calls with create_graph=True), drawn."""
    from autograd import viz

    x = Value(x0, "x")
    y = x.tanh()
    y.label = "y"
    (dy,) = grad(y, [x], create_graph=True)
    (d2y,) = grad(dy, [x], create_graph=True)
    d2y.label = "d2y/dx2"
    exact = -2 * math.tanh(x0) * (1 - math.tanh(x0) ** 2)
    caption = (f"d2/dx2 tanh(x) at x = {x0}: {d2y.data:.6f} "
               f"(exact -2 tanh(x) (1 - tanh(x)^2) = {exact:.6f})")
    viz.render(d2y, path, rankdir="TB", show_grad=False, caption=caption)
    return d2y, path


def main(argv=None) -> int:
    p = common.argparse.ArgumentParser(prog=common.prog(), description=__doc__.strip().splitlines()[0])
    p.add_argument("--lr", type=common.positive_float, default=1.8e-3, help="gradient descent's step size (0.0018)")
    p.add_argument("--max-steps", type=common.positive_int, default=50_000, help="gradient descent's limit (50000)")
    p.add_argument("--tol", type=common.positive_float, default=1e-3,
                   help="gradient descent stops within this distance of (1, 1) (0.001)")
    p.add_argument("--quick", action="store_true", help="at most 300 gradient descent steps (for tests)")
    p.add_argument("--out", type=common.out_dir, default="out", help="directory for pictures (out/)")
    args = p.parse_args(argv)
    common.pyplot()
    gd = gradient_descent(args.lr, 300 if args.quick else args.max_steps, args.tol)
    nt = newton()
    print(f"gradient descent (lr {args.lr:g}): {len(gd) - 1:,} steps, final point ({gd[-1][0]:.6f}, "
          f"{gd[-1][1]:.6f}), error {error(gd[-1]):.2e}"
          + ("" if error(gd[-1]) < args.tol else f" (stopped at the limit, not yet within {args.tol:g})"))
    print(f"Newton's method (Hessian from autograd.functional.hessian): {len(nt) - 1} steps, final point "
          f"({nt[-1][0]:.6f}, {nt[-1][1]:.6f}), error {error(nt[-1]):.2e}")
    for k, q in enumerate(nt):
        print(f"  Newton step {k}: ({q[0]: .12f}, {q[1]: .12f})  error {error(q):.2e}")
    print(f"picture: {plot_paths(gd, nt, args.lr, args.out / 'newton_paths.png')}")
    d2y, picture = second_derivative_graph(args.out / "newton_d2tanh.svg")
    print(f"picture: {picture} (the graph of d2/dx2 tanh(x) at x = 0.5 = {d2y.data:.6f}: the first grad's "
          f"nodes and the second's, each named by the rule that made it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
