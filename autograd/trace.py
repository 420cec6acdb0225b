"""Backprop one chain-rule step at a time: steps, explain, tape, why, NaN origins, pictures, a stepper page.

Nodes are named by label when they have one and n<i> otherwise, where i is the node's position in
the topological order (the numbering ``viz`` uses too). Only ``steps`` changes gradients (it is a
backward pass); every other tool here leaves every ``.grad`` exactly as it found it.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from .engine import Value, as_seed, as_value, contributions, leaf_grad, record_hook, reverse_pass
from .files import as_path, printable
from .graph import PASS_LOCK, operands, toposort
from .ops import ATOM, OPS, call_text, finite, fmt

__all__ = ["Step", "steps", "explain", "tape", "why", "paths", "ChainPath", "find_nonfinite", "detect_anomaly",
           "render_steps", "to_html", "stepper", "NonFinite", "formula"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_origins: "weakref.WeakKeyDictionary[Value, tuple]" = weakref.WeakKeyDictionary()


@dataclass
class Step:
    """One chain-rule application, ``parent.grad += upstream * local`` along one edge: the one
    record of an edge that ``steps``, ``explain``, ``render_steps`` and the stepper page all read."""

    number: int  # 1, 2, ... in the order applied
    node: Value  # the node whose rule runs
    node_index: int
    operand: int  # which operand of the node (0 or 1)
    parent: Value
    parent_index: int
    upstream: float  # node.grad when its rule runs
    local: float  # d node / d parent along this edge
    contribution: float  # upstream * local (steps: what the rule returned for the true upstream)
    before: float  # parent.grad before and after the step
    after: float
    nth: int = 1  # this is the parent's nth contribution in the pass

    @property
    def rule(self) -> str:
        return f"{self.node.op}_backward"


def node_names(order: list) -> dict:
    """{node: its name}: the label, or n<i> with i its position in ``order``."""
    return {node: node.label or f"n{i}" for i, node in enumerate(order)}


def _name(node: Value, index: dict) -> str:
    return node.label or f"n{index[node]}"


def walk(root: Value, seed: float, order: list, start: dict | None = None, exact: bool = False,
         every: bool = False):
    """The steps of a backward pass from ``root`` (``order`` its topological order), computed
    aside: no ``.grad`` is touched. ``start`` holds the gradients before the pass (a leaf keeps
    earlier passes; None: this pass alone). Nodes whose upstream gradient is 0 are skipped, as in
    backward.

    Each node's rule is called once, with g = 1: its local derivatives, so a breakpoint in a rule
    stops once per node per tool. ``exact`` (``steps``, a real pass) first calls it with the true
    upstream too, so each contribution is bit for bit what ``backward()`` adds. ``every`` (the
    stepper page, whose steps must not depend on the numbers) also yields the edges of nodes whose
    upstream gradient is 0, each contributing exactly 0 as backward's skipping amounts to.
    """
    start = start or {}
    index = {node: i for i, node in enumerate(order)}
    grads: dict = {root: seed}
    count: dict = {}
    number = 0
    for i in range(len(order) - 1, -1, -1):
        node = order[i]
        g = grads.get(node)
        if g is None or not node.op or (g == 0.0 and not every):
            continue
        applied = contributions(node, g) if exact else None
        local = contributions(node, 1.0)  # after the real call: a breakpoint in the rule sees the true g first
        for j, (k, parent, d) in enumerate(local):
            c = applied[j][2] if exact else g * d if g != 0.0 else 0.0
            total = grads.get(parent)
            grads[parent] = c if total is None else total + c
            base = start.get(parent, 0.0)
            count[parent] = count.get(parent, 0) + 1
            number += 1
            yield Step(number, node, i, k, parent, index[parent], g, d, c,
                       base if total is None else base + total, base + grads[parent], count[parent])


def _leaf_grads(order: list, where: str) -> dict:
    """The leaves' gradients now, the start of a pass that adds to them (a non-number is named)."""
    return {node: leaf_grad(node, where) for node in order if not node.op}


def steps(root: Value, grad: float = 1.0):
    """Run backward() from ``root`` one edge at a time, yielding a ``Step`` after each contribution.

    Run to the end, it leaves exactly what ``root.backward(grad)`` leaves. Nodes whose upstream
    gradient is 0 are skipped, as in backward (a zero upstream gradient contributes nothing).
    Threads sharing leaves lose nothing: each step changes ``.grad`` under backward's lock.
    """
    as_value(root, "steps")
    seed = as_seed(grad, "steps(grad=...)")
    order = toposort(root)
    # Each change holds backward's lock, but no lock is held across a yield: a generator paused (a
    # debugger, a page) or dropped unfinished would block every other thread's backward for good.
    # So another thread may add to a shared leaf between two steps; that addition is kept.
    with PASS_LOCK:
        edges = walk(root, seed, order, _leaf_grads(order, "steps"), exact=True)  # the start taken now, not when first iterated
        for node in order:
            if node.op:
                node.grad = 0.0
        root.grad = seed + (0.0 if root.op else root.grad)
    others: dict = {}  # leaf -> what other passes added to it since this one began
    for step in edges:
        p = step.parent
        with PASS_LOCK:
            if p.op:
                p.grad = step.after
            else:  # a leaf: keep what other threads added since this pass's previous step
                added = others.get(p, 0.0)
                now, expected = p.grad, step.before + added if added else step.before
                if now != expected and (now == now or expected == expected):  # NaN stays NaN either way
                    added = others[p] = added + (now - expected)
                p.grad = step.after + added if added else step.after
                step.before, step.after = now, p.grad
        yield step


def chain_rule_line(step: Step, names: dict, numbers: tuple | None = None) -> str:
    """One backward edge as ``explain`` and the page print it: ``a.grad += n3.grad * dn3/da = ...``;
    ``numbers``, if given, are the texts to print for its upstream, local and contribution."""
    p, n = names[step.parent], names[step.node]
    u, d, c = numbers or (fmt(step.upstream), fmt(step.local), fmt(step.contribution))
    return f"{p}.grad += {n}.grad * d{n}/d{p} = {u} * {d} = {c}   [{step.rule}]"


def explain(root: Value, grad: float = 1.0) -> str:
    """Every chain-rule step of a backward pass from ``root`` with its numbers, in order (``.grad``
    is left as it is)."""
    as_value(root, "explain")
    order = toposort(root)
    names = node_names(order)
    lines = [f"backward from {names[root]} (seeded with {fmt(grad)}), one line per edge:"]
    received: dict = {}
    for s in walk(root, as_seed(grad, "explain(grad=...)"), order, _leaf_grads(order, "explain")):
        lines.append(f"{s.number:4d}  {chain_rule_line(s, names)}")
        received.setdefault(s.parent, []).append(s.contribution)
    reused = [(p, cs) for p, cs in received.items() if len(cs) > 1]
    if reused:
        lines.append("reused nodes: their gradient is the sum of every contribution")
        for p, cs in reused:
            lines.append(f"      {names[p]}.grad = {' + '.join(fmt(c) for c in cs)} = {fmt(sum(cs))}"
                         + ("" if p.op or p.grad == 0.0 or math.isclose(p.grad, sum(cs)) else
                            f" (this pass; {names[p]}.grad holds {fmt(p.grad)}: a leaf adds up its passes)"))
    if len(lines) == 1:
        lines.append("      (no steps: the root is a leaf, or its gradient is 0)")
    return printable("\n".join(lines))


def _formula(node: Value, index: dict) -> tuple:
    """('mul(n0, n1)', '2.0000 * -3.0000 = -6.0000') for one node."""
    ops = operands(node)
    names = [repr(a) if type(a) is float else f"n{index[a]}" for a in ops]
    nums = [fmt(a if type(a) is float else a.data) for a in ops]
    return f"{node.op}({', '.join(names)})", f"{call_text(node.op, nums)[0]} = {fmt(node.data)}"


def tape(root: Value) -> str:
    """One line per node in topological order, like ``n2 = mul(n0, n1)   # 2.0 * -3.0 = -6.0   grad 1.0``."""
    as_value(root, "tape")
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    rows = []
    for i, node in enumerate(order):
        if node.op:
            call, comment = _formula(node, index)
        else:
            call, comment = "leaf", fmt(node.data)
        label = f"  [{node.label}]" if node.label else ""
        rows.append((f"n{i} = {call}", f"# {comment}   grad {fmt(node.grad)}{label}"))
    width = max(len(left) for left, _ in rows)
    return printable("\n".join(f"{left.ljust(width)}   {right}" for left, right in rows))


@dataclass
class ChainPath:
    """One path from the root down to a node: its nodes (root first), the local derivative along
    each edge, their product (the path's share of the gradient), and along each edge which operand
    of the upper node the path takes (``x * x`` has two paths to ``x``: operands 0 and 1)."""

    nodes: list
    factors: list
    product: float
    operands: list = field(default_factory=list)


def paths(x: Value, root: Value, max_paths: int = 1000) -> list:
    """Every path from ``root`` down to ``x`` (at most ``max_paths``) as ``ChainPath``s; their
    products sum to d root / d x (the chain rule as a sum over paths).

    Depth-first with a linked list of edges per path, so each path costs time linear in its length.
    """
    as_value(x, "paths")
    as_value(root, "paths")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 1:
        raise ValueError(f"paths: max_paths must be a positive int, got {max_paths!r}")
    return paths_within(toposort(root), x, root, max_paths)


def paths_within(order: list, x: Value, root: Value, max_paths: int = 1000, local: dict | None = None) -> list:
    """``paths(x, root, max_paths)`` where ``order`` is a topological order holding every node on a
    path from ``root`` down to ``x`` (``toposort(root)``, or the part of it a caller knows the paths
    stay in: a neuron's own nodes), so a caller asking about many nodes of one graph sorts it once;
    ``local`` (node -> its rule's local derivatives) may be shared by such calls, so each rule runs once."""
    local = {} if local is None else local
    reaches = {x}
    for node in order:
        if any(type(a) is not float and a in reaches for a in operands(node)):
            reaches.add(node)
    if root not in reaches:
        return []
    edges: dict = {}
    found = []
    stack = [(root, None)]  # (node, link); a link is (previous link, node, factor, operand), root's is None
    while stack and len(found) < max_paths:
        node, link = stack.pop()
        if node is x:
            nodes, factors, which = [], [], []
            while link is not None:
                link, n, d, k = link
                nodes.append(n)
                factors.append(d)
                which.append(k)
            nodes.append(root)
            for part in (nodes, factors, which):
                part.reverse()
            found.append(ChainPath(nodes, factors, math.prod(factors), which))
            continue
        if node not in edges:
            if node not in local:
                local[node] = contributions(node, 1.0)
            edges[node] = [(k, p, d) for k, p, d in local[node] if p in reaches]
        for k, parent, d in reversed(edges[node]):
            stack.append((parent, (link, parent, d, k)))
    return found


def why(x: Value, root: Value, max_paths: int = 1000) -> str:
    """Every path from ``root`` down to ``x`` with the product of local derivatives along it.

    The products sum to d root / d x (the chain rule as a sum over paths), so a vanishing factor
    on a path is easy to spot.
    """
    as_value(x, "why")
    as_value(root, "why")
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    if x not in index:
        return printable(f"{x.label or 'x'} is not in the graph of {_name(root, index)}: d/dx = 0")
    found = paths(x, root, max_paths + 1)
    truncated = len(found) > max_paths
    found = found[:max_paths]
    lines = [f"paths from {_name(root, index)} to {_name(x, index)}:"]
    for p in found:
        chain = " <- ".join(f"{_name(n, index)}" + (f" ({n.op})" if n.op else "") for n in p.nodes)
        lines.append(f"  {chain}\n      {' * '.join(fmt(f) for f in p.factors)} = {fmt(p.product)}")
    total = sum(p.product for p in found)
    lines.append(f"sum over {len(found)} path{'s' * (len(found) != 1)} = {fmt(total)} = "
                 f"d{_name(root, index)}/d{_name(x, index)}")
    if truncated:
        lines.append(f"(stopped after max_paths={max_paths} paths; the sum is partial)")
    return printable("\n".join(lines))


@dataclass
class NonFinite:
    """Where a NaN or infinity first appeared: the node, in the forward or the backward pass."""

    node: Value
    node_index: int
    stage: str  # "forward" or "backward"
    detail: str
    origin: tuple | None  # (file, line) where the node was made, if recorded under detect_anomaly
    propagated: list  # names of later nodes whose non-finite values came from it

    def __str__(self) -> str:
        where = f" (made at {self.origin[0]}:{self.origin[1]})" if self.origin else \
            " (record under trace.detect_anomaly() to see where it was made)"
        later = f"; propagated to {', '.join(self.propagated[:8])}" + ("..." if len(self.propagated) > 8 else "") \
            if self.propagated else ""
        return f"first non-finite {self.stage} value at {self.detail}{where}{later}"


def find_nonfinite(root: Value) -> NonFinite | None:
    """The first node whose inputs are finite but whose output, or backward contribution, is not.

    Checks the forward values, then a backward pass computed aside (``.grad`` is left alone).
    None if all numbers are finite.
    """
    as_value(root, "find_nonfinite")
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    first = None
    later = []
    for node in order:
        if not math.isfinite(node.data):
            if first is None and all(finite(a) for a in operands(node)):
                first = node
                args = ", ".join(fmt(a if type(a) is float else a.data) for a in operands(node))
                detail = (f"node {index[node]} ({_name(node, index)} = {node.op}({args}) = {node.data!r})"
                          if node.op else f"leaf node {index[node]} ({_name(node, index)} = {node.data!r})")
            elif first is not None:
                later.append(_name(node, index))
    if first is not None:
        return NonFinite(first, index[first], "forward", detail, _origins.get(first), later)
    backward_pass = reverse_pass(root, 1.0)
    next(backward_pass)
    for node, g, applied in backward_pass:
        for _, parent, c in applied:
            if not math.isfinite(c):
                if first is None and math.isfinite(g):
                    first = node
                    detail = (f"node {index[node]} ({_name(node, index)}, {node.op}_backward): upstream "
                              f"{fmt(g)}, contribution to {_name(parent, index)} is {c!r}")
                elif first is not None:
                    later.append(_name(parent, index))
    if first is None:
        return None
    return NonFinite(first, index[first], "backward", detail, _origins.get(first), later)


def _user_frame() -> tuple:
    frame = sys._getframe(2)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _HERE:
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame else ("?", 0)


@contextlib.contextmanager
def detect_anomaly():
    """Record where each node is made; raise FloatingPointError at the first op that turns finite
    inputs into a NaN or infinity, naming the op, its inputs and the file and line."""

    def note(node: Value) -> None:
        _origins[node] = _user_frame()
        if not math.isfinite(node.data) and all(finite(a) for a in operands(node)):
            file, line = _origins[node]
            args = ", ".join(repr(a if type(a) is float else a.data) for a in operands(node))
            raise FloatingPointError(f"detect_anomaly: {node.op}({args}) = {node.data!r} at {file}:{line}")

    with record_hook(note):
        yield


STEP_BY_STEP_ADVICE = ("Stepping is for small graphs: build the same expression on one input (for a network, "
                       "one neuron), or raise max_nodes")


STEP_KEY = {"#fdba74": "its rule runs in this step",  # render_steps' highlight colours, for its key
            "#fde047": "receives this step's contribution", "#bbf7d0": "its rule has run"}
RULE_COLOUR, PARENT_COLOUR, DONE_COLOUR = STEP_KEY


# Suffixes that name a file, never the folder render_steps writes ("runs/v1.2" and "steps.d" are folders)
FILE_SUFFIXES = {".png", ".svg", ".jpg", ".jpeg", ".pdf", ".txt", ".html", ".htm", ".json", ".dot", ".gv", ".webp"}


def render_steps(root: Value, out_dir, fmt: str = "png", max_steps: int | None = 200, *, overwrite: bool = False,
                 **options) -> list:
    """Draw one picture per step of a backward pass from ``root`` (step_001.png, ...); returns the paths.

    The node whose rule runs is orange, the parent receiving the contribution yellow, finished
    nodes green, every node shows its gradient as it would stand at that step, and a caption gives
    the chain-rule product of the step, above a key to the colours. ``.grad`` is left as it is.
    ``out_dir`` ending in ``.gif`` writes the steps as one animated image instead (needs Pillow,
    in the viz extra), returned as a one-element list.
    """
    from .viz import View, check_limit, check_size, draw, write_dot  # needs the viz extra

    as_value(root, "render_steps")
    out_dir = as_path(out_dir, "render_steps", "out_dir")
    check_limit(max_steps, "render_steps", "max_steps")
    check_limit(options.get("max_nodes"), "render_steps", "max_nodes")
    if out_dir.suffix.lower() == ".gif":
        return [_animate(root, out_dir, max_steps, overwrite, options)]
    if out_dir.suffix.lower() in FILE_SUFFIXES and not out_dir.is_dir():  # steps.txt: a file's name, not a folder's
        raise ValueError(f"render_steps: out_dir {str(out_dir)!r} ends in {out_dir.suffix}, but render_steps writes a "
                         f"folder of pictures there (step_001.{fmt}, ...); name a folder without a suffix, or end it "
                         "in .gif for one animated image")
    order = toposort(root)
    if "max_nodes" not in options:
        check_size(len(order), 300, "render_steps", STEP_BY_STEP_ADVICE)
    names = node_names(order)
    grads = {node: 0.0 if node.op else node.grad for node in order}
    grads[root] = 1.0 + (0.0 if root.op else root.grad)
    steps = list(walk(root, 1.0, order, _leaf_grads(order, "render_steps")))  # counted before anything is drawn
    if max_steps is not None and len(steps) > max_steps:
        raise ValueError(f"render_steps: {len(steps)} steps, more than max_steps={max_steps}; raise max_steps "
                         "to draw them all")
    paths, done = [], set()
    for s in steps:
        grads[s.parent] = s.after
        highlight = {n: DONE_COLOUR for n in done}
        highlight.update({s.node: RULE_COLOUR, s.parent: PARENT_COLOUR})
        done.add(s.node)
        caption = f"step {s.number}: {chain_rule_line(s, names)}"
        dot = draw(root, View(highlight=highlight, grads=grads, caption=caption, highlight_legend=STEP_KEY, **options),
                   order)
        dot.attr(labelloc="t")  # the step's caption and the key above the graph
        paths.append(write_dot(dot.source, out_dir / f"step_{s.number:03d}.{fmt}", overwrite=overwrite))
    return paths



GIF_FRAME_MS, GIF_LAST_MS = 1400, 4000  # each step's frame, and the finished pass, on screen


def _animate(root: Value, path: Path, max_steps: int, overwrite: bool, options: dict) -> Path:
    """render_steps' frames as one looping GIF: each step held for a moment, the last one longer."""
    import tempfile

    try:
        from PIL import Image
    except ImportError:
        raise ImportError('render_steps: an animated .gif needs Pillow: pip install "chainrule[viz]"') from None
    from .files import atomic_write

    with tempfile.TemporaryDirectory() as tmp:
        frames = []
        for png in render_steps(root, tmp, "png", max_steps, **options):
            with Image.open(png) as im:
                frames.append(im.convert("RGB"))
    if not frames:
        raise ValueError("render_steps: the graph has no chain-rule step to animate (root is a leaf)")
    # Frames differ in size (captions differ): each is centred on a white canvas of the largest.
    width, height = max(f.width for f in frames), max(f.height for f in frames)
    canvas = []
    for f in frames:
        page = Image.new("RGB", (width, height), "white")
        page.paste(f, ((width - f.width) // 2, 0))
        canvas.append(page.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    durations = [GIF_FRAME_MS] * (len(canvas) - 1) + [GIF_LAST_MS]
    return atomic_write(path, lambda t: canvas[0].save(t, format="GIF", save_all=True, append_images=canvas[1:],
                                                       duration=durations, loop=0, optimize=True),
                        overwrite=overwrite)


def formula(root: Value, names: dict | None = None) -> str:
    """The expression behind ``root``, rebuilt from the graph: leaves by name, and interior nodes
    that carry a label, or are used more than once, by name too (as ``nn``'s neuron outputs)."""
    as_value(root, "formula")
    return formula_of(toposort(root), names)


def formula_of(order: list, names: dict | None = None) -> str:
    """``formula`` of the graph whose topological order is ``order`` (the root last)."""
    names = names or node_names(order)
    uses: dict = {}
    for node in order:
        for a in operands(node):
            if type(a) is not float:
                uses[a] = uses.get(a, 0) + 1
    texts: dict = {}
    for node in order:
        if not node.op:
            texts[node] = (names[node], ATOM)
            continue
        args = [(names[a], ATOM) if type(a) is not float and a.op and (a.label or uses[a] > 1)
                else texts[a] if type(a) is not float else constant_text(a) for a in operands(node)]
        texts[node] = call_text(node.op, [t for t, _ in args], [p for _, p in args])
    return texts[order[-1]][0]


def constant_text(c: float) -> tuple:
    """(text, precedence) of a constant in a formula: 2 for 2.0; a negative one is bracketed where it binds."""
    text = repr(c)
    return (text[:-2] if text.endswith(".0") else text), ATOM if c >= 0 else 0


def number_text(x: float) -> str:
    """A number as a formula's operand: ``fmt``, in brackets when negative ('(-3.0000)')."""
    return f"({fmt(x)})" if x < 0 or (x == 0 and math.copysign(1.0, x) < 0) else fmt(x)


def bracketed(op: str) -> bool:
    """Whether a negative operand of ``op`` is bracketed: beside an operator symbol, not inside a call."""
    spec = OPS.get(op)
    return spec is not None and bool(spec.symbol)


def node_formula(node: Value, names: dict, numbers: bool = False) -> str:
    """'a * b', or with ``numbers`` '2.0000 * (-3.0000)': one node in terms of its operands."""
    args = []
    for a in operands(node):
        x = a if type(a) is float else a.data
        if numbers:  # every number as an atom, a negative one in brackets beside an operator (tanh(-2.0000))
            args.append(number_text(x) if bracketed(node.op) else fmt(x))
        else:
            args.append(constant_text(a)[0] if type(a) is float else names[a])
    precs = [0 if type(a) is float and a < 0 and not numbers else ATOM for a in operands(node)]
    return call_text(node.op, args, precs)[0]


def __getattr__(name: str):
    """``trace.to_html`` and ``trace.stepper``: the page has its own module, which builds on this one."""
    if name in ("to_html", "stepper"):
        from . import stepper as page

        return getattr(page, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
