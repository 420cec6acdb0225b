"""The stepper page: one training step on one example, every number explained.

``describe_steps(root, lr)`` lists the steps as plain data: the forward pass node by node, the
seed, the backward pass one edge at a time (``trace.Step`` records from ``trace.walk``, the walk
``trace.explain`` prints, with the rule's local-derivative formula, numbers substituted) and, with a
learning rate, the update of every leaf and the forward pass again on the new values. ``to_html``
writes the page (its HTML, CSS and JavaScript are the files in ``autograd/assets``; Python hands
them the data as JSON; the pictures and node kinds come from ``viz.page_view``) and
``stepper(root)`` shows it inline in Jupyter. Nothing here changes a ``.grad`` or ``.data`` of the
user's graph: the gradients of the pass are computed in a dict.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .engine import Value, apply, as_value as _check_value, made_by_backward
from .graph import operands, toposort
from .ops import OPS, fmt
from .trace import (Step, chain_rule_line, constant_text, formula, formula_of, node_formula, node_names, number_text,
                    walk)
from .viz import check_bends, find_groups, layout_bends, page_view

__all__ = ["DerivativeText", "local_text", "local_formula", "describe_steps", "formula", "fmt",
           "finite_differences", "page_data", "to_html", "stepper", "Stepper"]

MAX_NODES = 300  # the expanded picture and the step table stop being readable beyond this
FD_MAX_NODES = 200  # finite differences cost two evaluations of the graph per leaf
MAX_BENDS = 12_000  # the page's two drawings of x + x + ... + x (110 terms) take about a second of CPU
ADVICE = ("Stepping is for small graphs: step through a shorter expression or one built on fewer inputs, "
          "or raise max_nodes (max_nodes=None waits however long the drawing takes)")


def _advice(order: list) -> str:
    """What would fit the page instead of the graph of ``order``: for an ``nn`` network, numbers that work."""
    groups = find_groups(order, "neuron")
    if not groups:
        return ADVICE
    params = sum(1 for n in groups if not n.op)
    per = len(order) / max(params, 1)
    return (f"This network on one example has {params:,} parameters and {len(order):,} nodes, {per:.1f} per "
            f"parameter, so a network of about {round(MAX_NODES / per, -1):.0f} parameters fits in {MAX_NODES:,} "
            "nodes (nn.MLP(2, [8, 8, 1]) on one example: 105 parameters, 297 nodes). To see this one, "
            "viz.render(root, 'net.svg', collapse='neuron') draws it one box per neuron; max_nodes="
            f"{len(order)} writes this page anyway (its drawings then take seconds)")


# ---------------------------------------------------------------- derivative text

@dataclass(frozen=True)
class DerivativeText:
    """How one op's local derivatives read: ``head`` like 'd tanh(u)' and, per operand, a pair
    (symbolic, numeric): the formula in u, v, and the same with numbers (format fields u, v, out;
    pu, pv, pout are the same numbers in parentheses when negative). An empty numeric part means
    the symbolic one is already a number."""

    head: str
    partials: tuple


def local_text(op: str, arity: int) -> DerivativeText:
    """How op ``op``'s local derivatives read, from its record in the op table (``Op.local``); an op
    without one (a user's op) shows the rule's number without a formula."""
    spec = OPS.get(op)
    if spec is not None and spec.local:
        return DerivativeText(*spec.local)
    return DerivativeText(f"d {op}({'u, v' if arity == 2 else 'u'})", (("", ""),) * arity)


def local_formula(node: Value, k: int, local: float) -> str:
    """'d tanh(u)/du = 1 - tanh(u)^2 = 1 - 0.8830^2 = 0.2204' for operand ``k`` of ``node``."""
    ops = operands(node)
    text = local_text(node.op, len(ops))
    symbolic, numeric = text.partials[k]
    nums = [a if type(a) is float else a.data for a in ops]
    fields = {"out": fmt(node.data), "pout": number_text(node.data)}
    for name, x in zip("uv", nums):
        fields[name], fields["p" + name] = fmt(x), number_text(x)
    parts = [f"{text.head}/d{'uv'[k]}"] + [part for part in (symbolic, numeric.format(**fields)) if part]
    if parts[-1] != fmt(local) and not _same_number(parts[-1], local):
        parts.append(fmt(local))
    return " = ".join(parts)


def _same_number(text: str, x: float) -> bool:
    try:
        return float(text) == x
    except ValueError:
        return False


# ---------------------------------------------------------------- the story

def describe_steps(root: Value, lr: float | None = None, seed: float = 1.0) -> list:
    """Every step of one training step on ``root`` as the page's plain data, leaving ``.grad`` alone:
    forward values node by node, the seed, the backward pass one edge at a time (trace's ``Step``
    records) and, when ``lr`` is given, ``w <- w - lr * dL/dw`` for every leaf and the forward pass
    again on the new values."""
    _check_value(root, "describe_steps")
    order = toposort(root)
    return story(order, node_names(order), list(walk(root, seed, order)), lr, seed)


def story(order: list, names: dict, edges: list, lr: float | None, seed: float = 1.0) -> list:
    """The page's steps from the graph (``order``), its names and the pass's ``Step`` records."""
    root = order[-1]
    index = {node: i for i, node in enumerate(order)}
    r = names[root]
    steps = []
    computed = [n for n in order if n.op]
    for j, node in enumerate(computed, 1):
        line = f"{names[node]} = {node_formula(node, names)} = {node_formula(node, names, True)} = {fmt(node.data)}"
        steps.append({"kind": "forward", "node": index[node], "title": f"Forward {j} of {len(computed)}: {names[node]}",
                      "line": line, "lines": [line], "set_data": fmt(node.data)})
    steps.append({"kind": "seed", "node": index[root], "title": f"Seed: d{r}/d{r} = {fmt(seed)}",
                  "line": f"{r}.grad = {fmt(seed)}", "lines": [f"{r}.grad = {fmt(seed)}"],
                  "set_grad": fmt(seed)})
    total: dict = {}
    for s in edges:
        total[s.parent] = total.get(s.parent, 0) + 1
    received: dict = {}
    for j, s in enumerate(edges):
        steps.append(_backward_step(s, names, total[s.parent], received.setdefault(s.parent, []), len(edges),
                                    j + 1 == len(edges) or edges[j + 1].node is not s.node))
    if lr is not None:
        grads = {root: seed}
        grads.update((s.parent, s.after) for s in edges)
        steps += _updates(order, names, grads, lr)
    return steps


def _backward_step(s: Step, names: dict, total: int, received: list, count: int, last: bool) -> dict:
    """One edge of the pass as the page shows it, with the numbers its quiz checks."""
    n, p = names[s.node], names[s.parent]
    received.append(s.contribution)
    where = ", ".join(f"{'uv'[i]} = " + (f"{constant_text(a)[0]} (a constant)" if type(a) is float else
                                          f"{names[a]} = {fmt(a.data)}") for i, a in enumerate(operands(s.node)))
    lines = [local_formula(s.node, s.operand, s.local), f"where {where}; {n} = {fmt(s.node.data)}",
             f"{p}.grad += {n}.grad * d{n}/d{p} = {fmt(s.upstream)} * {fmt(s.local)} = {fmt(s.contribution)}"]
    if s.nth > 1:
        lines.append(f"{p}.grad = {' + '.join(fmt(x) for x in received)} = {fmt(s.after)}   "
                     f"(contribution {s.nth} of {total})")
    elif total > 1:
        lines.append(f"{p}.grad = {fmt(s.after)}   (contribution 1 of {total}: {p} is used {total} times, "
                     "the others are added later)")
    else:
        lines.append(f"{p}.grad = {fmt(s.after)}   ({p} receives only this contribution)")
    text = local_text(s.node.op, len(operands(s.node)))
    return {"kind": "backward", "node": s.node_index, "parent": s.parent_index, "operand": s.operand,
            "edge_nth": sum(1 for a in operands(s.node)[:s.operand] if a is s.parent),
            "title": f"Backward {s.number} of {count}: {s.rule} at {n}, gradient to {p}",
            "line": chain_rule_line(s, names), "lines": lines, "rule": s.rule, "set_grad": fmt(s.after),
            "share": [s.nth, total], "last_of_node": last,
            "quiz": {"local": _number(s.local), "upstream": _number(s.upstream),
                     "contribution": _number(s.contribution), "before": _number(s.before),
                     "after": _number(s.after), "local_text": fmt(s.local), "after_text": fmt(s.after),
                     "upstream_text": fmt(s.upstream), "before_text": fmt(s.before),
                     "question": f"{text.head}/d{'uv'[s.operand]}", "symbolic": text.partials[s.operand][0],
                     "parent": p, "node": n}}


def _updates(order: list, names: dict, grads: dict, lr: float) -> list:
    """The update of every leaf, then the forward pass again on the new values, node by node, down
    to the output's change (the point of the update: the output moves the way the gradient said)."""
    root, r = order[-1], names[order[-1]]
    index = {node: i for i, node in enumerate(order)}
    leaves = [n for n in order if not n.op]
    new: dict = {}
    steps = []
    for j, leaf in enumerate(leaves, 1):
        w, g = names[leaf], grads.get(leaf, 0.0)
        new[leaf] = leaf.data - lr * g
        line = f"{w} <- {w} - lr * d{r}/d{w} = {fmt(leaf.data)} - {fmt(lr)} * {number_text(g)} = {fmt(new[leaf])}"
        steps.append({"kind": "update", "node": index[leaf], "title": f"Update {j} of {len(leaves)}: {w}",
                      "line": line, "lines": [line], "set_data": fmt(new[leaf]), "grad": fmt(g)})
    computed = [n for n in order if n.op]
    for j, node in enumerate(computed, 1):
        args = [a if type(a) is float else new[a] for a in operands(node)]
        n = names[node]
        try:
            new[node] = apply(node.op, *args)
        except (ValueError, ZeroDivisionError, OverflowError) as e:  # the step left the op's domain
            steps.append({"kind": "reforward", "node": index[node], "title": f"Forward again {j}: {n} fails",
                          "line": f"{n}: {e}", "lines": [f"{n} cannot be computed on the new values: {e}",
                                                         "The learning rate took a step too far for this op."],
                          "set_data": "error", "stale": True})
            break
        numbers = node_formula(node, {a: number_text(new[a]) for a in operands(node) if type(a) is not float})
        line = f"{n} = {node_formula(node, names)} = {numbers} = {fmt(new[node])}   (was {fmt(node.data)})"
        lines = [line]
        if node is root:
            lines.append(f"{r}: {fmt(node.data)} -> {fmt(new[node])}   (change {fmt(new[node] - node.data)})")
        steps.append({"kind": "reforward", "node": index[node], "title": f"Forward again {j} of {len(computed)}: {n}",
                      "line": line, "lines": lines, "set_data": fmt(new[node])})
    return steps


# ---------------------------------------------------------------- finite differences

def _evaluate(order: list, data: dict) -> float:
    """The root's value with leaf numbers from ``data``, each op replayed on plain numbers."""
    vals: dict = {}
    for node in order:
        vals[node] = data.get(node, node.data) if not node.op else \
            apply(node.op, *(a if type(a) is float else vals[a] for a in operands(node)))
    return vals[order[-1]]


def finite_differences(root: Value, max_nodes: int = FD_MAX_NODES, order: list | None = None) -> dict | None:
    """{leaf: central-difference estimate of d root / d leaf}; None for a graph over ``max_nodes``
    nodes. The user's Values are never changed."""
    order = order or toposort(root)
    if len(order) > max_nodes:
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


def _summary(order: list, names: dict, grads: dict, fd: dict | None, lr: float | None) -> list:
    """Per leaf: its gradient by backprop, by finite differences (and whether they agree), its new value."""
    rows = []
    for i, leaf in enumerate(order):
        if leaf.op:
            continue
        g = grads.get(leaf, 0.0)
        row = {"node": i, "name": names[leaf], "grad": fmt(g), "data": fmt(leaf.data)}
        if fd is not None:
            row["fd"] = fmt(fd[leaf])
            row["agree"] = bool(math.isfinite(fd[leaf]) and math.isclose(g, fd[leaf], rel_tol=1e-4, abs_tol=1e-6))
        if lr is not None:
            row["new"] = fmt(leaf.data - lr * g)
        rows.append(row)
    return rows


def page_data(root: Value, lr: float | None = None, expression: str | None = None,
              max_nodes: int = MAX_NODES, pictures: bool = True) -> dict:
    """Everything the page shows, as JSON-ready data (the page's JavaScript only displays it),
    assembled from the graph sorted once, the pass's ``Step`` records and viz's ``page_view``."""
    _check_value(root, "to_html")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf):
        raise ValueError(f"to_html: lr must be a positive number (the step w <- w - lr * grad), got {lr!r}")
    order = toposort(root)
    if max_nodes is not None and len(order) > max_nodes:
        from .viz import GraphTooLarge

        raise GraphTooLarge(f"to_html: the graph has {len(order):,} nodes, over max_nodes={max_nodes:,}; "
                            f"a page that size cannot be read. {_advice(order)}")
    if max_nodes is not None and pictures:  # a value used by ops far apart: see viz.MAX_BENDS
        check_bends(layout_bends(order), MAX_BENDS, "to_html", "The page fits up to about 110 terms of "
                    "x + x + ... + x: write such a sum as a product (n * x), or pass max_nodes=None to wait for it")
    names = node_names(order)
    edges = list(walk(root, 1.0, order))
    grads = {root: 1.0}
    grads.update((s.parent, s.after) for s in edges)
    steps = story(order, names, edges, lr)
    fd = finite_differences(root, order=order)
    r = names[root]
    index = {node: i for i, node in enumerate(order)}
    view = page_view(root, order, *_widest_numbers(order, steps), pictures=pictures)
    nodes = [{"id": f"n{i}", "name": names[node], "label": node.label, "op": node.op, "kind": view["kinds"][i],
              "by_backward": made_by_backward(node),  # recorded by grad(..., create_graph=True)
              "formula": node_formula(node, names) if node.op else "", "data": fmt(node.data),
              "parents": [index[a] for a in operands(node) if type(a) is not float],
              "group": view["group_of"][i], "neuron_out": view["neuron_out"][i]}
             for i, node in enumerate(order)]
    return {
        "title": f"chainrule: backprop step by step ({r})",
        "expression": expression.strip() if expression else f"{r} = {formula_of(order, names)}" if root.op else r,
        "typed": bool(expression),
        "root": index[root], "root_name": r, "value": fmt(root.data),
        "lr": lr, "lr_text": fmt(lr) if lr is not None else None,
        "nodes": nodes, "steps": steps, "summary": _summary(order, names, grads, fd, lr),
        "fd": fd is not None,
        "fd_note": "central differences, (f(x + h) - f(x - h)) / 2h with h = 1e-6 * max(1, |x|)" if fd is not None
        else f"finite differences are shown for graphs of up to {FD_MAX_NODES} nodes",
        "style": view["style"], "weights": view["weights"], "groups": view["groups"], "svg": view["svg"],
    }


def _widest_numbers(order: list, steps: list) -> tuple:
    """Per node, the gradient and the value the page will show with the most characters."""
    grads_seen = {i: [0.0] for i in range(len(order))}
    data_seen = {i: [node.data] for i, node in enumerate(order)}
    for s in steps:
        if s["kind"] == "backward":
            grads_seen[s["parent"]].append(float(s["set_grad"]))
        elif s["kind"] == "seed":
            grads_seen[s["node"]].append(1.0)
        elif s["kind"] in ("update", "reforward") and s["set_data"] != "error":
            data_seen[s["node"]].append(float(s["set_data"]))
    return ({node: _widest(grads_seen[i]) for i, node in enumerate(order)},
            {node: _widest(data_seen[i]) for i, node in enumerate(order)})


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
