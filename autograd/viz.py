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
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unicodedata
from pathlib import Path
from typing import NamedTuple

from .engine import Value, as_value, contributions, made_by_backward
from .files import atomic_write, write_text
from .graph import operands, toposort
from .ops import fmt

__all__ = ["to_dot", "render", "write_dot", "pipe_svg", "find_renderer", "check_size", "label_text",
           "node_kind", "find_groups", "group_outputs", "weight_edges", "RendererNotFound", "GraphTooLarge",
           "MAX_NODES", "MAX_BENDS", "layout_bends", "check_bends"]

MAX_NODES = 2000
# Networks are found from labels alone, by a convention any library can follow (nn does):
# - a leaf labelled "<group>.<member>", dotted names (nn's "L1.N3.w0"), is a parameter of the group
#   "<group>" (everything before the last dot, "L1.N3");
# - a computed node labelled with a group's name ("L1.N3") is that group's output.
# collapse='neuron' folds each group into one node; collapse='layer' folds groups by the first part
# of their names ("L1"). Groups sharing a first part are drawn in one column, and an edge into a
# group through a multiplication by one of its parameters is drawn as that weight (colour: sign;
# width: size).
PARAMETER = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
WEIGHT_COLOUR = {1: "#2563eb", -1: "#dc2626", 0: "#9ca3af"}  # weight > 0, < 0, == 0 (as gradients in color_grad)
FONT = "Helvetica"
STYLE = {  # fill colour per kind of node
    "leaf": "#dbeafe", "param": "#fde68a", "interior": "#ffffff", "root": "#bbf7d0",
    "backward": "#ede9fe", "const": "#f3f4f6", "group": "#fef3c7", "idle": "#e5e7eb",
}
OP_FILL = "#e5e7eb"  # the ellipse of an op


class Key(NamedTuple):
    """One thing a picture draws that its legend explains: ``what`` kind of thing, and which one."""
    what: str  # "kind", "highlight", "grad", "op", "group", "weight", "weight width" or "edge label"
    which: object = None  # a STYLE key, a colour, a sign, or the widest weight


# The legend's order, and the text of each entry (None: written for each picture).
KEY_TEXT = {
    Key("kind", "leaf"): "input (leaf)", Key("kind", "param"): "parameter (label like L1.N1.w0)",
    Key("kind", "interior"): "computed by an op", Key("kind", "root"): "output (the root)",
    Key("kind", "backward"): "made by a backward pass", Key("kind", "const"): "constant",
    Key("highlight"): None,
    Key("grad", 1): "gradient &gt; 0 (deeper: larger |gradient|)",
    Key("grad", -1): "gradient &lt; 0 (deeper: larger |gradient|)",
    Key("grad", 0): "gradient 0", Key("grad", "nan"): "gradient inf or nan",
    Key("op"): "op: computes the value it points to",
    Key("group", "group"): None, Key("group", "idle"): None,
    Key("weight", 1): "edge: its weight &gt; 0", Key("weight", -1): "edge: its weight &lt; 0",
    Key("weight", 0): "edge: its weight = 0", Key("weight width"): None,
}
KEY_RANK = {key: n for n, key in enumerate(KEY_TEXT)}
LEGEND_TOOLTIP = "key to this picture's colours and labels"


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
    if made_by_backward(node):
        return "backward"
    if node.op:
        return "interior"
    return "param" if PARAMETER.match(node.label) else "leaf"


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


COLLAPSE_ADVICE = ("For a network pass collapse='neuron' or collapse='layer', draw the graph of a single "
                   "input, or raise max_nodes")


def check_size(n: int, max_nodes, where: str, advice: str = COLLAPSE_ADVICE) -> None:
    """GraphTooLarge naming ``where`` and giving ``advice`` when ``n`` is over ``max_nodes``."""
    if max_nodes is not None and n > max_nodes:
        raise GraphTooLarge(f"{where}: the graph has {n:,} nodes, over max_nodes={max_nodes:,}; a picture that "
                            f"size cannot be read. {advice}")


def to_dot(root: Value, rankdir: str = "LR", *, show_grad: bool = True, color_grad: bool = False,
           edge_derivatives: bool = False, collapse: str | None = None, max_nodes: int | None = MAX_NODES,
           highlight: dict | None = None, grads: dict | None = None, legend: bool = True,
           caption: str | None = None, highlight_legend: dict | None = None):
    """The graph behind ``root`` as a ``graphviz.Digraph`` (it displays itself in Jupyter).

    Each Value is a record (label | data | grad), each op a small node named by its key, with
    edges in argument order; constants are grey boxes. ``color_grad`` shades nodes by gradient
    sign and size, ``edge_derivatives`` labels each edge with the local derivative and the
    contribution it carried, ``collapse`` ('neuron' or 'layer') folds each neuron or layer of an
    ``nn`` network into one summary node. ``highlight`` maps nodes to fill colours and ``grads``
    nodes to the gradients to show instead of their ``.grad`` (for trace, which leaves ``.grad`` alone).
    ``legend`` adds a small key at the bottom naming each colour and edge label the picture uses
    (only those); ``caption`` is a first line in it; ``highlight_legend`` maps highlight colours
    to what they mean (a colour it does not explain gets no entry).
    """
    as_value(root, "to_dot")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"to_dot: rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    if collapse not in (None, "neuron", "layer"):
        raise ValueError(f"to_dot: collapse must be None, 'neuron' or 'layer', got {collapse!r}")
    order = toposort(root)
    groups = find_groups(order, collapse) if collapse else {}
    check_size(len(order) - len(groups) + len(set(groups.values())), max_nodes, "to_dot")
    bends = 0 if groups else layout_bends(order, edge_derivatives)  # a collapsed view has few long edges
    if max_nodes is not None:
        check_bends(bends, MAX_BENDS, "to_dot", "Write such a sum as a product (n * x), draw fewer terms, "
                    "or pass max_nodes=None to wait for the drawing")
    index = {node: i for i, node in enumerate(order)}
    graph = _digraph_class()(name="chainrule", format="svg", graph_attr={"rankdir": rankdir, "ordering": "in",
                                                           "fontname": FONT},
                             node_attr={"fontname": FONT, "fontsize": "11"},
                             edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.6"})
    grad_of = (lambda n: grads.get(n, n.grad)) if grads else (lambda n: n.grad)
    scale = max((abs(grad_of(n)) for n in order if math.isfinite(grad_of(n))), default=0.0)
    highlight = highlight or {}
    used: set = set()  # the Keys of what the picture draws, for its legend
    if groups:
        used |= _add_groups(graph, order, groups, index, show_grad)
    shaded = []  # names of the nodes coloured by their gradient
    for node in order:
        if node in groups:
            continue
        i, kind = index[node], node_kind(node, root)
        fill = highlight.get(node) or (_grad_colour(grad_of(node), scale) if color_grad else STYLE[kind])
        if node in highlight:
            used.add(Key("highlight", fill))
        elif color_grad:
            used.add(Key("grad", _grad_sign(grad_of(node))))
            shaded.append(node.label or f"n{i}")
        else:
            used.add(Key("kind", kind))
        rows = [f"data {fmt(node.data)}"] + ([f"grad {fmt(grad_of(node))}"] if show_grad else [])
        title = label_text(node.label) if node.label else f"n{i}"
        graph.node(f"n{i}", _record(title, rows, fill, bold=kind in ("root", "param")), shape="plain",
                   tooltip=f"n{i}: {node.op or 'leaf'}")
        if not node.op:
            continue
        graph.node(f"n{i}op", node.op, shape="ellipse", style="filled", fillcolor=OP_FILL,
                   fontsize="10", height="0.3", width="0.3", margin="0.04")
        graph.edge(f"n{i}op", f"n{i}")
        used.add(Key("op"))
        local = _local_derivatives(node) if edge_derivatives else None
        for k, a in enumerate(operands(node)):
            if type(a) is float:
                graph.node(f"n{i}c{k}", f"{a:.6g}",
                           shape="box", style="filled,dashed", fillcolor=STYLE["const"], fontsize="10",
                           height="0.2", margin="0.04")
                graph.edge(f"n{i}c{k}", f"n{i}op", style="dashed")
                used.add(Key("kind", "const"))
                continue
            label = ""
            if local is not None:
                d = local[k]
                label = f"d={fmt(d)}" + (f"\ng*d={fmt(grad_of(node) * d)}" if show_grad else "")
                used.add(Key("edge label"))
            src = groups.get(a)
            graph.edge(f"g{src}" if src is not None else f"n{index[a]}", f"n{i}op", **({"label": label} if label else {}))
    rows = []
    if legend:
        name = label_text(root.label, limit=16) if root.label else f"n{index[root]}"
        grad_note = None
        if show_grad and all(grad_of(n) == 0 for n in order):
            grad_note = "grad 0: backward() has not run yet"
        elif show_grad and grad_of(root) == 1.0:
            grad_note = f"grad = d({name})/d(this value), filled in by {name}.backward()"
        rows = _legend_rows(used, collapse=collapse, show_grad=show_grad, grad_note=grad_note,
                            shaded=shaded if groups else [], highlight_legend=highlight_legend or {},
                            has_params=any(not n.op and PARAMETER.match(n.label) for n in order))
    if caption is not None or rows:
        graph.attr(label=_legend_label(rows, caption), labelloc="b", labeljust="l")
    _layout_limits(graph, 2 * len(order), bends)  # a Value and its op: about two dot nodes per Value
    return graph


def _local_derivatives(node: Value) -> list:
    """d node / d operand for each operand (None for constants), from the node's rule with g = 1."""
    result = [None] * len(operands(node))
    for k, _, d in contributions(node, 1.0):
        result[k] = d
    return result


def _group_of(label: str, collapse: str) -> str:
    """The group a parameter label names: all but the last part ('neuron') or the first part ('layer')."""
    return label.split(".", 1)[0] if collapse == "layer" else label.rsplit(".", 1)[0]


def group_outputs(order: list) -> set:
    """Labels that mark where a group ends: the names of the groups that have parameters."""
    return {n.label.rsplit(".", 1)[0] for n in order if not n.op and PARAMETER.match(n.label)}


def find_groups(order: list, collapse: str) -> dict:
    """Node -> group name for nodes inside a group (see the label convention above PARAMETER).

    A node belongs to a group when it uses one of the group's parameters directly, or when all its
    inputs are inside the group and none is a finished group output.
    """
    outputs = group_outputs(order)
    groups: dict = {}
    for node in order:
        if not node.op:
            if PARAMETER.match(node.label):
                groups[node] = _group_of(node.label, collapse)
            continue
        parents = [a for a in operands(node) if type(a) is not float]
        direct = {groups[a] for a in parents if not a.op and a in groups}
        inner = {groups.get(a) for a in parents if a.op and a.label not in outputs}
        if len(direct) == 1:
            groups[node] = direct.pop()
        elif len(inner) == 1 and None not in inner and all(a.op for a in parents):
            groups[node] = inner.pop()
    return groups


def weight_edges(order: list, groups: dict, index: dict) -> dict:
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


def _weight_style(p: Value, scale: float) -> dict:
    w = p.data
    sign = _weight_sign(w)
    width = 0.4 + 3.6 * min(abs(w) / scale, 1.0) if scale > 0 and math.isfinite(w) else 0.4
    return {"color": WEIGHT_COLOUR[sign] + "b3", "penwidth": f"{width:.2f}", "arrowsize": "0.4",
            "tailport": "e", "headport": "w", "tooltip": f"{p.label} = {fmt(w)}"}


def _box(fill: str, style: str = "") -> str:
    """A legend swatch drawn like a node: a small box in ``fill`` with a black border."""
    dashed = ' STYLE="dashed"' if style == "dashed" else ""
    return f'<TD BORDER="1" COLOR="#000000"{dashed} FIXEDSIZE="TRUE" WIDTH="22" HEIGHT="12" BGCOLOR="{fill}"></TD>'


def _oval(fill: str) -> str:
    return (f'<TD><TABLE BORDER="1" STYLE="rounded" COLOR="#000000" CELLBORDER="0" CELLPADDING="0" '
            f'BGCOLOR="{fill}"><TR><TD FIXEDSIZE="TRUE" WIDTH="20" HEIGHT="10"></TD></TR></TABLE></TD>')


def _cells(colours: list, width: int, height: int) -> str:
    """Cells side by side inside one swatch (a nested table keeps thin lines thin)."""
    cells = "".join(f'<TD FIXEDSIZE="TRUE" WIDTH="{width}" HEIGHT="{height}" BGCOLOR="{c}"></TD>' for c in colours)
    return f'<TD><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{cells}</TR></TABLE></TD>'


def _swatch(key: Key) -> str:
    """The swatch of one legend entry, drawn like the thing it explains."""
    what, which = key
    if what == "kind":
        return _box(STYLE[which], "dashed" if which == "const" else "")
    if what == "op":
        return _oval(OP_FILL)
    if what == "grad" and which in (1, -1):  # pale to deep: the log scale of _grad_colour
        return _cells([_grad_colour(which * 10.0 ** k, 1.0) for k in (-3, -1.5, 0)], 8, 12)
    if what == "grad":
        return _box("#ffffff" if which == 0 else _grad_colour(math.nan, 1.0))
    if what in ("group", "highlight"):
        return _box(STYLE[which] if what == "group" else which)
    if what == "weight":
        return _cells([WEIGHT_COLOUR[which]], 22, 3)
    assert what == "weight width", key
    lines = "".join(f'<TR><TD FIXEDSIZE="TRUE" WIDTH="22" HEIGHT="{h}" BGCOLOR="#6b7280"></TD></TR>' for h in (1, 4))
    return f'<TD><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="0">{lines}</TABLE></TD>'


class LegendRow(NamedTuple):
    swatch: str | None  # None for a note, a line of text alone
    text: str


def _legend_rows(used: set, *, collapse, show_grad: bool, grad_note, shaded: list, highlight_legend: dict,
                 has_params: bool) -> list:
    """A LegendRow for each colour the picture uses, then notes on what its labels mean."""
    def rank(key: Key):
        if key.what == "highlight":  # in the caller's order (unexplained colours are left out below)
            meanings = list(highlight_legend)
            return KEY_RANK[Key("highlight")], meanings.index(key.which) if key.which in meanings else 0
        return KEY_RANK[key if key.what != "weight width" else Key("weight width")], 0

    unit = "layer" if collapse == "layer" else "neuron"
    rows = []
    for key in sorted((k for k in used if k.what != "edge label"), key=rank):
        if key.what == "highlight":
            text = label_text(highlight_legend[key.which], limit=80) if key.which in highlight_legend else None
        elif key == Key("group", "group"):
            text = f"one {unit} (its ops in one box)"
        elif key == Key("group", "idle"):
            text = ("relu neuron off on this input (out 0: passes no gradient)" if unit == "neuron"
                    else "relu layer, every neuron off on this input")
        elif key == Key("kind", "leaf") and not has_params:
            text = "leaf (input or weight)"  # with no parameters in the graph, weights are leaves too
        elif key.what == "weight width":
            text = f"edge width: |weight| (widest {fmt(key.which)})"
        else:
            text = KEY_TEXT[key]
        if text is not None:  # a highlight colour the caller did not explain gets no entry rather than a wrong one
            rows.append(LegendRow(_swatch(key), text))
    notes = []
    if shaded:
        names = ", ".join(label_text(n, limit=12) for n in shaded) if len(shaded) <= 4 else f"boxes outside the {unit}s"
        notes.append(f"shaded by gradient: {names} ({unit}s are not)")
    if grad_note:
        notes.append(grad_note)
    if Key("edge label") in used:
        notes.append("on an edge: d = derivative of the op's result by that input")
        if show_grad:
            notes.append("g*d = the gradient it carries back (g: the result's grad)")
    return rows + [LegendRow(None, text) for text in notes]


def _legend_label(rows: list, caption: str | None) -> str:
    """The graph's label: a boxed key, the swatches of ``rows`` in a grid on the left and the notes
    (the caption first) in a column on the right.

    Side by side, the two never stretch each other's width: a stretched HTML table cell spreads its
    extra width over every column, and a swatch would drift away from its text.
    """
    if not rows:  # a caption alone
        return f"<{label_text(caption, limit=300)}>"

    def text(t: str, size: int = 10) -> str:
        return f'<TD ALIGN="LEFT"><FONT POINT-SIZE="{size}">{t}</FONT></TD>'

    def table(lines: list, spacing: int) -> str:
        return (f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="{spacing}" CELLPADDING="0">'
                + "".join(f"<TR>{cells}</TR>" for cells in lines) + "</TABLE>")

    entries = [r for r in rows if r.swatch is not None]
    notes = ([text(label_text(caption, limit=300), 11)] if caption is not None else []) + \
        [text(r.text) for r in rows if r.swatch is None]
    per_row = 2 if len(entries) <= 4 else 3
    gap = '<TD WIDTH="8"></TD>'
    grid = []
    for start in range(0, len(entries), per_row):
        chunk = entries[start:start + per_row]
        grid.append(gap.join(r.swatch + text(r.text) for r in chunk) + (gap + "<TD></TD>" * 2) * (per_row - len(chunk)))
    blocks = ([table(grid, 3)] if grid else []) + ([table(notes, 2)] if notes else [])
    cells = '<TD WIDTH="12"></TD>'.join(f'<TD VALIGN="TOP">{b}</TD>' for b in blocks)
    return (f'<<TABLE TOOLTIP="{LEGEND_TOOLTIP}" BORDER="1" COLOR="#d1d5db" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="4"><TR>{cells}</TR></TABLE>>')


def _add_groups(graph, order, groups, index, show_grad) -> dict:
    """One summary node per group, in columns, and edges between groups and the nodes they feed;
    returns the legend Keys of what it drew."""
    used: set = set()
    outputs = group_outputs(order)
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
            rows.append(f"out {fmt(outs[0].data)}" + (f"  grad {fmt(outs[0].grad)}" if show_grad else ""))
        else:
            rows.append(f"outs {fmt(min(n.data for n in outs))} .. {fmt(max(n.data for n in outs))}")
        if show_grad and params:
            rows.append(f"max |param grad| {fmt(max(abs(p.grad) for p in params))}")
        idle = acts == ["relu"] and all(n.data == 0.0 for n in outs)  # relu off: no gradient flows through
        if idle:
            rows.append("inactive on this input")
        used.add(Key("group", "idle" if idle else "group"))
        columns.setdefault(g.split(".", 1)[0], []).append(
            (f"g{g}", _record(label_text(g), rows, STYLE["idle" if idle else "group"], bold=True, stacked=True)))
    for column in columns.values():
        with graph.subgraph() as same:
            if len(column) > 1:
                same.attr(rank="same")  # one layer, one column
            for name, label in column:
                same.node(name, label, shape="plain")
    weights = weight_edges(order, groups, index)
    scale = max((abs(p.data) for p in weights.values() if math.isfinite(p.data)), default=0.0)
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
                graph.edge(src, f"g{dst}", **(_weight_style(p, scale) if p is not None else {}))
                if p is not None:
                    used.add(Key("weight", _weight_sign(p.data)))
    if weights:
        graph.attr(ranksep="1.6", splines="line")  # room for the weights between columns, drawn straight
        used.add(Key("weight width", scale))
    return used


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
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "dot", "gv"):
        raise ValueError(f"render: cannot tell the format from {str(path)!r}; use a .svg, .png or .dot suffix")
    as_value(root, "render")
    source = to_dot(root, max_nodes=max_nodes, **options).source
    return write_dot(source, path, overwrite=overwrite)


def write_dot(source: str, path, *, overwrite: bool = False) -> Path:
    """Write DOT ``source`` to ``path`` as DOT text or as an image (by the suffix), atomically."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt in ("dot", "gv"):
        return write_text(path, source, overwrite=overwrite)
    return atomic_write(path, lambda tmp: _run(source, fmt, tmp), overwrite=overwrite)

