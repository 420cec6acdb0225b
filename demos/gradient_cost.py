"""Is backprop the only way? What every gradient of a network costs three ways.

    python -m demos.gradient_cost [--seed 1] [--out out/] [--measure-up-to 1300] [--quick]

One network, MLP(4, [h, h, 1]) with tanh, its squared error on one input row, written once as a
function of a flat list of P parameters so that it runs on floats, Values and Duals alike. Its P
partial derivatives are computed by
  - finite differences: two forward passes on floats per parameter, (f(w + h) - f(w - h)) / 2h;
  - forward mode (``autograd.forward.gradient``): one pass of dual numbers per parameter;
  - reverse mode (backprop, ``Value.backward``): one forward pass recording the graph, one backward pass.
The first two cost P passes of size about P, so their time grows like P**2; reverse mode's grows
like P. Each is timed in CPU seconds (best of a few runs) for P from 9 to 9,889; finite differences and forward
mode stop at --measure-up-to parameters (1,249) and are extrapolated beyond as c * P**2 from their
largest measurement (dashed on the plot). The garbage collector is off while timing, as in
``timeit``. The three gradients are checked against each other.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time

from autograd import Value
from autograd.forward import gradient as forward_gradient

try:
    from demos import common
except ImportError:
    import common

HIDDEN = (1, 2, 4, 8, 16, 32, 64, 96)  # h; P = h*h + 7h + 1 parameters: 9 ... 9,889
METHODS = {"finite differences (2 passes per parameter)": "#dc2626",
           "forward mode, autograd.forward (1 pass per parameter)": "#9333ea",
           "reverse mode, backward() (1 pass forward, 1 back)": "#2563eb"}


def count(h: int) -> int:
    """The number of parameters of MLP(4, [h, h, 1])."""
    return (4 + 1) * h + (h + 1) * h + (h + 1)


def tanh(v):
    return math.tanh(v) if isinstance(v, float) else v.tanh()


def loss(params, h, x=(0.5, -1.0, 0.25, 2.0), target=0.3):
    """The squared error of MLP(4, [h, h, 1]) (tanh, linear output) on one row; ``params`` flat,
    neuron by neuron (weights, then bias). Floats, Values and Duals all work."""
    i, row = 0, list(x)
    widths = (4, h, h, 1)
    for layer, (nin, nout) in enumerate(zip(widths, widths[1:])):
        out = []
        for _ in range(nout):
            s = params[i + nin]
            for k in range(nin):
                s = s + params[i + k] * row[k]
            i += nin + 1
            out.append(tanh(s) if layer < 2 else s)
        row = out
    d = row[0] - target
    return d * d


def by_finite_differences(params, h, step=1e-6):
    grads = []
    for i, w in enumerate(params):
        params[i] = w + step
        up = loss(params, h)
        params[i] = w - step
        down = loss(params, h)
        params[i] = w
        grads.append((up - down) / (2 * step))
    return grads


def by_forward_mode(params, h):
    return list(forward_gradient(lambda *ps: loss(ps, h), params))


def by_reverse_mode(params, h):
    values = [Value(w) for w in params]
    loss(values, h).backward()
    return [v.grad for v in values]


FUNCTIONS = dict(zip(METHODS, (by_finite_differences, by_forward_mode, by_reverse_mode)))


def best_time(fn, params, h, budget=1.0) -> tuple:
    """(the fastest of 3 to 5 timed calls in CPU seconds, or of 1 when a call takes over ``budget``; the gradient)."""
    times, result = [], None
    gc.collect()
    gc.disable()  # as timeit does: a collection triggered by one method's garbage is not charged to the next
    try:
        while not times or (len(times) < 5 and sum(times) < budget) or (len(times) < 3 and times[0] < budget / 3):
            start = time.process_time()  # CPU time: on a shared machine, waiting for the CPU is not work
            result = fn(params, h)
            times.append(time.process_time() - start)
    finally:
        gc.enable()
    return min(times), result


def measure(hidden, measure_up_to, seed=1, bar=None):
    """{method: [(P, seconds, measured?)]} and the largest disagreement between the gradients."""
    import random

    rng = random.Random(seed)
    results = {m: [] for m in METHODS}
    worst = 0.0
    for h in hidden:
        P = count(h)
        params = [rng.uniform(-1, 1) / math.sqrt(max(h, 4)) for _ in range(P)]
        grads = {}
        for method, fn in FUNCTIONS.items():
            if fn is by_reverse_mode or P <= measure_up_to:
                seconds, grads[method] = best_time(fn, params, h)
                results[method].append((P, seconds, True))
            else:  # c * P**2 through the largest measurement
                P0, s0, _ = max((r for r in results[method] if r[2]), key=lambda r: r[0])
                results[method].append((P, s0 * (P / P0) ** 2, False))
            if bar is not None:
                bar.update()
        exact = grads[next(reversed(METHODS))]
        for g in grads.values():
            worst = max(worst, max(abs(a - b) for a, b in zip(g, exact)))
    return results, worst


def measured_ratios(results) -> tuple:
    """(the largest P all three methods were timed at, [finite differences' and forward mode's time / reverse mode's])."""
    rows = list(zip(*results.values()))
    last = max((r for r in rows if all(m[2] for m in r)), key=lambda r: r[0][0])
    return last[0][0], [m[1] / last[-1][1] for m in last[:-1]]


def plot(results, path):
    """Seconds against parameter count, log-log; measured points solid, extrapolated ones dashed."""
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for method, rows in results.items():
        colour = METHODS[method]
        measured = [r for r in rows if r[2]]
        ax.plot([r[0] for r in measured], [r[1] for r in measured], "-o", color=colour, label=method)
        guessed = [r for r in rows if not r[2]]
        if guessed:
            line = [measured[-1]] + guessed
            ax.plot([r[0] for r in line], [r[1] for r in line], "--", color=colour)
            ax.plot([r[0] for r in guessed], [r[1] for r in guessed], "o", color=colour, markerfacecolor="white",
                    linestyle="--", label="  extrapolated as c·P² (not measured)")
    last = {m: rows[-1] for m, rows in results.items()}
    reverse = last[next(reversed(METHODS))]
    for method, (P, seconds, ok) in last.items():
        if method != next(reversed(METHODS)):
            ax.annotate(f"{'' if ok else '≈ '}{seconds / reverse[1]:,.0f}x reverse mode{'' if ok else ' (extrapolated)'}",
                        (P, seconds), xytext=(-10, -14), textcoords="offset points", ha="right", fontsize=8,
                        color=METHODS[method])
    P, ratios = measured_ratios(results)
    ax.text(0.98, 0.03, f"measured at P = {P:,}: finite differences {ratios[0]:,.0f}x,\n"
            f"forward mode {ratios[1]:,.0f}x the time of reverse mode", transform=ax.transAxes, ha="right",
            va="bottom", fontsize=8, bbox={"facecolor": "white", "edgecolor": "#9ca3af"})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="number of parameters P (MLP(4, [h, h, 1]), h = 1 ... 96)",
           ylabel="CPU seconds for all P partial derivatives (log scale)",
           title="the cost of every gradient of one loss: why backprop wins")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return common.save(fig, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=common.prog(), description=__doc__.strip().splitlines()[0])
    p.add_argument("--seed", type=int, default=1, help="seed for the parameters (1)")
    p.add_argument("--out", type=common.out_dir, default="out", help="directory for the picture (out/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--measure-up-to", type=common.positive_int, default=1300,
                   help="largest P timed for finite differences and forward mode (1300); beyond, extrapolated")
    p.add_argument("--quick", action="store_true", help="small sizes only, for tests")
    args = p.parse_args(argv)
    common.pyplot()
    hidden = HIDDEN[:4] if args.quick else HIDDEN
    limit = count(2) if args.quick else args.measure_up_to
    with common.counting(len(hidden) * len(METHODS), args.quiet, desc="timing", unit="size") as bar:
        results, worst = measure(hidden, limit, args.seed, bar)
    print(f"picture: {plot(results, args.out / 'gradient_cost.png')}")
    print(f"{'P':>7}" + "".join(f"{name.split(' (')[0].split(',')[0]:>22}" for name in METHODS) + "   (CPU seconds; * extrapolated)")
    for rows in zip(*results.values()):
        print(f"{rows[0][0]:>7,}" + "".join(f"{r[1]:>21.4g}{' ' if r[2] else '*'}" for r in rows))
    P, ratios = measured_ratios(results)
    print(f"measured at P = {P:,}: finite differences take {ratios[0]:,.0f}x and forward mode "
          f"{ratios[1]:,.0f}x the time of reverse mode")
    print(f"the three gradients agree to {worst:.1e} (finite differences' own error)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
