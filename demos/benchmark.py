"""Benchmark: micrograd's moons training step in four ways, side by side in one run.

    python -m demos.benchmark [--repeats 10] [--quick]

- eager: chainrule's engine through the README's training loop (default garbage-collector settings)
- compiled: the same graph through autograd.compile.compile_graph, called once per step
- micrograd: PyPI's micrograd (pip install -e ".[bench]"), same network, data and loss
- floats: the same step written by hand on plain Python floats (forward and backward)

Then mini-batch SGD, one epoch in batches of 10 and of 20: the eager loop against one compiled step
with the batch's inputs and targets as ``compile_graph`` feeds, serving every batch of that size.

Medians over interleaved repetitions (each variant's steps in a block of their own, after a full
collection, so none pays for another's garbage), then ratios; then backward time per node on chains
of 10^3 to 10^6 steps, and bytes per recorded node (tracemalloc). Ratios, not seconds, are the
result: the machine is shared, but every variant sees the same load. Last, seconds to draw big
graphs: the SVG of x + x + ... + x (100 terms) and stepper pages near the page's limits.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
import tracemalloc

import nn
from autograd import Value
from autograd.compile import compile_graph
from nn.data import batches, make_moons

ALPHA = 1e-4
LR = 0.01  # small, so repeated steps stay in the same regime


def loss_of(model, X, y):
    scores = [model(x) for x in X]
    return nn.hinge_loss(scores, y) + ALPHA * sum(p * p for p in model.parameters())


def eager_step(model, X, y):
    """The README's loop: forward, zero_grad, backward, update."""
    loss = loss_of(model, X, y)
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= LR * p.grad
    return loss.data


def make_compiled_step(model, X, y):
    params = model.parameters()
    step = compile_graph(loss_of(model, X, y), params)

    def compiled_step():
        for p in params:
            p.grad = 0.0
        value = step()
        for p in params:
            p.data -= LR * p.grad
        return value

    return compiled_step


def make_minibatch_epochs(X, y, size: int, seed: int) -> dict:
    """One epoch of mini-batch SGD (batches of ``size``, reshuffled each epoch), eager and compiled with feeds."""
    eager_model, compiled_model = nn.MLP(2, [16, 16, 1], seed=seed), nn.MLP(2, [16, 16, 1], seed=seed)
    xs = [[Value(0.0), Value(0.0)] for _ in range(size)]
    ts = [Value(1.0) for _ in range(size)]
    params = compiled_model.parameters()
    step = compile_graph(loss_of(compiled_model, xs, ts), params, feeds=[v for row in xs for v in row] + ts)
    epochs = {"eager": 0, "compiled": 0}

    def eager_epoch():
        epochs["eager"] += 1
        for X_batch, y_batch in batches(X, y, size, seed=epochs["eager"]):
            eager_step(eager_model, X_batch, y_batch)

    def compiled_epoch():
        epochs["compiled"] += 1
        for X_batch, y_batch in batches(X, y, size, seed=epochs["compiled"]):
            for row, x, t, target in zip(xs, X_batch, ts, y_batch):  # every batch has `size` rows
                row[0].data, row[1].data, t.data = x[0], x[1], target
            for p in params:
                p.grad = 0.0
            step()
            for p in params:
                p.data -= LR * p.grad

    return {"eager": eager_epoch, "compiled": compiled_epoch}


def make_micrograd_step(X, y, seed):
    try:
        from micrograd.engine import Value as MValue
        from micrograd.nn import MLP as MMLP
    except ImportError:
        return None
    random.seed(seed)
    model = MMLP(2, [16, 16, 1])

    def micrograd_step():
        inputs = [list(map(MValue, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= LR * p.grad
        return loss.data

    return micrograd_step


def make_float_step(model, X, y):
    """The step on plain floats, written by hand: weights as lists, backprop by the chain rule."""
    layers = [[([w.data for w in n.w], n.b.data) for n in layer.neurons] for layer in model.layers]
    weights = [[list(w) for w, _ in layer] for layer in layers]
    biases = [[b for _, b in layer] for layer in layers]
    last = len(weights) - 1
    n = len(X)

    def float_step():
        gw = [[[0.0] * len(w) for w in layer] for layer in weights]
        gb = [[0.0] * len(layer) for layer in weights]
        total = 0.0
        for x, t in zip(X, y):
            acts = [x]
            for li, (ws, bs) in enumerate(zip(weights, biases)):
                h = acts[-1]
                z = [b + sum(wi * hi for wi, hi in zip(w, h)) for w, b in zip(ws, bs)]
                acts.append(z if li == last else [v if v > 0.0 else 0.0 for v in z])
            margin = 1.0 - t * acts[-1][0]
            if margin <= 0.0:
                continue
            total += margin
            grad_out = [-t / n]
            for li in range(last, -1, -1):
                h, out = acts[li], acts[li + 1]
                if li != last:
                    grad_out = [g if o > 0.0 else 0.0 for g, o in zip(grad_out, out)]
                grad_in = [0.0] * len(h)
                for j, (w, g) in enumerate(zip(weights[li], grad_out)):
                    if g == 0.0:
                        continue
                    gb[li][j] += g
                    row = gw[li][j]
                    for i, hi in enumerate(h):
                        row[i] += g * hi
                        grad_in[i] += g * w[i]
                grad_out = grad_in
        reg = 0.0
        for li, layer in enumerate(weights):
            for j, w in enumerate(layer):
                for i, wi in enumerate(w):
                    reg += wi * wi
                    w[i] -= LR * (gw[li][j][i] + 2 * ALPHA * wi)
                b = biases[li][j]
                reg += b * b
                biases[li][j] -= LR * (gb[li][j] + 2 * ALPHA * b)
        return total / n + ALPHA * reg

    return float_step


def median_times(variants: dict, repeats: int, per_block: int = 2) -> dict:
    """Interleave the variants and return median seconds per step.

    Each round gives every variant a block: a full collection and one untimed step, then
    ``per_block`` timed steps. So a variant pays for collecting its own garbage (micrograd's
    closures leave cycles behind every step) and never for another's, as in a process of its own.
    """
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            gc.collect()
            fn()
            for _ in range(per_block):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def chain(n: int) -> Value:
    x = Value(0.5)
    y = x
    for _ in range(n):
        y = y * 1.0000001 + 0.5
    return y


def chain_scaling(sizes: list, rounds: int = 5) -> dict:
    """Backward time per node on chains of 2n nodes, best pass per size over interleaved rounds."""
    chains = {n: chain(n) for n in sizes}
    best = {n: float("inf") for n in sizes}
    for _ in range(rounds):
        for n, y in chains.items():
            for _ in range(max(1, 10 ** 5 // n)):  # small chains: several passes per round
                start = time.perf_counter()
                y.backward()
                best[n] = min(best[n], time.perf_counter() - start)
    return {n: best[n] / (2 * n) for n in sizes}


def bytes_per_node(model, X, y) -> tuple:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    loss = loss_of(model, X, y)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    from autograd.graph import toposort

    nodes = len(toposort(loss))
    return used / nodes, nodes


def microgpt_rows(repeats: int) -> None:
    """The microgpt training step on one name at a time, as a user writes it (zero the gradients,
    forward, backward, an Adam update of every parameter): chainrule eager and compiled (one step
    per name length, reused) with nn.optim.Adam, and the local-gradient Value microgpt ships with
    microgpt's own Adam (pure Python per parameter); the same model (the demo's 27 letters, so its
    4,192 parameters), names and seed. Also nn.optim.Adam's step alone, the part all rows share."""
    from string import ascii_lowercase

    from demos import microgpt as mg
    from nn.optim import Adam

    names = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia"]
    tok = mg.Tokenizer(names + [ascii_lowercase])  # the demo's vocabulary: BOS and a to z
    encoded = [tok.encode(n) for n in names]
    variants, losses, sizes = {}, {}, {}

    def make(kind):
        value = mg.LocalGradValue if kind == "local-gradient Value" else Value
        params = mg.init_params(len(tok.chars), 16, 1, 16, seed=1, value=value)
        weights = mg.parameters(params)
        sizes[kind] = len(weights)
        opt = Adam(weights, lr=0.01, betas=(0.85, 0.99)) if value is Value else None
        compiled = mg.CompiledSteps(params, 4, 1) if kind == "compiled" else None
        m, v, at = [0.0] * len(weights), [0.0] * len(weights), {"i": 0, "step": 0}
        losses[kind] = []
        if kind == "Adam.step alone":
            for p in weights:
                p.grad = 0.5
            return opt.step

        def step():
            tokens = encoded[at["i"] % len(encoded)]
            at["i"] += 1
            if compiled is not None:
                opt.zero_grad()
                loss = compiled(tokens)
            elif opt is not None:
                opt.zero_grad()
                out = mg.name_loss(params, 4, 1, tokens)
                out.backward()
                loss = out.data
            else:  # microgpt's own loop, on its own Values
                for p in weights:
                    p.grad = 0.0
                out = mg.name_loss(params, 4, 1, tokens)
                out.backward()
                loss = out.data
            losses[kind].append(loss)
            if opt is not None:
                opt.step()
            else:  # microgpt's own Adam, written out per parameter
                at["step"] += 1
                for k, p in enumerate(weights):
                    m[k] = 0.85 * m[k] + 0.15 * p.grad
                    v[k] = 0.99 * v[k] + 0.01 * p.grad ** 2
                    p.data -= 0.01 * (m[k] / (1 - 0.85 ** at["step"])) / ((v[k] / (1 - 0.99 ** at["step"])) ** 0.5 + 1e-8)
        return step

    start = time.perf_counter()
    compiled = make("compiled")
    for _ in names:  # compile every length once, before timing (reported)
        compiled()
    compile_seconds = time.perf_counter() - start
    variants = {"eager": make("eager"), "compiled": compiled, "local-gradient Value": make("local-gradient Value"),
                "Adam.step alone": make("Adam.step alone")}
    for fn in (variants["eager"], variants["local-gradient Value"]):
        for _ in names:
            fn()  # the same names in the same order as the compiled one saw
    medians = median_times(variants, repeats, per_block=len(names))
    base = medians["local-gradient Value"]
    print(f"\nmicrogpt step (1 layer, 16 wide, 4 heads, {sizes['eager']:,} parameters, one name: zero_grad, forward, "
          f"backward, Adam), median of {len(names) * repeats}:")
    for name, seconds in medians.items():
        if name == "Adam.step alone":
            note = f"({seconds * 1e6 / sizes['eager']:.2f} us per parameter, part of both chainrule rows)"
        else:
            note = "" if name == "local-gradient Value" else f"{base / seconds:5.1f}x faster than the local-gradient Value"
        print(f"  {name:21} {seconds * 1e3:8.2f} ms   {note}")
    gap = max(abs(a - b) for a, b in zip(losses["eager"], losses["compiled"]))
    saved = medians["eager"] - medians["compiled"]
    print(f"  compiling {len(set(map(len, names)))} name lengths once took {compile_seconds:.2f} s, repaid after "
          f"{compile_seconds / saved:.0f} compiled steps; largest difference between eager and compiled losses over "
          f"{len(losses['compiled'])} steps: {gap:.1e}")


def reused_leaf_chain(terms: int) -> Value:
    """x + x + ... + x: the shape that made the renderer's layout super-linear."""
    x = Value(1.5, label="x")
    y = x
    for _ in range(terms - 1):
        y = y + x
    return y


def pictures(quick: bool) -> None:
    """Seconds to draw big graphs: an SVG of x + x + ... + x and stepper pages the page accepts."""
    import tempfile
    from pathlib import Path

    from autograd import trace, viz

    try:
        renderer = Path(viz.find_renderer()[0]).name
    except (ImportError, viz.RendererNotFound) as e:
        print(f"\npictures: skipped ({e})")
        return
    terms = 30 if quick else 100
    sizes = [4, 4, 1] if quick else [8, 8, 1]  # 8-8-1: 297 nodes, the page takes 300
    cases = [(f"SVG of x + x + ... + x, {terms} terms", lambda p: viz.render(reused_leaf_chain(terms), p / "c.svg")),
             (f"stepper page, x + ... + x, {terms + 11} terms",
              lambda p: trace.to_html(reused_leaf_chain(terms + 11), p / "c.html", lr=0.1)),
             (f"stepper page, MLP(2, {sizes}) on one example",
              lambda p: trace.to_html(nn.MLP(2, sizes, seed=0)([0.5, -0.2]), p / "m.html", lr=0.1))]
    print(f"\npictures with {renderer} (wall seconds, one run each):")
    with tempfile.TemporaryDirectory() as tmp:
        for name, draw in cases:
            start = time.perf_counter()
            draw(Path(tmp))
            print(f"  {name:48} {time.perf_counter() - start:6.2f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="interleaved rounds of two timed steps each (10)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and chains up to 10^5 (for tests)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else max(1, args.repeats)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()} "
          f"({platform.python_implementation()}), gc thresholds {gc.get_threshold()}")
    # Chains first, on a fresh heap: the other variants leave memory fragmented behind them.
    print("backward on a chain, best pass of interleaved rounds (time per node; flat means linear scaling):")
    sizes = [10 ** 3, 10 ** 4, 10 ** 5] + ([] if args.quick else [10 ** 6])
    per_node = chain_scaling(sizes)
    gc.collect()  # the chains are gone: let the collector's bookkeeping forget them too
    for n, s in per_node.items():
        print(f"  {2 * n:>9,} nodes  {s * 1e9:7.1f} ns/node")
    print(f"  largest / smallest time per node: {max(per_node.values()) / min(per_node.values()):.2f}x")
    print()
    X, y = make_moons(100, noise=0.1, seed=1)
    model = nn.MLP(2, [16, 16, 1], seed=1)
    start = time.perf_counter()
    compiled = make_compiled_step(nn.MLP(2, [16, 16, 1], seed=1), X, y)
    compile_seconds = time.perf_counter() - start
    variants = {"eager": lambda: eager_step(model, X, y), "compiled": compiled,
                "floats": make_float_step(nn.MLP(2, [16, 16, 1], seed=1), X, y)}
    micro = make_micrograd_step(X, y, 1)
    if micro is not None:
        variants["micrograd"] = micro
    medians = median_times(variants, repeats)
    print(f"moons training step (100 points, MLP(2, [16, 16, 1]), hinge + L2), median of {2 * repeats}:")
    print(f"  {'variant':10} {'ms/step':>9}   ratios")
    for name, seconds in medians.items():
        notes = []
        if "micrograd" in medians and name != "micrograd":
            notes.append(f"{medians['micrograd'] / seconds:5.1f}x faster than micrograd")
        if name != "floats":
            notes.append(f"{seconds / medians['floats']:5.2f}x the hand-written float step")
        print(f"  {name:10} {seconds * 1e3:9.2f}   {'; '.join(notes)}")
    if micro is None:
        print('  (micrograd not installed: pip install -e ".[bench]" to compare)')
    print(f"  compiling the graph once took {compile_seconds:.2f} s")
    print(f"\nmini-batch SGD, one epoch of the 100 points, median of {2 * repeats}:")
    print(f"  {'batch':>5} {'eager':>9} {'compiled, batches as feeds':>27} {'speed-up':>9}")
    for size in (10, 20):
        start = time.perf_counter()
        epochs = make_minibatch_epochs(X, y, size, seed=1)
        compile_seconds = time.perf_counter() - start
        medians = median_times(epochs, repeats)
        print(f"  {size:5} {medians['eager'] * 1e3:6.1f} ms {medians['compiled'] * 1e3:15.1f} ms/epoch "
              f"{medians['eager'] / medians['compiled']:8.1f}x   (compiled once in {compile_seconds:.2f} s)")
    microgpt_rows(1 if args.quick else max(1, args.repeats // 2))
    size, nodes = bytes_per_node(model, X, y)
    print(f"\nmemory: {size:.0f} bytes per recorded node ({nodes:,} nodes in one moons step)")
    pictures(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
