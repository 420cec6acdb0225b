"""microgpt on chainrule: a tiny character-level GPT trained on first names, one name per step.

    python -m demos.microgpt [--steps 1000] [--embd 16] [--heads 4] [--layers 1] [--block 16]
                             [--data names.txt] [--compiled] [--html] [--quick]

``--compiled`` trains the same model with ``compile_graph``: one compiled step per name length,
reused for every name of that length, with the name's embedding rows bound at each call.

The model is written the way Karpathy's microgpt writes it (February 2026): lists of scalar Values,
``linear`` as sums of products, ``softmax`` with the max subtracted through ``.data``, ``rmsnorm``
with ``** -0.5``, ``.relu()``, ``.exp()``, ``.log()``; token and position embeddings, multi-head
causal attention with a key/value cache, an MLP, residual connections, cross-entropy, Adam with a
linearly decaying learning rate. The functions below only use operators and those methods, so the
same code runs on any scalar Value class (tests/test_microgpt.py runs it on a local-gradient Value of
its own and compares every gradient).

The names are the US Census Bureau's 1990 first names (5,494 of them, men's and women's), as the
``names`` package on PyPI ships them: a real list, installed with the demos extra, never
downloaded at run time; ``--data FILE`` trains on your own file instead, one name per line.

It writes out/microgpt_loss.png (the loss with the learning-rate schedule beside it),
out/microgpt_attention.png (each head's attention over a sampled name) and, with --html,
out/microgpt_softmax.html: the stepper page for one attention head's softmax on three positions.
"""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

from autograd import Value, no_grad

from . import common

BOS = "."  # begins and ends every name (token 0)


# The model: functions of lists of Values, exactly microgpt's shapes.

def matrix(rows: int, cols: int, rng: random.Random, value=Value, std: float = 0.08) -> list:
    """A rows x cols weight matrix of leaves drawn from N(0, std^2)."""
    return [[value(rng.gauss(0.0, std)) for _ in range(cols)] for _ in range(rows)]


def init_params(vocab: int, embd: int, layers: int, block: int, seed: int = 42, value=Value) -> dict:
    """microgpt's state_dict: token and position embeddings, per layer attention and MLP, the head."""
    rng = random.Random(seed)
    params = {"wte": matrix(vocab, embd, rng, value), "wpe": matrix(block, embd, rng, value),
              "lm_head": matrix(vocab, embd, rng, value)}
    for i in range(layers):
        for name in ("attn_wq", "attn_wk", "attn_wv", "attn_wo"):
            params[f"layer{i}.{name}"] = matrix(embd, embd, rng, value)
        params[f"layer{i}.mlp_fc1"] = matrix(4 * embd, embd, rng, value)
        params[f"layer{i}.mlp_fc2"] = matrix(embd, 4 * embd, rng, value)
    return params


def parameters(params: dict) -> list:
    """Every weight, in a fixed order (for the optimizer)."""
    return [p for mat in params.values() for row in mat for p in row]


def linear(x: list, w: list) -> list:
    """w @ x: one sum of products per row of w."""
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def softmax(logits: list) -> list:
    """exp(l - max) / sum: the max comes from .data, a constant (it cancels in the ratio)."""
    top = max(v.data for v in logits)
    exps = [(v - top).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x: list) -> list:
    """x / sqrt(mean(x^2) + 1e-5)"""
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def gpt(params: dict, heads: int, tok_emb: list, pos: int, keys: list, values: list, attention=None) -> list:
    """The logits for the next token after the token whose embedding row is ``tok_emb`` at ``pos``.

    ``keys`` and ``values`` hold, per layer, the earlier positions' keys and values (the cache);
    ``attention``, if given, collects each head's weights (floats) for the pictures.
    """
    x = [t + p for t, p in zip(tok_emb, params["wpe"][pos])]
    x = rmsnorm(x)
    embd = len(x)
    hd = embd // heads
    for li in range(len(keys)):
        residual = x
        x = rmsnorm(x)
        q = linear(x, params[f"layer{li}.attn_wq"])
        k = linear(x, params[f"layer{li}.attn_wk"])
        v = linear(x, params[f"layer{li}.attn_wv"])
        keys[li].append(k)
        values[li].append(v)
        out = []
        for h in range(heads):
            s = h * hd
            q_h = q[s:s + hd]
            k_h = [kt[s:s + hd] for kt in keys[li]]
            v_h = [vt[s:s + hd] for vt in values[li]]
            logits = [sum(q_h[j] * k_h[t][j] for j in range(hd)) / hd ** 0.5 for t in range(len(k_h))]
            weights = softmax(logits)
            if attention is not None:  # for the pictures: scores, weights, each value's first component
                attention.append((li, h, pos, [x.data for x in logits], [w.data for w in weights],
                                  [vt[0].data for vt in v_h]))
            out.extend(sum(weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(hd))
        x = [a + b for a, b in zip(linear(out, params[f"layer{li}.attn_wo"]), residual)]
        residual = x
        x = rmsnorm(x)
        x = [xi.relu() for xi in linear(x, params[f"layer{li}.mlp_fc1"])]
        x = [a + b for a, b in zip(linear(x, params[f"layer{li}.mlp_fc2"]), residual)]
    return linear(x, params["lm_head"])


def name_loss(params: dict, heads: int, layers: int, tokens: list):
    """The mean cross-entropy of predicting each next token of ``tokens`` (BOS, letters, BOS)."""
    n = min(len(params["wpe"]), len(tokens) - 1)
    keys, values = [[] for _ in range(layers)], [[] for _ in range(layers)]
    losses = []
    for pos in range(n):
        probs = softmax(gpt(params, heads, params["wte"][tokens[pos]], pos, keys, values))
        losses.append(-probs[tokens[pos + 1]].log())
    return (1 / n) * sum(losses)


class LocalGradValue:
    """The engine microgpt ships, in our words: each node stores its children and its local
    derivatives at forward time; backward multiplies them by the upstream gradient. The baseline
    for the benchmark and the independent check for tests/test_microgpt.py."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        other = other if isinstance(other, LocalGradValue) else LocalGradValue(other)
        return LocalGradValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, LocalGradValue) else LocalGradValue(other)
        return LocalGradValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, other):
        return LocalGradValue(self.data ** other, (self,), (other * self.data ** (other - 1),))

    def log(self):
        return LocalGradValue(math.log(self.data), (self,), (1 / self.data,))

    def exp(self):
        return LocalGradValue(math.exp(self.data), (self,), (math.exp(self.data),))

    def relu(self):
        return LocalGradValue(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def backward(self):
        topo, visited = [], set()

        def build(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1
        for v in reversed(topo):
            for child, local in zip(v._children, v._local_grads):
                child.grad += local * v.grad


# The compiled step: one per name length, reused for every name of that length.

class CompiledSteps:
    """compile_graph serving every name: the graph of a name of n letters has the same shape for
    every such name; only which embedding rows are read, and which next letters are right, change.
    So each length is compiled once, from a graph whose embedding rows are stand-in leaves (bound
    to the name's real rows at each call: the inputs that receive gradients) and whose targets are
    one-hot feeds. -log p[target] is written -sum(onehot * log p), which is the same number."""

    def __init__(self, params: dict, heads: int, layers: int) -> None:
        self.params, self.heads, self.layers = params, heads, layers
        self.fixed = [p for name, mat in params.items() if name != "wte" for row in mat for p in row]
        self.steps: dict = {}  # positions -> (compiled step, one-hot feeds)
        self.compile_seconds = 0.0

    def _compile(self, tokens: list):
        from autograd.compile import compile_graph

        start = time.perf_counter()
        n = min(len(self.params["wpe"]), len(tokens) - 1)
        embd, vocab = len(self.params["wpe"][0]), len(self.params["wte"])
        rows = [[Value(p.data) for p in self.params["wte"][t]] for t in tokens[:n]]  # stand-ins
        onehot = [[Value(float(k == t)) for k in range(vocab)] for t in tokens[1:n + 1]]
        keys, values = [[] for _ in range(self.layers)], [[] for _ in range(self.layers)]
        losses = []
        for pos in range(n):
            probs = softmax(gpt(self.params, self.heads, rows[pos], pos, keys, values))
            losses.append(-sum(y * p.log() for y, p in zip(onehot[pos], probs)))
        loss = (1 / n) * sum(losses)
        step = compile_graph(loss, self.fixed + [v for row in rows for v in row],
                             feeds=[y for row in onehot for y in row])
        self.compile_seconds += time.perf_counter() - start
        return step, onehot, embd

    def __call__(self, tokens: list) -> float:
        """The loss of one name, its gradients added into the parameters' .grad (as backward())."""
        n = min(len(self.params["wpe"]), len(tokens) - 1)
        if n not in self.steps:
            self.steps[n] = self._compile(tokens)
        step, onehot, embd = self.steps[n]
        for row, t in zip(onehot, tokens[1:n + 1]):
            for k, y in enumerate(row):
                y.data = 1.0 if k == t else 0.0
        wte = self.params["wte"]
        return step(inputs=self.fixed + [p for t in tokens[:n] for p in wte[t]])


# Data: the names, the characters, the tokens.

def census_names() -> list:
    """The 1990 US Census first names shipped by the ``names`` package, lower case, each once."""
    from importlib import resources

    common.need("names")
    seen: dict = {}
    for file in ("dist.female.first", "dist.male.first"):
        for line in (resources.files("names") / file).read_text(encoding="ascii").splitlines():
            if line.strip():
                seen.setdefault(line.split()[0].lower(), None)
    return list(seen)


def read_names(path: Path) -> list:
    """One name per line of a user's file (blank lines skipped); a clear error for anything else."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(f"python -m demos.microgpt: cannot read --data {str(path)!r}: {e}") from None
    docs = [line.strip() for line in text.splitlines() if line.strip()]
    if not docs:
        raise SystemExit(f"python -m demos.microgpt: --data {str(path)!r} holds no names (one per line)")
    if any(BOS in d for d in docs):
        raise SystemExit(f"python -m demos.microgpt: --data {str(path)!r}: names may not contain {BOS!r}, "
                         "which marks where a name begins and ends")
    return docs


class Tokenizer:
    """Characters to token ids: 0 is BOS (``.``), then every character of the data in sorted order."""

    def __init__(self, docs: list) -> None:
        self.chars = [BOS] + sorted(set("".join(docs)))
        self.ids = {c: i for i, c in enumerate(self.chars)}

    def encode(self, doc: str) -> list:
        return [0] + [self.ids[c] for c in doc] + [0]

    def decode(self, tokens: list) -> str:
        return "".join(self.chars[t] for t in tokens if t)


def sample(params: dict, heads: int, layers: int, tok: Tokenizer, rng: random.Random, temperature: float,
           attention=None) -> str:
    """One new name, a token at a time at ``temperature``, recording nothing (no_grad)."""
    block = len(params["wpe"])
    keys, values = [[] for _ in range(layers)], [[] for _ in range(layers)]
    token, out = 0, []
    with no_grad():
        for pos in range(block):
            logits = gpt(params, heads, params["wte"][token], pos, keys, values, attention)
            probs = softmax([v / temperature for v in logits])
            token = rng.choices(range(len(probs)), weights=[p.data for p in probs])[0]
            if token == 0:
                break
            out.append(token)
    return tok.decode(out)


# Pictures.

def plot_loss(losses: list, lrs: list, path: Path) -> Path:
    """Each step's loss, its running mean over 50 names, and the learning rate on its own axis."""
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color="#93c5fd", lw=0.7, label="loss of each step's name")
    window = 50
    smooth = [sum(losses[max(0, i - window + 1):i + 1]) / (i + 1 - max(0, i - window + 1)) for i in range(len(losses))]
    ax.plot(steps, smooth, color="#1d4ed8", lw=2, label=f"mean of the last {window} steps")
    ax.set(xlabel="step (one name each)", ylabel="cross-entropy (nats per character)",
           title="microgpt on chainrule: training loss and learning rate")
    ax.grid(alpha=0.3)
    right = ax.twinx()
    right.plot(steps, lrs, color="#ea580c", lw=1.5, ls="--", label="learning rate (right axis)")
    right.set_ylabel("learning rate", color="#ea580c")
    right.set_ylim(0, max(lrs) * 1.1)
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [l.get_label() for l in lines], loc="upper right", fontsize=8)
    return common.save(fig, path)


def plot_attention(name: str, attention: list, heads: int, path: Path) -> Path:
    """Per head, which earlier character each position attends to while the name is sampled."""
    plt = common.pyplot()
    letters = [BOS] + list(name)
    n = len(letters)
    fig, axes = plt.subplots(1, heads, figsize=(2.3 * heads + 1, 2.6), squeeze=False)
    for h, ax in enumerate(axes[0]):
        grid = [[float("nan")] * n for _ in range(n)]
        for li, head, pos, _, weights, _ in attention:
            if li == 0 and head == h and pos < n:
                grid[pos][:len(weights)] = weights
        im = ax.imshow(grid, vmin=0, vmax=1, cmap="Blues")
        ax.set_xticks(range(n), letters)
        ax.set_yticks(range(n), letters)
        ax.set_title(f"head {h + 1}", fontsize=10)
        ax.set_xlabel("attends to (earlier)", fontsize=8)
        if h == 0:
            ax.set_ylabel("position (reading)", fontsize=8)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="attention weight")
    fig.suptitle(f"layer 1 attention while sampling \"{name}\" (blank: the future, masked)", fontsize=10)
    return common.save(fig, path)


def softmax_page(params: dict, heads: int, layers: int, tok: Tokenizer, name: str, path: Path) -> Path:
    """The stepper page for head 1's softmax at the third position of ``name``: the three scores
    q.k / sqrt(d) (leaves, with the model's numbers) become weights that mix the first component
    of the three positions' values. Small enough to follow every exp, sum and division."""
    from autograd import trace

    keys, values = [[] for _ in range(layers)], [[] for _ in range(layers)]
    attention: list = []
    tokens = tok.encode(name)[:3]
    with no_grad():
        for pos, t in enumerate(tokens):
            gpt(params, heads, params["wte"][t], pos, keys, values, attention)
    _, _, pos, logits, _, firsts = next(a for a in reversed(attention) if a[0] == 0 and a[1] == 0)
    scores = [Value(x, label=f"s{t}") for t, x in enumerate(logits)]
    vs = [Value(x, label=f"v{t}") for t, x in enumerate(firsts)]
    weights = softmax(scores)
    out = sum(w * v for w, v in zip(weights, vs))
    out.label = "head1"
    return trace.to_html(out, path)


def main(argv=None) -> int:
    p = common.parser(__doc__, steps=1000, quick="a tiny run for tests (6 steps, 3 samples)")
    p.add_argument("--embd", type=common.positive_int, default=16, help="embedding width (16)")
    p.add_argument("--heads", type=common.positive_int, default=4, help="attention heads (4)")
    p.add_argument("--layers", type=common.positive_int, default=1, help="transformer layers (1)")
    p.add_argument("--block", type=common.positive_int, default=16, help="longest context, in characters (16)")
    p.add_argument("--lr", type=common.positive_float, default=0.01, help="Adam's starting learning rate (0.01)")
    p.add_argument("--temperature", type=common.positive_float, default=0.5, help="sampling temperature (0.5)")
    p.add_argument("--samples", type=common.positive_int, default=20, help="names to sample after training (20)")
    p.add_argument("--data", type=Path, help="your own names, one per line (default: the 1990 US Census first names)")
    p.add_argument("--compiled", action="store_true",
                   help="train with compile_graph, one compiled step per name length (much faster)")
    p.add_argument("--html", action="store_true", help="also write the stepper page of one attention softmax")
    args = p.parse_args(argv)
    if args.embd % args.heads:
        p.error(f"--embd {args.embd} must be a multiple of --heads {args.heads}")
    if args.quick:
        args.steps, args.samples = min(args.steps, 6), min(args.samples, 3)
    nn_optim = common.need("nn.optim", "demos")
    docs = read_names(args.data) if args.data else census_names()
    rng = random.Random(args.seed)
    rng.shuffle(docs)
    tok = Tokenizer(docs)
    params = init_params(len(tok.chars), args.embd, args.layers, args.block, seed=args.seed)
    weights = parameters(params)
    print(f"{len(docs):,} names, {len(tok.chars)} tokens, {len(weights):,} parameters "
          f"(embd {args.embd}, {args.heads} heads, {args.layers} layer{'s' * (args.layers > 1)}, block {args.block})")
    opt = nn_optim.Adam(weights, lr=args.lr, betas=(0.85, 0.99), eps=1e-8)
    schedule = nn_optim.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=args.steps)
    losses, lrs = [], []
    bar = common.progress(args.steps, args.quiet, desc="microgpt")
    start = time.perf_counter()
    compiled = CompiledSteps(params, args.heads, args.layers) if args.compiled else None
    for step in bar:
        tokens = tok.encode(docs[step % len(docs)])
        opt.zero_grad()
        if compiled is not None:
            loss = compiled(tokens)
        else:
            loss = name_loss(params, args.heads, args.layers, tokens)
            loss.backward()
            loss = loss.data
        lrs.append(schedule.get_last_lr()[0])
        opt.step()
        schedule.step()
        losses.append(loss)
        if hasattr(bar, "set_postfix_str"):
            bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
    seconds = time.perf_counter() - start
    tail = losses[-min(100, len(losses)):]
    print(f"trained {args.steps} steps in {seconds:.1f} s ({1000 * seconds / args.steps:.0f} ms a step"
          + (f", of which {compiled.compile_seconds:.1f} s compiling {len(compiled.steps)} name lengths"
             if compiled else "") + f"); mean loss of the last {len(tail)}: {sum(tail) / len(tail):.4f} "
          f"(first step {losses[0]:.4f})")
    print(f"{args.samples} new names at temperature {args.temperature}:")
    sampler = random.Random(args.seed + 1)
    names = [sample(params, args.heads, args.layers, tok, sampler, args.temperature) for _ in range(args.samples)]
    print("  " + ", ".join(n or "(empty)" for n in names))
    shown = max(names, key=len) or "a"
    sample_attention: list = []  # the chosen name read again, its attention recorded
    keys, values = [[] for _ in range(args.layers)], [[] for _ in range(args.layers)]
    with no_grad():
        for pos, t in enumerate(tok.encode(shown)[:-1][:args.block]):
            gpt(params, args.heads, params["wte"][t], pos, keys, values, sample_attention)
    pictures = [plot_loss(losses, lrs, args.out / "microgpt_loss.png"),
                plot_attention(shown, sample_attention, args.heads, args.out / "microgpt_attention.png")]
    if args.html:
        pictures.append(softmax_page(params, args.heads, args.layers, tok, shown, args.out / "microgpt_softmax.html"))
    print("wrote " + ", ".join(str(x) for x in pictures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
