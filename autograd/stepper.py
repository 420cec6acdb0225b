"""The stepper page: one training step on one example, every number explained.

``describe_steps(root, lr)`` lists the steps as plain data: the forward pass node by node, the
seed, the backward pass one edge at a time (``trace.Step`` records from ``trace.walk``, the walk
``trace.explain`` prints, with the rule's local-derivative formula, numbers substituted) and, with a
learning rate, the update of every leaf and the forward pass again on the new values. ``to_html``
writes the page (its HTML, CSS and JavaScript are the files in ``autograd/assets``; Python hands
them the data as JSON; the pictures and node kinds come from ``viz.page_view``) and
``stepper(root)`` shows it inline in Jupyter. Nothing here changes a ``.grad`` or ``.data`` of the
user's graph: the gradients of the pass are computed in a dict.

The page's steps are templates (``story``) whose names and numbers are slots, filled from the
numbers Python computed (``quantities``); when a learner edits an input or the learning rate, the
page computes the same quantities itself from the op table's forms (``assets/ops.js``) and fills
the same templates again, so what a step says never depends on which side computed its numbers.
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
from .files import escape_surrogates, page_path, write_text
from .graph import operands, parameter_of, toposort
from .ops import OPS, call_text, fmt, page_ops
from .trace import (Step, bracketed, chain_rule_line, constant_text, formula, formula_of, node_formula, node_names,
                    number_text, walk)
from .viz import check_bends, check_limit, find_groups, layout_bends, page_view

__all__ = ["DerivativeText", "local_text", "local_formula", "describe_steps", "story", "quantities", "slot", "fill",
           "filled", "formula", "fmt", "finite_differences", "page_data", "to_html", "stepper", "Stepper"]

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
    numbers = {"out": node.data, "local": local}
    keys = {a: f"x{j}" for j, a in enumerate(operands(node)) if type(a) is not float}
    numbers.update((key, a.data) for a, key in keys.items())
    return fill(_local_template(node, k, keys, "out", "local"), numbers, {})


def _local_template(node: Value, k: int, keys: dict, out: str, local: str) -> str:
    """``local_formula``'s text with slots for the numbers: operand node ``a``'s value is quantity
    ``keys[a]``, the node's ``out``, the local derivative ``local``."""
    ops = operands(node)
    text = local_text(node.op, len(ops))
    symbolic, numeric = text.partials[k]
    fields = {"out": slot("=", out), "pout": slot("(", out)}
    for name, a in zip("uv", ops):
        fields[name], fields["p" + name] = (fmt(a), number_text(a)) if type(a) is float else \
            (slot("=", keys[a]), slot("(", keys[a]))
    parts = [f"{text.head}/d{'uv'[k]}"] + [part for part in (symbolic, numeric.format(**fields)) if part]
    # the number itself, unless the last part already is it: a constant (add's 1) or one field (mul's v)
    if not (numeric == "" and _is_number(symbolic) or re.fullmatch(r"\{p?(u|v|out)\}", numeric)):
        parts.append(slot("=", local))
    return " = ".join(parts)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------- templates: the page's text with its numbers as slots

def slot(flag: str, key) -> str:
    """A place in a step's text for quantity ``key``: printed by ``fmt`` (flag '='), as a formula's
    operand (flag '(', bracketed when negative), or node ``key``'s name (flag '#'). The page fills
    the slots again whenever a number is edited; ``fill`` fills them in Python."""
    return f"\ufff9{flag}{key}\ufffa"


SLOT = re.compile("\ufff9([=(#])([^\ufffa]*)\ufffa")


def fill(text: str, numbers: dict, names) -> str:
    """``text`` with its slots filled from ``numbers`` (key -> float) and ``names`` (node i's is names[i])."""
    def one(m):
        flag, key = m.groups()
        return names[int(key)] if flag == "#" else fmt(numbers[key]) if flag == "=" else number_text(numbers[key])
    return SLOT.sub(one, text)


def filled(step: dict, numbers: dict, names: list) -> dict:
    """A step as plain text (``describe_steps``): its slots filled from ``numbers`` and ``names``; where
    one of its numbers is an error ({'error': message, 'at': node index}), the error in place, as the
    page's ``textOf`` shows it."""
    lines = [step["line"]] + step["lines"]
    keys = [m.group(2) for t in lines for m in SLOT.finditer(t) if m.group(1) != "#"]
    err = next((numbers[k] for k in keys if type(numbers[k]) is dict), None)
    out = dict(step, title=fill(step["title"], numbers, names))
    if err is not None:
        lines = [_failed_line(step, err, names)] * 2 + ([step["on_error"]] if step.get("on_error") else [])
    else:
        lines = [fill(t, numbers, names) for t in lines]
    out["line"], out["lines"] = lines[0], lines[1:]
    for key in ("set_data", "set_grad"):
        if key in step:
            x = numbers[step[key]]
            out[key] = "error" if type(x) is dict else fmt(x)
    if "quiz" in step:
        e = step["quiz"]["edge"]
        out["quiz"] = dict(step["quiz"], **{name: _number(numbers[f"{k}{e}"]) for name, k in QUIZ.items()})
        out["quiz"].update(node=names[step["node"]], parent=names[step["parent"]])
    return out


QUIZ = {"upstream": "u", "local": "l", "contribution": "c", "before": "b", "after": "a"}  # edge quantities


def _failed_line(step: dict, err: dict, names: list) -> str:
    n = f"{names[step['parent']]}.grad" if step["kind"] == "backward" else names[step["node"]]
    return f"{n}: {err['error']}" if err["at"] == step["node"] else \
        f"{n}: not computed, {names[err['at']]} failed: {err['error']}"


# ---------------------------------------------------------------- the numbers

def quantities(order: list, edges: list, lr: float | None, fd: dict | None, seed: float = 1.0) -> dict:
    """Every number the page shows, by key: d<i> node i's value, u/l/c/b/a<e> edge e's upstream,
    local, contribution and gradient before and after, g<i> node i's gradient, and with ``lr`` n<i>
    its value after the update (a dict naming the error where an op refuses the new values) and m
    the output's change; f<i> leaf i's finite difference. The page's JavaScript computes the same."""
    index = {node: i for i, node in enumerate(order)}
    q: dict = {f"d{i}": node.data for i, node in enumerate(order)}
    q["seed"] = seed
    grads = {order[-1]: seed}
    for e, s in enumerate(edges):
        q.update({f"u{e}": s.upstream, f"l{e}": s.local, f"c{e}": s.contribution, f"b{e}": s.before, f"a{e}": s.after})
        grads[s.parent] = s.after
    q.update((f"g{i}", grads.get(node, 0.0)) for i, node in enumerate(order))
    if lr is not None:
        q["lr"] = lr
        new = _new_values(order, grads, lr)
        q.update((f"n{index[node]}", x) for node, x in new.items())
        root_new = new[order[-1]]
        q["m"] = root_new if type(root_new) is dict else root_new - order[-1].data
    if fd is not None:
        q.update((f"f{index[leaf]}", x) for leaf, x in fd.items())
    return q


def updated(order: list) -> list:
    """The indices of the leaves an update moves: a network's parameters where the graph has any
    (training changes weights, never the data row), else every leaf."""
    leaves = [i for i, n in enumerate(order) if not n.op]
    params = [i for i in leaves if parameter_of(order[i]) is not None]
    return params or leaves


def _new_values(order: list, grads: dict, lr: float) -> dict:
    """Each updated leaf after ``w - lr * grad`` (the others as they are), each node recomputed from
    them; where an op refuses its inputs, {'error': its message, 'at': node index}, passed on to the
    nodes computed from it."""
    new: dict = {}
    moved = set(updated(order))
    for i, node in enumerate(order):
        if not node.op:
            new[node] = node.data - lr * grads.get(node, 0.0) if i in moved else node.data
            continue
        args = [a if type(a) is float else new[a] for a in operands(node)]
        err = next((a for a in args if type(a) is dict), None)
        if err is None:
            try:
                new[node] = apply(node.op, *args)
            except (ValueError, ZeroDivisionError, OverflowError) as e:  # the step left the op's domain
                err = {"error": str(e), "at": i}
        if err is not None:
            new[node] = err
    return new


# ---------------------------------------------------------------- the story

def describe_steps(root: Value, lr: float | None = None, seed: float = 1.0) -> list:
    """Every step of one training step on ``root`` as the page's plain data, leaving ``.grad`` alone:
    forward values node by node, the seed, the backward pass one edge at a time (trace's ``Step``
    records, every edge: one whose upstream gradient is 0 contributes exactly 0) and, when ``lr`` is
    given, ``w <- w - lr * dL/dw`` for every leaf and the forward pass again on the new values (an op
    the new values leave the domain of says its error there)."""
    _check_value(root, "describe_steps")
    order = toposort(root)
    edges = list(walk(root, seed, order, every=True))
    names = list(node_names(order).values())
    numbers = quantities(order, edges, lr, None, seed)
    return [filled(s, numbers, names) for s in story(order, edges, lr, seed)]


def story(order: list, edges: list, lr: float | None, seed: float = 1.0) -> list:
    """The page's steps from the graph (``order``) and the pass's ``Step`` records (every edge), as
    templates: names and numbers are slots (``slot``) that the page fills, and fills again when
    a number is edited; what a step shows never depends on the numbers."""
    index = {node: i for i, node in enumerate(order)}
    names = {node: slot("#", i) for i, node in enumerate(order)}
    root = order[-1]
    r = names[root]
    steps = []
    computed = [n for n in order if n.op]
    for j, node in enumerate(computed, 1):
        i = index[node]
        line = f"{names[node]} = {node_formula(node, names)} = {_with_numbers(node, 'd', index)} = {slot('=', f'd{i}')}"
        steps.append({"kind": "forward", "node": i, "title": f"Forward {j} of {len(computed)}: {names[node]}",
                      "line": line, "lines": [line], "set_data": f"d{i}",
                      "on_error": "This input is outside the op's domain: change it back to a value the op accepts."})
    steps.append({"kind": "seed", "node": index[root], "title": f"Seed: d{r}/d{r} = {fmt(seed)}",
                  "line": f"{r}.grad = {slot('=', 'seed')}", "lines": [f"{r}.grad = {slot('=', 'seed')}"],
                  "set_grad": "seed"})
    total: dict = {}
    for s in edges:
        total[s.parent] = total.get(s.parent, 0) + 1
    received: dict = {}
    for e, s in enumerate(edges):
        steps.append(_backward_step(s, e, names, index, total[s.parent], received.setdefault(s.parent, []),
                                    len(edges), e + 1 == len(edges) or edges[e + 1].node is not s.node))
    if lr is not None:
        steps += _updates(order, names, lr)
    return steps


def _backward_step(s: Step, e: int, names: dict, index: dict, total: int, received: list, count: int,
                   last: bool) -> dict:
    """Edge ``e`` of the pass as the page shows it, with the numbers its quiz checks."""
    n, p = names[s.node], names[s.parent]
    received.append(slot("=", f"c{e}"))
    where = ", ".join(f"{'uv'[i]} = " + (f"{constant_text(a)[0]} (a constant)" if type(a) is float else
                                          f"{names[a]} = {slot('=', f'd{index[a]}')}")
                      for i, a in enumerate(operands(s.node)))
    keys = {a: f"d{index[a]}" for a in operands(s.node) if type(a) is not float}
    after = slot("=", f"a{e}")
    lines = [_local_template(s.node, s.operand, keys, f"d{s.node_index}", f"l{e}"),
             f"where {where}; {n} = {slot('=', f'd{s.node_index}')}",
             f"{p}.grad += {n}.grad * d{n}/d{p} = {slot('=', f'u{e}')} * {slot('=', f'l{e}')} = {slot('=', f'c{e}')}"]
    if s.nth > 1:
        lines.append(f"{p}.grad = {' + '.join(received)} = {after}   (contribution {s.nth} of {total})")
    elif total > 1:
        lines.append(f"{p}.grad = {after}   (contribution 1 of {total}: {p} is used {total} times, "
                     "the others are added later)")
    else:
        lines.append(f"{p}.grad = {after}   ({p} receives only this contribution)")
    text = local_text(s.node.op, len(operands(s.node)))
    return {"kind": "backward", "node": s.node_index, "parent": s.parent_index, "operand": s.operand,
            "edge_nth": sum(1 for a in operands(s.node)[:s.operand] if a is s.parent),
            "title": f"Backward {s.number} of {count}: {s.rule} at {n}, gradient to {p}",
            "line": chain_rule_line(s, names, tuple(slot("=", f"{k}{e}") for k in "ulc")), "lines": lines,
            "rule": s.rule, "set_grad": f"a{e}", "share": [s.nth, total], "last_of_node": last,
            "quiz": {"edge": e, "question": f"{text.head}/d{'uv'[s.operand]}", "symbolic": text.partials[s.operand][0]}}


def _with_numbers(node: Value, kind: str, index: dict) -> str:
    """'2.0000 * (-3.0000)': ``node`` with its operands' numbers, values (kind 'd') or updated values ('n')."""
    flag = "(" if bracketed(node.op) else "="
    return call_text(node.op, [(number_text(a) if flag == "(" else fmt(a)) if type(a) is float
                               else slot(flag, f"{kind}{index[a]}") for a in operands(node)])[0]


def _updates(order: list, names: dict, lr: float) -> list:
    """The update of every leaf ``updated`` names, then the forward pass again on the new values, node
    by node, down to the output's change (the point of the update: the output moves the way the
    gradient said)."""
    root, r = order[-1], names[order[-1]]
    leaves = updated(order)
    steps = []
    for j, i in enumerate(leaves, 1):
        w = names[order[i]]
        line = (f"{w} <- {w} - lr * d{r}/d{w} = {slot('=', f'd{i}')} - {slot('=', 'lr')} * {slot('(', f'g{i}')} = "
                f"{slot('=', f'n{i}')}")
        steps.append({"kind": "update", "node": i, "title": f"Update {j} of {len(leaves)}: {w}",
                      "line": line, "lines": [line], "set_data": f"n{i}"})
    index = {node: i for i, node in enumerate(order)}
    computed = [n for n in order if n.op]
    for j, node in enumerate(computed, 1):
        i, n = index[node], names[node]
        line = (f"{n} = {node_formula(node, names)} = {_with_numbers(node, 'n', index)} = {slot('=', f'n{i}')}   "
                f"(was {slot('=', f'd{i}')})")
        lines = [line]
        if node is root:
            lines.append(f"{r}: {slot('=', f'd{i}')} -> {slot('=', f'n{i}')}   (change {slot('=', 'm')})")
        steps.append({"kind": "reforward", "node": i, "title": f"Forward again {j} of {len(computed)}: {n}",
                      "line": line, "lines": lines, "set_data": f"n{i}",
                      "on_error": "The learning rate took a step too far for this op."})
    return steps


# ---------------------------------------------------------------- finite differences

def _evaluate(order: list, data: dict) -> float:
    """The root's value with leaf numbers from ``data``, each op replayed on plain numbers."""
    vals: dict = {}
    for node in order:
        vals[node] = data.get(node, node.data) if not node.op else \
            apply(node.op, *(a if type(a) is float else vals[a] for a in operands(node)))
    return vals[order[-1]]


def finite_differences(root: Value, max_nodes: int | None = FD_MAX_NODES, order: list | None = None) -> dict | None:
    """{leaf: central-difference estimate of d root / d leaf}; None for a graph over ``max_nodes``
    nodes. The user's Values are never changed."""
    check_limit(max_nodes, "finite_differences", "max_nodes")
    order = order or toposort(root)
    if max_nodes is not None and len(order) > max_nodes:
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
    return x if x is not None and type(x) is not dict and math.isfinite(x) else None


def _json_number(x):
    """A quantity for JSON: a number, 'inf', '-inf' or 'nan' (JSON has none of these), or an error dict."""
    return x if type(x) is dict or math.isfinite(x) else repr(x)


def _editing(order: list) -> str | None:
    """Why the page cannot recompute this graph when a number is edited, or None where it can."""
    user = sorted({n.op for n in order if n.op and OPS[n.op].forms is None})
    if user:
        return (f"Editing is off: this graph uses {', '.join(user)}, an op defined in Python (define_op), which "
                "this page cannot run. Its numbers are the ones Python computed.")
    if any(made_by_backward(n) for n in order):
        return ("Editing is off: this graph was recorded by a backward pass (grad with create_graph=True), whose "
                "rules chose their branches and constants at these values (relu's 0 or 1, a tie's half), so at "
                "other values it need not be the derivative. Its numbers are the ones Python computed; build the "
                "graph again in Python to see other values.")
    return None


def page_data(root: Value, lr: float | None = None, expression: str | None = None,
              max_nodes: int | None = MAX_NODES, pictures: bool = True) -> dict:
    """Everything the page shows, as JSON-ready data, assembled from the graph sorted once, the pass's
    ``Step`` records and viz's ``page_view``: the steps as templates (``story``), their numbers
    (``quantities``) and, unless a user's op or a recorded backward pass forbids it, what the page
    needs to recompute them when a learner edits an input (the graph's ops and the op table's forms)."""
    _check_value(root, "to_html")
    check_limit(max_nodes, "to_html", "max_nodes")
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
    edges = list(walk(root, 1.0, order, every=True))
    fd = finite_differences(root, order=order)
    numbers = quantities(order, edges, lr, fd)
    r = names[root]
    index = {node: i for i, node in enumerate(order)}
    view = page_view(root, order, *_widest_numbers(order, numbers), pictures=pictures)
    nodes = [{"id": f"n{i}", "name": names[node], "label": node.label, "op": node.op, "kind": view["kinds"][i],
              "by_backward": made_by_backward(node),  # recorded by grad(..., create_graph=True)
              "formula": node_formula(node, names) if node.op else "",
              "args": [_json_number(a) if type(a) is float else {"node": index[a]} for a in operands(node)],
              "parents": [index[a] for a in operands(node) if type(a) is not float],
              "group": view["group_of"][i], "neuron_out": view["neuron_out"][i]}
             for i, node in enumerate(order)]
    locked = _editing(order)
    return {
        "title": f"chainrule: backprop step by step ({r})",
        "expression": expression.strip() if expression else f"{r} = {formula_of(order, names)}" if root.op else r,
        "typed": bool(expression),
        "root": index[root], "root_name": r, "lr": lr, "seed": 1.0,
        "nodes": nodes, "steps": story(order, edges, lr), "updated": updated(order),
        "edges": [[s.node_index, s.operand, s.parent_index] for s in edges],
        "numbers": {k: _json_number(x) for k, x in numbers.items()},
        "ops": page_ops(n.op for n in order if n.op) if locked is None else {}, "locked": locked,
        "fd": fd is not None,
        "fd_note": "central differences, (f(x + h) - f(x - h)) / 2h with h = 1e-6 * max(1, |x|)" if fd is not None
        else f"finite differences are shown for graphs of up to {FD_MAX_NODES} nodes",
        "style": view["style"], "weights": view["weights"], "groups": view["groups"], "svg": view["svg"],
    }


def _widest_numbers(order: list, numbers: dict) -> tuple:
    """Per node, the gradient and the value the page will show with the most characters (at these values)."""
    seen: dict = {}
    for key, x in numbers.items():
        kind, i = key[:1], key[1:]
        if kind in "dgn" and i.isdigit() and type(x) is not dict:
            seen.setdefault((kind == "g", int(i)), []).append(x)
    return tuple({node: max(seen.get((grad, i), [0.0]) + [0.0], key=lambda x: len(fmt(x))) for i, node in enumerate(order)}
                 for grad in (True, False))


def _asset(name: str) -> str:
    return resources.files("autograd").joinpath("assets", name).read_text(encoding="utf-8")


def _script_json(obj) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can close it or start a comment."""
    text = escape_surrogates(json.dumps(obj, allow_nan=False, separators=(",", ":")))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(data: dict) -> str:
    """The page: the HTML asset with the CSS, the JavaScript and the data put in, in one pass."""
    parts = {"title": html.escape(data["title"]), "data": _script_json(data)}
    for key, name in (("css", "stepper.css"), ("ops", "ops.js"), ("js", "stepper.js")):
        parts[key] = _asset(name)
        if re.search(r"</(script|style)", parts[key], re.I):  # would end the element early
            raise RuntimeError(f"{name} must not contain a closing script or style tag")
    return re.sub(r"\{\{(title|css|ops|js|data)\}\}", lambda m: parts[m.group(1)], _asset("stepper.html"))


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
        return write_text(page_path(path, "Stepper.save"), self.html, overwrite=overwrite)


def stepper(root: Value, lr: float | None = None, expression: str | None = None,
            max_nodes: int | None = MAX_NODES) -> Stepper:
    """The stepper page for ``root`` as an object: inline in Jupyter, or ``.save(path)``."""
    return Stepper(render_page(page_data(root, lr, expression, max_nodes)))


def to_html(root: Value, path, lr: float | None = None, max_nodes: int | None = MAX_NODES,
            expression: str | None = None, *, overwrite: bool = False) -> Path:
    """Write one self-contained page that walks through a training step on ``root``: the forward
    pass, the seed, the backward pass one edge at a time and, with ``lr``, the update. Every
    ``.grad`` is left as it was."""
    page_path(path, "to_html")
    return stepper(root, lr, expression, max_nodes).save(path, overwrite=overwrite)
