"""Computation graphs as pictures: DOT text through the ``graphviz`` package, SVG/PNG with no set-up.

Images come from the system ``dot`` when there is one, else from the ``graphviz-pure`` package's
self-contained renderer (``pip install "chainrule[viz]"``), found on PATH or next to the running
interpreter. Nodes are numbered n0, n1, ... in topological order, so the same graph always gives
the same DOT text. Labels are user text: they are escaped and shown literally.
"""

from __future__ import annotations

import contextlib
import functools
import html
import math
import numbers
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from dataclasses import dataclass
from typing import NamedTuple

from .engine import Value, as_value, contributions
from .files import as_path, atomic_write, write_text
from .graph import made_by, operands, parameter_of, toposort
from .layout import SMALL, plan
from .ops import fmt

__all__ = ["to_dot", "render", "write_dot", "pipe_svg", "find_renderer", "check_size", "label_text",
           "node_kind", "check_limit", "find_groups", "page_view", "RendererNotFound", "GraphTooLarge", "MAX_NODES",
           "MAX_BENDS", "layout_bends", "check_bends"]

MAX_NODES = 2000
# Networks are found from the parameter registry (``graph.mark_parameter``, which nn fills), never
# from label text: a registered leaf is a parameter of its neuron, and a computed node labelled
# with a registered neuron's name is that neuron's output. collapse='neuron' folds each neuron into
# one node, collapse='layer' each layer. A layer's neurons are drawn in one column, and an edge
# into a neuron through a multiplication by one of its parameters is drawn as that weight (colour:
# sign; width: size).
WEIGHT_COLOUR = {1: "#2563eb", -1: "#dc2626", 0: "#9ca3af"}  # weight > 0, < 0, == 0 (as gradients in color_grad)
FONT = "Helvetica"
STYLE = {  # fill colour per kind of node
    "leaf": "#dbeafe", "param": "#fde68a", "interior": "#ffffff", "root": "#bbf7d0",
    "backward": "#ede9fe", "const": "#f3f4f6", "group": "#fef3c7", "idle": "#e5e7eb",
}
OP_FILL = "#e5e7eb"  # the ellipse of an op
STALE = "#9ca3af"  # the text of numbers from an earlier pass


@dataclass(frozen=True)
class View:
    """Everything a picture can show. ``to_dot``'s keywords are the public part; ``trace`` and the
    stepper also set ``highlight`` (node -> fill colour, explained by ``highlight_legend``: colour
    -> text), ``grads`` and ``data`` (node -> number shown instead of ``.grad``/``.data``) and
    ``caption`` (a first line in the key)."""

    rankdir: str = "LR"
    show_grad: bool = True
    color_grad: bool = False
    edge_derivatives: bool = False
    collapse: str | None = None
    max_nodes: int | None = MAX_NODES
    legend: bool = True
    highlight: dict | None = None
    grads: dict | None = None
    data: dict | None = None
    caption: str | None = None
    highlight_legend: dict | None = None


class RendererNotFound(RuntimeError):
    """Neither the system ``dot`` nor ``graphviz-pure`` can be run."""


class GraphTooLarge(ValueError):
    """The graph has more nodes than ``max_nodes``."""


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError('autograd.viz needs the graphviz package: pip install "chainrule[viz]"') from None
    return graphviz


def label_text(s: str, limit: int = 48) -> str:
    """User text made safe for an HTML-like label: escaped, control characters made visible."""
    out = []
    for ch in s[:limit]:
        if ch == "\n":
            out.append("\n")
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs", "Cn", "Co") or ch in "\ufffe\uffff":
            out.append(ascii(ch)[1:-1])  # \x01, \ud800: shown as text, never emitted raw
        else:
            out.append(ch)
    # Graphviz expands \N, \G, \L ... even in HTML labels: a zero-width space keeps them literal.
    text = html.escape("".join(out), quote=True).replace("\\", "\\\u200b")
    text += "..." if len(s) > limit else ""
    return text.replace("\n", '<BR ALIGN="LEFT"/>')


def node_kind(node: Value, root: Value) -> str:
    """How a node is drawn (a key of STYLE): "root", "backward" (made by a backward pass), "interior", "param" or "leaf"."""
    if node is root:
        return "root"
    if made_by(node) is not None:
        return "backward"
    if node.op:
        return "interior"
    return "param" if parameter_of(node) is not None else "leaf"


def _grad_sign(g: float):
    """The legend entry a gradient's colour falls under: 1, -1, 0 or "nan"."""
    return "nan" if not math.isfinite(g) else (g > 0) - (g < 0)


def _grad_colour(g: float, scale: float) -> str:
    """Blue for positive, red for negative gradients, stronger with |g| (log scale)."""
    if not math.isfinite(g):
        return "#f0abfc"
    if g == 0 or scale == 0:
        return "#ffffff"
    strength = max(0.0, min(1.0, 1 + math.log10(abs(g) / scale) / 4))  # 4 decades of range
    light = int(235 - 135 * strength)
    return f"#{light:02x}{light:02x}ff" if g > 0 else f"#ff{light:02x}{light:02x}"


def _record(title: str, rows: list, fill: str, bold: bool = False, stacked: bool = False) -> str:
    """An HTML-like table label: title and rows side by side (or stacked)."""
    cells = [f"<B>{title}</B>" if bold else title] + rows
    inner = "".join(f"<TR><TD>{c}</TD></TR>" for c in cells) if stacked else \
        "<TR>" + "".join(f"<TD>{c}</TD>" for c in cells) + "</TR>"
    return f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4" BGCOLOR="{fill}">{inner}</TABLE>>'



# Layout cost. dot draws an edge that spans k ranks as a chain of k - 1 invisible bends (virtual
# nodes), and its later phases work on every one of them. A node used by ops far apart, like x in
# x + x + ... + x (its k-th use sits 2k ranks after it), needs O(n^2) bends: 10,000 for 100 terms,
# 90,000 for 300. There graphviz-pure spent minutes in the network simplex that straightens the
# bends (0.15 s at 50 terms, 211 s at 150), and the system dot 2.43 crashes at 300 terms. Neither
# the HTML labels, the ports, the key nor `ordering` mattered: taking each out changed little. So:
# - where bends outnumber nodes four to one, the straightening gets at most about LAYOUT_WORK node
#   updates (the graph attribute nslimit caps its iterations at nslimit x nodes) and edges are
#   straight lines (routing curves around the bends was the other super-linear phase, top-down or
#   with edge labels); every other picture is left alone;
# - a drawing that needs more than MAX_BENDS bends is refused, like a graph over max_nodes.
MAX_BENDS = 25_000
LAYOUT_WORK = 200_000


def layout_bends(order: list, edge_labels: bool = False) -> int:
    """About how many bends dot needs to draw the graph of ``order`` (a toposort) as ``to_dot`` does:
    the rank span less one, summed over the edges from a Value into the op that uses it."""
    uses = [(a, node) for node in order for a in operands(node) if type(a) is not float]
    # Two layerings dot could choose; its own (the least total span) is no worse than either.
    early: dict = {}  # each op one rank after its latest computed operand, a leaf just before its first use
    for node in order:
        if node.op:
            early[node] = 1 + max((early[a] + 1 for a in operands(node) if type(a) is not float and a.op), default=1)
    for a, node in uses:
        if not a.op:
            early[a] = min(early.get(a, early[node] - 2), early[node] - 2)
    late: dict = {order[-1]: 0}  # ranks back from the root: each Value just before its first use
    for node in reversed(order):
        for a in operands(node):
            if type(a) is not float:
                late[a] = max(late.get(a, 0), late[node] + 2)
    span = min(sum(early[node] - 1 - early[a] for a, node in uses), sum(late[a] - late[node] - 1 for a, node in uses))
    # with edge labels dot doubles every rank, and each label is one more bend
    return 2 * span - len(uses) if edge_labels else span - len(uses)


def check_bends(bends: int, limit, where: str, advice: str) -> None:
    """GraphTooLarge naming ``where`` when a drawing needs more than ``limit`` bends (see MAX_BENDS)."""
    if limit is not None and bends > limit:
        raise GraphTooLarge(f"{where}: drawing this graph needs about {bends:,} bends of edges between ranks, over "
                            f"the limit of {limit:,}: a value used by many ops far apart (x in x + x + ... + x) "
                            f"takes minutes to lay out and cannot be read. {advice}")


def _layout_limits(graph, nodes: int, bends: int) -> None:
    """Cap dot's straightening of bends at about LAYOUT_WORK node updates and draw edges as straight
    lines, where long edges dominate (see MAX_BENDS)."""
    if bends > 4 * nodes:  # an ordinary picture (a network too) keeps its DOT as it was
        nslimit = LAYOUT_WORK / (nodes * (nodes + bends))  # iterations: nslimit x nodes, each touching every node and bend
        # routing curves around the bends took 7.7 s top-down and 41 s with edge labels for 100 terms (0.3-0.9 s as lines)
        graph.attr(nslimit=f"{nslimit:.3g}", splines="line")


COLLAPSE_ADVICE = ("For a network draw the graph of a single input (collapse='neuron' folds each neuron into "
                   "one box), or raise max_nodes; a loss over many rows is best watched with nn.Recorder")


def check_limit(limit, where: str, name: str):
    """``limit`` (a max_nodes or max_steps) if it is None or a positive int; else an error naming ``where``, ``name`` and the value."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral):  # numpy's ints count
        raise TypeError(f"{where}: {name} must be a positive int or None, got {limit!r}")
    if limit < 1:
        raise ValueError(f"{where}: {name} must be a positive int or None, got {limit!r}")
    return int(limit)


def check_size(n: int, max_nodes, where: str, advice: str = COLLAPSE_ADVICE) -> None:
    """GraphTooLarge naming ``where`` and giving ``advice`` when ``n`` is over ``max_nodes``."""
    if max_nodes is not None and n > max_nodes:
        raise GraphTooLarge(f"{where}: the graph has {n:,} nodes, over max_nodes={max_nodes:,}; a picture that "
                            f"size cannot be read. {advice}")


def to_dot(root: Value, rankdir: str = "LR", *, show_grad: bool = True, color_grad: bool = False,
           edge_derivatives: bool = False, collapse: str | None = None, max_nodes: int | None = MAX_NODES,
           legend: bool = True, caption: str | None = None):
    """The graph behind ``root`` as a ``graphviz.Digraph`` (it displays itself in Jupyter).

    Each Value is a record (label | data | grad), each op a small node named by its key, with
    edges in argument order; constants are grey boxes. ``color_grad`` shades nodes by gradient
    sign and size, ``edge_derivatives`` labels each edge with the local derivative and the
    contribution it carried, ``collapse`` ('neuron' or 'layer') folds each neuron or layer of an
    ``nn`` network into one summary node. ``legend`` adds a small key at the bottom naming each
    colour and edge label the picture uses (only those); ``caption`` is a first line in it.
    """
    check_limit(max_nodes, "to_dot", "max_nodes")
    return draw(root, View(rankdir, show_grad, color_grad, edge_derivatives, collapse, max_nodes, legend,
                           caption=caption))


def draw(root: Value, view: View, order: list | None = None):
    """``to_dot`` with every option of ``View`` (the entry for trace and the stepper, which pass the
    graph's ``order`` when they have sorted it already)."""
    as_value(root, "to_dot")
    if view.rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"to_dot: rankdir must be LR, RL, TB or BT, got {view.rankdir!r}")
    if view.collapse not in (None, "neuron", "layer"):
        raise ValueError(f"to_dot: collapse must be None, 'neuron' or 'layer', got {view.collapse!r}")
    order = order or toposort(root)
    groups = find_groups(order, view.collapse) if view.collapse else {}
    check_size(len(order) - len(groups) + len(set(groups.values())), view.max_nodes, "to_dot")
    bends = 0 if groups else layout_bends(order, view.edge_derivatives)  # a collapsed view has few long edges
    if view.max_nodes is not None:
        check_bends(bends, MAX_BENDS, "to_dot", "Write such a sum as a product (n * x), draw fewer terms, "
                    "or pass max_nodes=None to wait for the drawing")
    index = {node: i for i, node in enumerate(order)}
    graph = _digraph_class()(name="chainrule", format="svg",
                             graph_attr={"rankdir": view.rankdir, "ordering": "in", "fontname": FONT},
                             node_attr={"fontname": FONT, "fontsize": "11"},
                             edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.6"})
    placed = None if groups else _small_plan(order, index)
    minlen = placed.minlen if placed else {}

    def edge(tail: str, head: str, **attrs) -> None:  # with the length the plan gives it
        graph.edge(tail, head, **attrs, **({"minlen": str(minlen[tail, head])} if (tail, head) in minlen else {}))

    grads, data = view.grads or {}, view.data or {}
    grad_of = (lambda n: grads.get(n, n.grad)) if grads else (lambda n: n.grad)
    data_of = (lambda n: data.get(n, n.data)) if data else (lambda n: n.data)
    scale = max((abs(grad_of(n)) for n in order if math.isfinite(grad_of(n))), default=0.0)
    highlight = view.highlight or {}
    used: set = set()  # the Keys of what the picture draws, for its legend
    stale = view.show_grad and bool(groups) and _stale(order, groups, grad_of, data_of)
    if groups:
        used |= _add_groups(graph, order, groups, index, view.show_grad and not stale, grad_of, data_of)
    shaded = []  # names of the nodes coloured by their gradient
    for node in order:
        if node in groups:
            continue
        i, kind = index[node], node_kind(node, root)
        fill = highlight.get(node) or (_grad_colour(grad_of(node), scale) if view.color_grad else STYLE[kind])
        if node in highlight:
            used.add(Key("highlight", fill))
        elif view.color_grad:
            used.add(Key("grad", _grad_sign(grad_of(node))))
            shaded.append(node.label or f"n{i}")
        else:
            used.add(Key("kind", kind))
        rows = [f"data {fmt(data_of(node))}"] + ([f"grad {fmt(grad_of(node))}"] if view.show_grad else [])
        title = label_text(node.label) if node.label else made_by(node) or f"n{i}"
        graph.node(f"n{i}", _record(title, rows, fill, bold=kind in ("root", "param")), shape="plain",
                   tooltip=f"n{i}: {node.op or 'leaf'}")
        if not node.op:
            continue
        graph.node(f"n{i}op", node.op, shape="ellipse", style="filled", fillcolor=OP_FILL,
                   fontsize="10", height="0.3", width="0.3", margin="0.04")
        edge(f"n{i}op", f"n{i}")
        used.add(Key("op"))
        local = _local_derivatives(node) if view.edge_derivatives else None
        for k, a in enumerate(operands(node)):
            if type(a) is float:
                graph.node(f"n{i}c{k}", f"{a:.6g}",
                           shape="box", style="filled,dashed", fillcolor=STYLE["const"], fontsize="10",
                           height="0.2", margin="0.04")
                edge(f"n{i}c{k}", f"n{i}op", style="dashed")
                used.add(Key("kind", "const"))
                continue
            label = ""
            if local is not None:
                d = local[k]
                label = f"d={fmt(d)}" + (f"\ng*d={fmt(grad_of(node) * d)}" if view.show_grad else "")
                used.add(Key("edge label"))
            src = groups.get(a)
            edge(f"g{src}" if src is not None else f"n{index[a]}", f"n{i}op", **({"label": label} if label else {}))
    for layer in placed.ranks if placed else ():
        if len(layer) > 1:  # the plan's order within a rank, pinned by invisible edges
            with graph.subgraph() as same:
                same.attr(rank="same")
                for upper, lower in zip(layer, layer[1:]):
                    same.edge(upper, lower, style="invis")
    rows = []
    if view.legend:
        name = label_text(root.label, limit=16) if root.label else f"n{index[root]}"
        notes = []
        if stale:
            notes.append("gradients left out of the boxes: they are from an earlier pass than these values")
        if view.show_grad and all(grad_of(n) == 0 for n in order):
            notes.append("grad 0: backward() has not run yet")
        elif view.show_grad and grad_of(root) == 1.0 and not stale:
            notes.append(f"grad = d({name})/d(this value), filled in by {name}.backward()")
        rows = _legend_rows(used, view, notes, shaded if groups else [],
                            has_params=any(parameter_of(n) is not None for n in order))
    if view.caption is not None or rows:
        graph.attr(label=_legend_label(rows, view.caption), labelloc="b", labeljust="l")
    _layout_limits(graph, 2 * len(order), bends)  # a Value and its op: about two dot nodes per Value
    return graph


def _small_plan(order: list, index: dict):
    """``layout.plan`` for the nodes and edges ``draw`` writes (a Value n<i>, its op n<i>op, its
    constants n<i>c<k>), when there are at most ``layout.SMALL`` of them; else None."""
    nodes, edges = [], []
    for node in order:
        i = index[node]
        if node.op:
            ins = operands(node)
            tails = [f"n{i}c{k}" if type(a) is float else f"n{index[a]}" for k, a in enumerate(ins)]
            nodes += [t for t, a in zip(tails, ins) if type(a) is float] + [f"n{i}op"]  # constants, then the op
            edges += [(t, f"n{i}op") for t in tails] + [(f"n{i}op", f"n{i}")]
        nodes.append(f"n{i}")
        if len(nodes) > SMALL:
            return None
    return plan(tuple(nodes), tuple(edges)) if edges else None


def _stale(order: list, groups: dict, grad_of, data_of) -> bool:
    """Whether the gradients a collapsed picture would print come from an earlier pass than the
    values: a forward pass after backward() leaves the new nodes at grad 0 while the parameters
    keep the last pass's gradients."""
    params = [n for n in order if n in groups and not n.op]
    return any(grad_of(p) != 0 for p in params) and all(grad_of(n) == 0 for n in order if n.op)


def _local_derivatives(node: Value) -> list:
    """d node / d operand for each operand (None for constants), from the node's rule with g = 1."""
    result = [None] * len(operands(node))
    for k, _, d in contributions(node, 1.0):
        result[k] = d
    return result


def _neuron_outputs(order: list) -> set:
    """The names of the neurons with registered parameters in the graph (their outputs carry them as labels)."""
    return {p[1] for p in map(parameter_of, order) if p is not None}


def find_groups(order: list, collapse: str) -> dict:
    """Node -> group name for nodes inside a neuron (collapse='neuron') or a layer ('layer').

    A node belongs to a group when it uses one of the group's parameters directly, or when all its
    inputs are inside the group and none is a finished neuron output.
    """
    outputs = _neuron_outputs(order)
    groups: dict = {}
    for node in order:
        if not node.op:
            found = parameter_of(node)
            if found is not None:
                groups[node] = found[0] if collapse == "layer" else found[1]
            continue
        parents = [a for a in operands(node) if type(a) is not float]
        direct = {groups[a] for a in parents if not a.op and a in groups}
        inner = {groups.get(a) for a in parents if a.op and a.label not in outputs}
        if len(direct) == 1:
            groups[node] = direct.pop()
        elif len(inner) == 1 and None not in inner and all(a.op for a in parents):
            groups[node] = inner.pop()
    return groups


def _weight_edges(order: list, groups: dict, index: dict) -> dict:
    """(source id, group) -> the parameter that multiplies what flows along that edge into the group
    (edges carried by several parameters, such as whole layers, have none)."""
    weights: dict = {}
    for node in order:
        dst = groups.get(node)
        if dst is None or node.op != "mul":
            continue
        pair = [a for a in operands(node) if type(a) is not float]
        for k, p in enumerate(pair):
            other = pair[1 - k] if len(pair) == 2 else None
            if other is not None and not p.op and groups.get(p) == dst and groups.get(other) != dst:
                src = f"g{groups[other]}" if other in groups else f"n{index[other]}"
                weights.setdefault((src, dst), []).append(p)
                break
    return {edge: ps[0] for edge, ps in weights.items() if len(ps) == 1}


def _weight_sign(w: float) -> int:
    return (w > 0) - (w < 0) if math.isfinite(w) else 0


def _weight_style(p: Value, w: float, scale: float) -> dict:
    sign = _weight_sign(w)
    width = 0.4 + 3.6 * min(abs(w) / scale, 1.0) if scale > 0 and math.isfinite(w) else 0.4
    return {"color": WEIGHT_COLOUR[sign] + "b3", "penwidth": f"{width:.2f}", "arrowsize": "0.4",
            "tailport": "e", "headport": "w", "tooltip": f"{p.label} = {fmt(w)}"}


# ---------------------------------------------------------------- the key, as data

class Key(NamedTuple):
    """One thing a picture draws that its legend explains: ``what`` kind of thing, and which one."""
    what: str  # "kind", "highlight", "grad", "op", "group", "weight", "weight width" or "edge label"
    which: object = None  # a STYLE key, a colour, a sign, or the widest weight


class Swatch(NamedTuple):
    """How a legend entry's sample is drawn: ``shape`` "box", "oval", "strip" (colours side by
    side, ``size`` each) or "widths" (a thin and a thick line)."""
    shape: str
    colours: tuple = ()
    size: tuple = (22, 12)
    dashed: bool = False


# The legend's order, each entry's text (None: written for each picture) and its swatch.
KEY_TEXT = {
    Key("kind", "leaf"): "input (leaf)", Key("kind", "param"): "parameter (of a network's neuron)",
    Key("kind", "interior"): "computed by an op", Key("kind", "root"): "output (the root)",
    Key("kind", "backward"): "made by a backward pass", Key("kind", "const"): "constant",
    Key("highlight"): None,
    Key("grad", 1): "gradient > 0 (deeper: larger |gradient|)",
    Key("grad", -1): "gradient < 0 (deeper: larger |gradient|)",
    Key("grad", 0): "gradient 0", Key("grad", "nan"): "gradient inf or nan",
    Key("op"): "op: computes the value it points to",
    Key("group", "group"): None, Key("group", "idle"): None,
    Key("weight", 1): "edge: its weight > 0", Key("weight", -1): "edge: its weight < 0",
    Key("weight", 0): "edge: its weight = 0", Key("weight width"): None,
}
KEY_RANK = {key: n for n, key in enumerate(KEY_TEXT)}
LEGEND_TOOLTIP = "key to this picture's colours and labels"


def _swatch(key: Key) -> Swatch:
    """The swatch of one legend entry, drawn like the thing it explains."""
    what, which = key
    if what == "kind":
        return Swatch("box", (STYLE[which],), dashed=which == "const")
    if what == "op":
        return Swatch("oval", (OP_FILL,), (20, 10))
    if what == "grad" and which in (1, -1):  # pale to deep: the log scale of _grad_colour
        return Swatch("strip", tuple(_grad_colour(which * 10.0 ** k, 1.0) for k in (-3, -1.5, 0)), (8, 12))
    if what == "grad":
        return Swatch("box", ("#ffffff" if which == 0 else _grad_colour(math.nan, 1.0),))
    if what in ("group", "highlight"):
        return Swatch("box", (STYLE[which] if what == "group" else which,))
    if what == "weight":
        return Swatch("strip", (WEIGHT_COLOUR[which],), (22, 3))
    return Swatch("widths", ("#6b7280",))


class LegendRow(NamedTuple):
    swatch: Swatch | None  # None for a note, a line of text alone
    text: str  # plain text (escaped when rendered)


def _legend_rows(used: set, view: View, notes: list, shaded: list, has_params: bool) -> list:
    """A LegendRow for each colour the picture uses, then notes on what its labels mean."""
    meanings = list(view.highlight_legend or {})

    def rank(key: Key):
        if key.what == "highlight":  # in the caller's order (unexplained colours are left out below)
            return KEY_RANK[Key("highlight")], meanings.index(key.which) if key.which in meanings else 0
        return KEY_RANK[key if key.what != "weight width" else Key("weight width")], 0

    unit = "layer" if view.collapse == "layer" else "neuron"
    texts = {Key("group", "group"): f"one {unit} (its ops in one box)",
             Key("group", "idle"): "relu neuron off on this input (out 0: passes no gradient)" if unit == "neuron"
             else "relu layer, every neuron off on this input"}
    if not has_params:
        texts[Key("kind", "leaf")] = "leaf (input or weight)"  # with no parameters in the graph, weights are leaves too
    rows = []
    for key in sorted((k for k in used if k.what != "edge label"), key=rank):
        if key.what == "highlight":
            text = (view.highlight_legend or {}).get(key.which)
        elif key.what == "weight width":
            text = f"edge width: |weight| (widest {fmt(key.which)})"
        else:
            text = texts.get(key, KEY_TEXT.get(key))
        if text is not None:  # a highlight colour the caller did not explain gets no entry rather than a wrong one
            rows.append(LegendRow(_swatch(key), text))
    if shaded:
        names = ", ".join(n[:12] for n in shaded) if len(shaded) <= 4 else f"boxes outside the {unit}s"
        notes = [f"shaded by gradient: {names} ({unit}s are not)"] + notes
    if Key("edge label") in used:
        notes.append("on an edge: d = derivative of the op's result by that input")
        if view.show_grad:
            notes.append("g*d = the gradient it carries back (g: the result's grad)")
    return rows + [LegendRow(None, text) for text in notes]


_SWATCH_HTML = {  # the one place a legend becomes Graphviz's HTML-like markup
    "box": '<TD BORDER="1" COLOR="#000000"{dashed} FIXEDSIZE="TRUE" WIDTH="{w}" HEIGHT="{h}" BGCOLOR="{c}"></TD>',
    "oval": '<TD><TABLE BORDER="1" STYLE="rounded" COLOR="#000000" CELLBORDER="0" CELLPADDING="0" BGCOLOR="{c}">'
            '<TR><TD FIXEDSIZE="TRUE" WIDTH="{w}" HEIGHT="{h}"></TD></TR></TABLE></TD>',
    "strip": '<TD><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{cells}</TR></TABLE></TD>',
    "widths": '<TD><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="0">'
              '<TR><TD FIXEDSIZE="TRUE" WIDTH="22" HEIGHT="1" BGCOLOR="{c}"></TD></TR>'
              '<TR><TD FIXEDSIZE="TRUE" WIDTH="22" HEIGHT="4" BGCOLOR="{c}"></TD></TR></TABLE></TD>',
}


def _legend_label(rows: list, caption: str | None) -> str:
    """The graph's label: a boxed key, the swatches of ``rows`` in a grid on the left and the notes
    (the caption first) in a column on the right.

    Side by side, the two never stretch each other's width: a stretched HTML table cell spreads its
    extra width over every column, and a swatch would drift away from its text.
    """
    if not rows:  # a caption alone
        return f"<{label_text(caption, limit=300)}>"

    def swatch(sw: Swatch) -> str:
        (w, h), cells = sw.size, "".join(f'<TD FIXEDSIZE="TRUE" WIDTH="{sw.size[0]}" HEIGHT="{sw.size[1]}" '
                                         f'BGCOLOR="{c}"></TD>' for c in sw.colours)
        return _SWATCH_HTML[sw.shape].format(w=w, h=h, c=sw.colours[0], cells=cells,
                                             dashed=' STYLE="dashed"' if sw.dashed else "")

    def text(t: str, size: int = 10) -> str:
        t = label_text(t, limit=300).replace("&#x27;", "'").replace("&quot;", '"')  # quotes are fine in text
        return f'<TD ALIGN="LEFT"><FONT POINT-SIZE="{size}">{t}</FONT></TD>'

    def table(lines: list, spacing: int) -> str:
        return (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="{spacing}" CELLPADDING="0">'
                + "".join(f"<TR>{cells}</TR>" for cells in lines) + "</TABLE>")

    entries = [r for r in rows if r.swatch is not None]
    notes = ([text(caption, 11)] if caption is not None else []) + [text(r.text) for r in rows if r.swatch is None]
    per_row = 2 if len(entries) <= 4 else 3
    gap = '<TD WIDTH="8"></TD>'
    grid = []
    for start in range(0, len(entries), per_row):
        chunk = entries[start:start + per_row]
        grid.append(gap.join(swatch(r.swatch) + text(r.text) for r in chunk) + (gap + "<TD></TD>" * 2) * (per_row - len(chunk)))
    blocks = ([table(grid, 3)] if grid else []) + ([table(notes, 2)] if notes else [])
    cells = '<TD WIDTH="12"></TD>'.join(f'<TD VALIGN="TOP">{b}</TD>' for b in blocks)
    return (f'<<TABLE TOOLTIP="{LEGEND_TOOLTIP}" BORDER="1" COLOR="#d1d5db" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="4"><TR>{cells}</TR></TABLE>>')


def _add_groups(graph, order, groups, index, show_grad, grad_of, data_of) -> set:
    """One summary node per group, in columns, and edges between groups and the nodes they feed;
    returns the legend Keys of what it drew."""
    used: set = set()
    outputs = _neuron_outputs(order)
    members: dict = {}
    for node in order:
        if node in groups:
            members.setdefault(groups[node], []).append(node)
    columns: dict = {}
    for g, nodes in members.items():
        params = [n for n in nodes if not n.op]
        outs = [n for n in nodes if n.op and n.label in outputs] or nodes[-1:]
        # a group's activation is the one-operand op that made its output (an add: linear)
        acts = sorted({n.op for n in outs if len(operands(n)) == 1}) or ["linear"]
        rows = [f"{'/'.join(acts)}, " + (f"{len(outs)} neurons, " if len(outs) > 1 else "") + f"{len(params)} params"]
        if len(outs) == 1:
            rows.append(f"out {fmt(data_of(outs[0]))}" + (f"  grad {fmt(grad_of(outs[0]))}" if show_grad else ""))
        else:
            rows.append(f"outs {fmt(min(data_of(n) for n in outs))} .. {fmt(max(data_of(n) for n in outs))}")
        if show_grad and params:
            rows.append(f"max |param grad| {fmt(max(abs(grad_of(p)) for p in params))}")
        idle = acts == ["relu"] and all(data_of(n) == 0.0 for n in outs)  # relu off: no gradient flows through
        if idle:
            rows.append("inactive on this input")
        used.add(Key("group", "idle" if idle else "group"))
        layer = parameter_of(params[0])[0] if params else g
        columns.setdefault(layer, []).append(
            (f"g{g}", _record(label_text(g), rows, STYLE["idle" if idle else "group"], bold=True, stacked=True)))
    for column in columns.values():
        with graph.subgraph() as same:
            if len(column) > 1:
                same.attr(rank="same")  # one layer, one column
            for name, label in column:
                same.node(name, label, shape="plain")
    weights = _weight_edges(order, groups, index)
    scale = max((abs(data_of(p)) for p in weights.values() if math.isfinite(data_of(p))), default=0.0)
    seen = set()
    for node in order:
        dst = groups.get(node)
        if dst is None:
            continue  # edges into ungrouped nodes are drawn with those nodes
        for a in operands(node):
            if type(a) is float or groups.get(a) == dst:
                continue
            src = f"g{groups[a]}" if a in groups else f"n{index[a]}"
            if (src, dst) not in seen:
                seen.add((src, dst))
                p = weights.get((src, dst))
                graph.edge(src, f"g{dst}", **(_weight_style(p, data_of(p), scale) if p is not None else {}))
                if p is not None:
                    used.add(Key("weight", _weight_sign(data_of(p))))
    if weights:
        graph.attr(ranksep="1.6", splines="line")  # room for the weights between columns, drawn straight
        used.add(Key("weight width", scale))
    return used


# ---------------------------------------------------------------- a page's pictures

def page_view(root: Value, order: list, grads: dict, data: dict, pictures: bool = True,
              port: tuple = (900, 690)) -> dict:
    """What a page needs to draw ``root``'s graph (``order`` its topological order): each node's
    kind and neuron, each neuron's members, outputs and parameters, the colours, and the SVG of the
    full and (for a network) the collapsed view, drawn with the numbers ``grads`` and ``data`` (the
    widest the page will show, so every cell fits what the page writes into it), left to right or
    top down, whichever shows it larger in ``port`` points (no SVG without ``pictures``)."""
    index = {node: i for i, node in enumerate(order)}
    groups = find_groups(order, "neuron")
    outputs = _neuron_outputs(order)
    members: dict = {}
    for node, g in groups.items():
        members.setdefault(g, []).append(index[node])
    view = {
        "kinds": [node_kind(n, root) for n in order],
        "group_of": [groups.get(n) for n in order],
        "neuron_out": [bool(n.op) and n.label in outputs for n in order],
        "groups": {g: {"members": idx, "params": [i for i in idx if not order[i].op],
                       "outs": [i for i in idx if order[i].op and order[i].label in outputs] or idx[-1:]}
                   for g, idx in members.items()},
        "style": dict(STYLE),
        # the collapsed view draws an edge into a neuron as its weight: colour by sign, width by size
        "weights": {"positive": WEIGHT_COLOUR[1], "negative": WEIGHT_COLOUR[-1]}
        if groups and _weight_edges(order, groups, index) else None,
        "svg": {"full": _fitted_svg(root, order, grads, data, None, port)} if pictures else {},
    }
    if groups and pictures:
        view["svg"]["collapsed"] = _fitted_svg(root, order, grads, data, "neuron", port)
    return view


def _fitted_svg(root: Value, order: list, grads: dict, data: dict, collapse, port: tuple) -> str:
    best, best_scale = "", 0.0
    # left to right reads like the computation; top down when it is much bigger
    sources = [draw(root, View(rankdir, collapse=collapse, max_nodes=None, legend=False,  # the page has its own
                               grads=grads, data=data), order).source for rankdir in ("LR", "TB")]
    with ThreadPoolExecutor(2) as pool:  # both renderer processes at once: the page waits for the slower only
        svgs = list(pool.map(pipe_svg, sources))
    for svg in svgs:
        svg = svg[svg.index("<svg"):]
        width, height = (float(x) for x in re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', svg).groups())
        scale = min(port[0] / width, port[1] / height)
        if scale > best_scale * 1.15:
            best, best_scale = svg, scale
    return best


def find_renderer() -> list:
    """The command that turns DOT into images: system ``dot``, else ``graphviz-pure``.

    Looks on PATH and next to the running interpreter (a virtual environment used without
    activating it). Raises RendererNotFound saying what to install.
    """
    here = Path(sys.executable).parent
    for name in ("dot", "graphviz-pure"):
        for found in (shutil.which(name), shutil.which(name, path=str(here))):
            if found:
                return [found]
    raise RendererNotFound(
        "no Graphviz renderer found: neither 'dot' nor 'graphviz-pure' is on PATH or next to "
        f"{sys.executable}. Install the pure one with: pip install graphviz-pure "
        '(or pip install "chainrule[viz]"); or the system Graphviz (apt-get install graphviz)')


def _run(source: str, fmt: str, out: Path) -> None:
    command = find_renderer() + [f"-T{fmt}", f"-o{out}"]
    try:
        done = subprocess.run(command, input=source.encode("utf-8", "backslashreplace"), capture_output=True, timeout=600)
    except OSError as e:
        raise RendererNotFound(f"could not run {command[0]}: {e}") from None
    if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"{Path(command[0]).name} failed (exit {done.returncode}): "
                           f"{done.stderr.decode('utf-8', 'replace').strip()[:2000]}")


def pipe_svg(source: str) -> str:
    """The SVG text of DOT ``source``, drawn by the renderer ``find_renderer`` chooses."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.svg"
        _run(source, "svg", path)
        return path.read_text(encoding="utf-8")


_binary_lock = threading.Lock()


@contextlib.contextmanager
def _our_renderer(graphviz):
    """For one call, the graphviz package runs the renderer ``find_renderer`` chose (it only knows ``dot``)."""
    command = graphviz.backend.dot_command
    with _binary_lock:
        saved = command.DOT_BINARY
        command.DOT_BINARY = Path(find_renderer()[0])
        try:
            yield
        finally:
            command.DOT_BINARY = saved


@functools.cache  # one class, so every to_dot result has the same type
def _digraph_class():
    graphviz = _graphviz()

    class Digraph(graphviz.Digraph):
        """A graphviz.Digraph whose pictures come from chainrule's renderer search, so its own
        ``render``, ``pipe`` and ``view`` (and Jupyter's display) work without a system Graphviz."""

        def _repr_mimebundle_(self, include=None, exclude=None, **_):
            return {"image/svg+xml": pipe_svg(self.source)}

        def pipe(self, *args, **kwargs):
            with _our_renderer(graphviz):
                return super().pipe(*args, **kwargs)

        def render(self, *args, **kwargs):
            with _our_renderer(graphviz):
                return super().render(*args, **kwargs)

    return Digraph


def render(root: Value, path, *, max_nodes: int | None = MAX_NODES, overwrite: bool = False, **options) -> Path:
    """Write the graph behind ``root`` to ``path``; the suffix picks the format (.svg, .png, .dot).

    The file appears whole or not at all (``autograd.files.atomic_write``; a read-only file is kept
    unless ``overwrite``). Other keyword arguments go to ``to_dot``.
    """
    path = as_path(path, "render")
    check_limit(max_nodes, "render", "max_nodes")
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "dot", "gv"):
        raise ValueError(f"render: cannot tell the format from {str(path)!r}; use a .svg, .png or .dot suffix")
    as_value(root, "render")
    source = to_dot(root, max_nodes=max_nodes, **options).source
    return write_dot(source, path, overwrite=overwrite)


def write_dot(source: str, path, *, overwrite: bool = False) -> Path:
    """Write DOT ``source`` to ``path`` as DOT text or as an image (by the suffix), atomically."""
    fmt = as_path(path, "write_dot").suffix.lower().lstrip(".")
    if fmt in ("dot", "gv"):
        return write_text(path, source, overwrite=overwrite)
    return atomic_write(path, lambda tmp: _run(source, fmt, tmp), overwrite=overwrite)

