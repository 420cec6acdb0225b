"""The stepper page: one training step on one example, every number explained.

``describe_steps(root, lr)`` lists the steps as plain data: the forward pass node by node, the
seed, the backward pass one edge at a time (with the rule's local-derivative formula, numbers
substituted) and, with a learning rate, the update of every leaf. The page and ``trace.explain``'s
lines come from it. ``to_html`` writes the page (its HTML, CSS and JavaScript are the files in
``autograd/assets``; Python hands them the data as JSON) and ``stepper(root)`` shows it inline in
Jupyter. Nothing here changes a ``.grad`` or ``.data`` of the user's graph: the gradients of the
pass are computed in a dict.
"""

from __future__ import annotations

import html
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .engine import (Value, apply, as_value as _check_value, contributions, enable_grad, made_by_backward, no_grad,
                     reverse_pass)
from .graph import operands, toposort
from .ops import OPS, fmt

__all__ = ["DerivativeText", "local_text", "PageStep", "describe_steps", "chain_rule_line", "formula", "fmt",
           "finite_differences", "page_data", "to_html", "stepper", "Stepper"]

_PORT = (900, 690)  # the picture's size in points on a 1400x900 screen, to choose the layout that shows it largest
MAX_NODES = 300  # the expanded picture and the step table stop being readable beyond this
FD_MAX_NODES = 200  # finite differences cost two evaluations of the graph per leaf
MAX_BENDS = 12_000  # the page's two drawings of x + x + ... + x (110 terms) take about a second of CPU
ADVICE = ("Stepping is for small graphs: step through a shorter expression or one built on fewer inputs, "
          "or raise max_nodes (max_nodes=None waits however long the drawing takes)")


def _advice(order: list) -> str:
    """What would fit the page instead of the graph of ``order``: for an ``nn`` network, numbers that work."""
    groups = neuron_groups(order)
    if not groups:
        return ADVICE
    params = sum(1 for n in groups if not n.op)
    per = len(order) / max(params, 1)
    return (f"This network on one example has {params:,} parameters and {len(order):,} nodes, {per:.1f} per "
            f"parameter, so a network of about {round(MAX_NODES / per, -1):.0f} parameters fits in {MAX_NODES:,} "
            "nodes (nn.MLP(2, [8, 8, 1]) on one example: 105 parameters, 297 nodes). To see this one, "
            "viz.render(root, 'net.svg', collapse='neuron') draws it one box per neuron; max_nodes="
            f"{len(order)} writes this page anyway (its drawings then take seconds)")


def _known(op: str) -> bool:
    """Whether the op table can replay ``op`` (for finite differences and the drawing copy)."""
    return op in OPS


def _symbol(op: str) -> str:
    """The infix symbol of ``op`` ('+', '**'; '-' for neg), or '' for a function-style op."""
    spec = OPS.get(op)
    return spec.symbol if spec is not None else ""


@dataclass(frozen=True)
class DerivativeText:
    """How one op's local derivatives read: ``head`` like 'd tanh(u)' and, per operand, a pair
    (symbolic, numeric): the formula in u, v, and the same with numbers (format fields u, v, out;
    pu, pv, pout are the same numbers in parentheses when negative). An empty numeric part means
    the symbolic one is already a number."""

    head: str
    partials: tuple


def local_text(op: str, arity: int) -> DerivativeText:
    """How op ``op``'s local derivatives read, from its record in the op table (``Op.local``)."""
    spec = OPS.get(op)
    return DerivativeText(*spec.local) if spec is not None and spec.local else _generic(op, arity)


def _generic(op: str, arity: int) -> DerivativeText:
    """An op without an entry (a user's op): the rule's number, without a formula."""
    return DerivativeText(f"d {op}({'u, v' if arity == 2 else 'u'})", (("", ""),) * arity)


def _paren(x: float) -> str:
    return f"({fmt(x)})" if x < 0 or (x == 0 and math.copysign(1.0, x) < 0) else fmt(x)


def local_formula(node: Value, k: int, local: float) -> str:
    """'d tanh(u)/du = 1 - tanh(u)^2 = 1 - 0.8830^2 = 0.2204' for operand ``k`` of ``node``."""
    ops = operands(node)
    text = local_text(node.op, len(ops))
    symbolic, numeric = text.partials[k]
    nums = [a if type(a) is float else a.data for a in ops]
    fields = {"out": fmt(node.data), "pout": _paren(node.data)}
    for name, x in zip("uv", nums):
        fields[name], fields["p" + name] = fmt(x), _paren(x)
    parts = [f"{text.head}/d{'uv'[k]}"]
    if symbolic:
        parts.append(symbolic)
    if numeric:
        parts.append(numeric.format(**fields))
    result = fmt(local)
    if parts[-1] != result and not _same_number(parts[-1], local):
        parts.append(result)
    return " = ".join(parts)


def _same_number(text: str, x: float) -> bool:
    try:
        return float(text) == x
    except ValueError:
        return False


# ---------------------------------------------------------------- printing the expression

_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}


def _const(c: float) -> str:
    text = repr(c)
    return text[:-2] if text.endswith(".0") else text


def _infix(op: str, args: list, precs: list) -> tuple:
    """(text, precedence) of ``op`` applied to argument texts of the given precedences (5: atom)."""
    symbol = _symbol(op)
    mine = _PRECEDENCE.get(op, 5)
    if op == "neg":
        a = args[0] if precs[0] >= 3 else f"({args[0]})"
        return f"-{a}", 3
    if symbol and len(args) == 2:
        left, right = args
        if precs[0] < mine or (op == "pow" and precs[0] <= mine):
            left = f"({left})"
        if precs[1] < mine or (precs[1] == mine and op in ("sub", "div")):
            right = f"({right})"
        return f"{left} {symbol} {right}", mine
    return f"{OPS[op].fn_name if op in OPS else op}({', '.join(args)})", 5


def _names(order: list) -> dict:
    return {node: node.label or f"n{i}" for i, node in enumerate(order)}


def formula(root: Value, names: dict | None = None) -> str:
    """The expression behind ``root``, rebuilt from the graph: leaves by name, and interior nodes
    that carry a label, or are used more than once, by name too (as ``nn``'s neuron outputs)."""
    _check_value(root, "formula")
    order = toposort(root)
    names = names or _names(order)
    uses: dict = {}
    for node in order:
        for a in operands(node):
            if type(a) is not float:
                uses[a] = uses.get(a, 0) + 1
    texts: dict = {}
    for node in order:
        if not node.op:
            texts[node] = (names[node], 5)
            continue
        args, precs = [], []
        for a in operands(node):
            if type(a) is float:
                text = _const(a)
                args.append(text)
                precs.append(0 if a < 0 else 5)  # a negative constant gets parentheses where it binds
            elif a.op and (a.label or uses[a] > 1):
                args.append(names[a])
                precs.append(5)
            else:
                args.append(texts[a][0])
                precs.append(texts[a][1])
        texts[node] = _infix(node.op, args, precs)
    return texts[root][0] if root.op else names[root]


def _node_formula(node: Value, names: dict, numbers: bool = False) -> str:
    """'a * b', or with ``numbers`` '2.0000 * (-3.0000)': one node in terms of its operands."""
    args, precs = [], []
    for a in operands(node):
        if type(a) is float:
            args.append(_paren(a) if numbers else _const(a))
            precs.append(0 if a < 0 and not numbers else 5)
        else:
            args.append(_paren(a.data) if numbers else names[a])
            precs.append(5)
    return _infix(node.op, args, precs)[0]


# ---------------------------------------------------------------- the steps

@dataclass
class PageStep:
    """One step of the page: a forward value, the seed, a chain-rule edge or a leaf's update.

    Indices are positions in the topological order (the n<i> of the pictures). ``line`` is the
    one-line text ``trace.explain`` prints for a backward step; ``lines`` the page's full text.
    """

    kind: str  # "forward", "seed", "backward" or "update"
    node: int  # the node computed, seeded, whose rule runs, or the leaf updated
    title: str
    line: str
    lines: list = field(default_factory=list)
    parent: int | None = None  # backward: the node receiving the contribution
    operand: int | None = None  # backward: which operand of ``node`` the parent is
    rule: str = ""
    upstream: float | None = None
    local: float | None = None
    contribution: float | None = None
    before: float | None = None  # the parent's gradient before and after this step (this pass)
    after: float | None = None
    share: tuple = ()  # backward: (this contribution's number, how many the parent receives)
    last_of_node: bool = False  # backward: the node's rule has now given every contribution
    value: float | None = None  # forward: the node's value; update: the leaf's new value


def _pass(root: Value, seed: float) -> list:
    """[(node, k, parent, upstream, local, contribution)] for every edge, as backward visits them
    (the engine's reverse_pass: gradients in a dict, ``.grad`` never touched, zero upstream skipped)."""
    walk = reverse_pass(root, seed)
    next(walk)
    edges = []
    for node, g, applied in walk:
        local = contributions(node, 1.0)  # after the real call: a breakpoint in the rule sees the true g first
        edges += [(node, k, parent, g, d, c) for (k, parent, c), (_, _, d) in zip(applied, local)]
    return edges


def chain_rule_line(parent: str, node: str, g: float, d: float, c: float, rule: str) -> str:
    """One backward edge as ``trace.explain`` and the page print it: ``a.grad += n3.grad * dn3/da = ...``."""
    return f"{parent}.grad += {node}.grad * d{node}/d{parent} = {fmt(g)} * {fmt(d)} = {fmt(c)}   [{rule}]"


def describe_steps(root: Value, lr: float | None = None, seed: float = 1.0) -> list:
    """Every step of one training step on ``root`` as ``PageStep`` records, leaving ``.grad`` alone.

    Forward values node by node, the seed, the backward pass one edge at a time and, when ``lr`` is
    given, ``w <- w - lr * dL/dw`` for every leaf.
    """
    _check_value(root, "describe_steps")
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    names = _names(order)
    r = names[root]
    steps = []
    computed = [n for n in order if n.op]
    for j, node in enumerate(computed, 1):
        line = f"{names[node]} = {_node_formula(node, names)} = {_node_formula(node, names, True)} = {fmt(node.data)}"
        steps.append(PageStep("forward", index[node], f"Forward {j} of {len(computed)}: {names[node]}", line,
                              [line], value=node.data))
    line = f"{r}.grad = {fmt(seed)}"
    steps.append(PageStep("seed", index[root], f"Seed: d{r}/d{r} = {fmt(seed)}", line,
                          [line, f"The pass starts at the output: d{r}/d{r} = 1. Every other gradient starts at 0."]))
    edges = _pass(root, seed)
    total = {}
    for _, _, parent, *_ in edges:
        total[parent] = total.get(parent, 0) + 1
    grads: dict = {root: seed}
    received: dict = {}
    for j, (node, k, parent, g, d, c) in enumerate(edges, 1):
        n, p = names[node], names[parent]
        before = grads.get(parent, 0.0)
        after = before + c
        grads[parent] = after
        received.setdefault(parent, []).append(c)
        share = (len(received[parent]), total[parent])
        rule = f"{node.op}_backward"
        line = chain_rule_line(p, n, g, d, c, rule)
        where = ", ".join(f"{'uv'[i]} = {_const(a) + ' (a constant)' if type(a) is float else f'{names[a]} = {fmt(a.data)}'}"
                          for i, a in enumerate(operands(node)))
        lines = [local_formula(node, k, d), f"where {where}; {n} = {fmt(node.data)}",
                 f"{p}.grad += {n}.grad * d{n}/d{p} = {fmt(g)} * {fmt(d)} = {fmt(c)}"]
        if share[0] > 1:
            so_far = " + ".join(fmt(x) for x in received[parent])
            lines.append(f"{p}.grad = {so_far} = {fmt(after)}   (contribution {share[0]} of {share[1]})")
        elif share[1] > 1:
            lines.append(f"{p}.grad = {fmt(after)}   (contribution 1 of {share[1]}: {p} is used {share[1]} times, "
                         "the others are added later)")
        else:
            lines.append(f"{p}.grad = {fmt(after)}   ({p} receives only this contribution)")
        last = j == len(edges) or edges[j][0] is not node
        steps.append(PageStep("backward", index[node], f"Backward {j} of {len(edges)}: {rule} at {n}, gradient to {p}",
                              line, lines, index[parent], k, rule, g, d, c, before, after, share, last))
    if lr is not None:
        leaves = [n for n in order if not n.op]
        for j, leaf in enumerate(leaves, 1):
            w, g = names[leaf], grads.get(leaf, 0.0)
            new = leaf.data - lr * g
            line = f"{w} <- {w} - lr * d{r}/d{w} = {fmt(leaf.data)} - {fmt(lr)} * {_paren(g)} = {fmt(new)}"
            steps.append(PageStep("update", index[leaf], f"Update {j} of {len(leaves)}: {w}", line, [line],
                                  before=leaf.data, after=new, upstream=g, value=new))
    return steps


# ---------------------------------------------------------------- finite differences

def _evaluate(order: list, data: dict) -> float:
    """The root's value with leaf numbers from ``data``, each op replayed on plain numbers."""
    with no_grad():
        vals = {}
        for node in order:
            if not node.op:
                vals[node] = Value(data.get(node, node.data))
            else:
                vals[node] = apply(node.op, *(a if type(a) is float else vals[a] for a in operands(node)))
        return vals[order[-1]].data


def finite_differences(root: Value, max_nodes: int = FD_MAX_NODES) -> dict | None:
    """{leaf: central-difference estimate of d root / d leaf}; None for a graph over ``max_nodes``
    nodes or with an op the op table cannot replay. The user's Values are never changed."""
    order = toposort(root)
    if len(order) > max_nodes or any(n.op and not _known(n.op) for n in order):
        return None
    result = {}
    for leaf in order:
        if leaf.op:
            continue
        h = 1e-6 * max(1.0, abs(leaf.data))
        try:
            up, down = _evaluate(order, {leaf: leaf.data + h}), _evaluate(order, {leaf: leaf.data - h})
            result[leaf] = (up - down) / (2 * h)
        except (ValueError, ZeroDivisionError, OverflowError):
            result[leaf] = math.nan  # a step of h leaves the op's domain
    return result


# ---------------------------------------------------------------- the page

def _number(x):
    """A float for JSON, or None where JSON has no number (inf, nan)."""
    return x if x is not None and math.isfinite(x) else None


def _widest(values) -> float:
    return max(values, key=lambda x: len(fmt(x)))


def _svg(root: Value, order: list, widest_grad: dict, widest_data: dict, collapse) -> str:
    """The picture, drawn from a copy of the graph whose numbers are the widest the page will show,
    so every cell fits the texts the page writes into it (the user's graph is left alone)."""
    from .viz import pipe_svg, to_dot  # needs the viz extra

    target = root
    if all(not n.op or _known(n.op) for n in order):
        copies = {}
        with enable_grad():
            for node in order:
                if node.op:
                    copy = apply(node.op, *(a if type(a) is float else copies[a] for a in operands(node)))
                    copy.label = node.label
                else:
                    copy = Value(node.data, node.label)
                copies[node] = copy
        for node, copy in copies.items():
            copy.grad, copy.data = widest_grad[node], widest_data[node]
        target = copies[root]
    best, best_scale = "", 0.0
    # left to right reads like the computation; top down when it is much bigger
    sources = [to_dot(target, rankdir, collapse=collapse, show_grad=True, max_nodes=None,
                      legend=False).source for rankdir in ("LR", "TB")]  # the page has its own legend
    with ThreadPoolExecutor(2) as pool:  # both renderer processes at once: the page waits for the slower only
        svgs = list(pool.map(pipe_svg, sources))
    for svg in svgs:
        svg = svg[svg.index("<svg"):]
        width, height = (float(x) for x in re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"', svg).groups())
        scale = min(_PORT[0] / width, _PORT[1] / height)
        if scale > best_scale * 1.15:
            best, best_scale = svg, scale
    return best


def neuron_groups(order: list) -> dict:
    """{node: neuron name} for an ``nn`` network's nodes (empty for other graphs)."""
    from .viz import find_groups  # the grouping viz draws with collapse='neuron'

    return find_groups(order, "neuron")


def page_data(root: Value, lr: float | None = None, expression: str | None = None,
              max_nodes: int = MAX_NODES, pictures: bool = True) -> dict:
    """Everything the page shows, as JSON-ready data (the page's JavaScript only displays it)."""
    _check_value(root, "to_html")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf):
        raise ValueError(f"to_html: lr must be a positive number (the step w <- w - lr * grad), got {lr!r}")
    order = toposort(root)
    if max_nodes is not None and len(order) > max_nodes:
        from .viz import GraphTooLarge

        raise GraphTooLarge(f"to_html: the graph has {len(order):,} nodes, over max_nodes={max_nodes:,}; "
                            f"a page that size cannot be read. {_advice(order)}")
    if max_nodes is not None and pictures:  # a value used by ops far apart: see viz.MAX_BENDS
        from .viz import check_bends, layout_bends

        check_bends(layout_bends(order), MAX_BENDS, "to_html", "The page fits up to about 110 terms of "
                    "x + x + ... + x: write such a sum as a product (n * x), or pass max_nodes=None to wait for it")
    index = {node: i for i, node in enumerate(order)}
    names = _names(order)
    steps = describe_steps(root, lr)
    grads_seen = {node: [0.0] for node in order}
    data_seen = {node: [node.data] for node in order}
    for s in steps:
        if s.kind == "backward":
            grads_seen[order[s.parent]].append(s.after)
        elif s.kind == "seed":
            grads_seen[root].append(1.0)
        elif s.kind == "update":
            data_seen[order[s.node]].append(s.after)
    groups = neuron_groups(order)
    from .viz import STYLE, WEIGHT_COLOUR, group_outputs, node_kind, weight_edges

    outputs = group_outputs(order)  # labels of neuron outputs (viz's label convention)

    nodes = []
    for i, node in enumerate(order):
        nodes.append({
            "id": f"n{i}", "name": names[node], "label": node.label, "op": node.op,
            "kind": node_kind(node, root),
            "by_backward": made_by_backward(node),  # recorded by grad(..., create_graph=True)
            "formula": _node_formula(node, names) if node.op else "",
            "data": fmt(node.data),
            "parents": [index[a] for a in operands(node) if type(a) is not float],
            "group": groups.get(node),
            "neuron_out": node.op != "" and node.label in outputs,
        })
    out_steps = []
    for s in steps:
        d = {"kind": s.kind, "node": s.node, "title": s.title, "lines": s.lines, "line": s.line}
        if s.kind == "forward":
            d["set_data"] = fmt(s.value)
        elif s.kind == "seed":
            d["set_grad"] = fmt(1.0)
        elif s.kind == "backward":
            node = order[s.node]
            dup = sum(1 for a in operands(node)[:s.operand] if a is order[s.parent])
            text = local_text(node.op, len(operands(node)))
            d.update(parent=s.parent, operand=s.operand, edge_nth=dup, rule=s.rule, set_grad=fmt(s.after),
                     share=list(s.share), last_of_node=s.last_of_node,
                     quiz={"local": _number(s.local), "upstream": _number(s.upstream),
                           "contribution": _number(s.contribution), "before": _number(s.before),
                           "after": _number(s.after), "local_text": fmt(s.local), "after_text": fmt(s.after),
                           "upstream_text": fmt(s.upstream), "before_text": fmt(s.before),
                           "question": f"{text.head}/d{'uv'[s.operand]}", "symbolic": text.partials[s.operand][0],
                           "parent": names[order[s.parent]], "node": names[node]})
        elif s.kind == "update":
            d["set_data"] = fmt(s.after)
            d["grad"] = fmt(s.upstream)
        out_steps.append(d)
    leaves = [n for n in order if not n.op]
    fd = finite_differences(root)
    backprop = {order[s.parent]: s.after for s in steps if s.kind == "backward"}
    summary = []
    for leaf in leaves:
        g = backprop.get(leaf, 1.0 if leaf is root else 0.0)
        row = {"node": index[leaf], "name": names[leaf], "grad": fmt(g), "data": fmt(leaf.data)}
        if fd is not None:
            est = fd[leaf]
            row["fd"] = fmt(est)
            row["agree"] = bool(math.isfinite(est) and math.isclose(g, est, rel_tol=1e-4, abs_tol=1e-6))
        if lr is not None:
            row["new"] = fmt(leaf.data - lr * g)
        summary.append(row)
    r = names[root]
    data = {
        "title": f"chainrule: backprop step by step ({r})",
        "expression": expression.strip() if expression else f"{r} = {formula(root, names)}" if root.op else r,
        "typed": bool(expression),
        "root": index[root], "root_name": r, "value": fmt(root.data),
        "lr": lr, "lr_text": fmt(lr) if lr is not None else None,
        "nodes": nodes, "steps": out_steps, "summary": summary,
        "fd": fd is not None,
        "fd_note": "central differences, (f(x + h) - f(x - h)) / 2h with h = 1e-6 * max(1, |x|)" if fd is not None
        else f"finite differences are shown for graphs of up to {FD_MAX_NODES} nodes made of built-in ops",
        "style": dict(STYLE),
        # the collapsed view draws an edge into a neuron as its weight: colour by sign, width by size
        "weights": {"positive": WEIGHT_COLOUR[1], "negative": WEIGHT_COLOUR[-1]}
        if groups and weight_edges(order, groups, index) else None,
        "groups": {},
        "svg": {},
    }
    members: dict = {}
    for node, g in groups.items():
        members.setdefault(g, []).append(index[node])
    for g, idx in members.items():
        outs = [i for i in idx if order[i].op and order[i].label in outputs] or idx[-1:]
        data["groups"][g] = {"members": idx, "outs": outs, "params": [i for i in idx if not order[i].op]}
    if pictures:
        widest_grad = {n: _widest(grads_seen[n]) for n in order}
        widest_data = {n: _widest(data_seen[n]) for n in order}
        data["svg"]["full"] = _svg(root, order, widest_grad, widest_data, None)
        if groups:
            data["svg"]["collapsed"] = _svg(root, order, widest_grad, widest_data, "neuron")
    return data


def _asset(name: str) -> str:
    return resources.files("autograd").joinpath("assets", name).read_text(encoding="utf-8")


def _script_json(obj) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can close it or start a comment."""
    from .files import escape_surrogates

    text = escape_surrogates(json.dumps(obj, allow_nan=False, separators=(",", ":")))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(data: dict) -> str:
    """The page: the HTML asset with the CSS, the JavaScript and the data put in, in one pass."""
    css, js = _asset("stepper.css"), _asset("stepper.js")
    for name, text in (("stepper.css", css), ("stepper.js", js)):
        if re.search(r"</(script|style)", text, re.I):  # would end the element early
            raise RuntimeError(f"{name} must not contain a closing script or style tag")
    parts = {"title": html.escape(data["title"]), "css": css, "js": js, "data": _script_json(data)}
    return re.sub(r"\{\{(title|css|js|data)\}\}", lambda m: parts[m.group(1)], _asset("stepper.html"))


class Stepper:
    """The stepper page for one graph: shows itself inline in Jupyter, ``save(path)`` writes it."""

    def __init__(self, html_text: str) -> None:
        self.html = html_text

    def _repr_html_(self) -> str:
        # An iframe keeps the page's styles, ids and keys apart from the notebook's.
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="chainrule stepper" '
                'style="width: 100%; height: 760px; border: 1px solid #d1d5db; border-radius: 6px"></iframe>')

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write the page to ``path`` (whole or not at all; a read-only file is kept unless ``overwrite``)."""
        from .files import write_text

        return write_text(path, self.html, overwrite=overwrite)


def stepper(root: Value, lr: float | None = None, expression: str | None = None,
            max_nodes: int = MAX_NODES) -> Stepper:
    """The stepper page for ``root`` as an object: inline in Jupyter, or ``.save(path)``."""
    return Stepper(render_page(page_data(root, lr, expression, max_nodes)))


def to_html(root: Value, path, lr: float | None = None, max_nodes: int = MAX_NODES,
            expression: str | None = None, *, overwrite: bool = False) -> Path:
    """Write one self-contained page that walks through a training step on ``root``: the forward
    pass, the seed, the backward pass one edge at a time and, with ``lr``, the update. Every
    ``.grad`` is left as it was."""
    return stepper(root, lr, expression, max_nodes).save(path, overwrite=overwrite)
