"""Backprop one chain-rule step at a time: steps, explain, tape, why, NaN origins, pictures, a stepper page.

Nodes are named by label when they have one and n<i> otherwise, where i is the node's position in
the topological order (the numbering ``viz`` uses too).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path

from .engine import Value, _check_value, _number, _record_hook, _recording_mode, contributions
from .graph import operands, toposort
from .ops import SPECS

__all__ = ["Step", "steps", "explain", "tape", "why", "find_nonfinite", "detect_anomaly", "render_steps",
           "to_html", "NonFinite"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_origins: "weakref.WeakKeyDictionary[Value, tuple]" = weakref.WeakKeyDictionary()


@dataclass
class Step:
    """One chain-rule application: ``parent.grad += upstream * local`` along one edge."""

    number: int  # 1, 2, ... in the order applied
    node: Value  # the node whose rule runs
    node_index: int
    operand: int  # which operand of the node (0 or 1)
    parent: Value
    parent_index: int
    upstream: float  # node.grad when its rule runs
    local: float  # d node / d parent along this edge
    contribution: float  # what the rule returned for this edge (upstream * local)
    before: float  # parent.grad before and after the step
    after: float

    @property
    def rule(self) -> str:
        return f"{self.node.op}_backward"


def _name(node: Value, index: dict) -> str:
    return node.label or f"n{index[node]}"


def _fmt(x: float) -> str:
    return f"{x:.4f}" if x == 0 or 1e-4 <= abs(x) < 1e6 else f"{x:.4e}"


def steps(root: Value, grad: float = 1.0):
    """Run backward() from ``root`` one edge at a time, yielding a ``Step`` after each contribution.

    Run to the end, it leaves exactly what ``root.backward(grad)`` leaves. Nodes whose upstream
    gradient is 0 are skipped, as in backward (every rule is linear in it).
    """
    _check_value(root, "steps")
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    seed = _number(grad, "steps(grad=...)")
    for node in order:
        if node.op:
            node.grad = 0.0
    root.grad += seed
    number = 0
    for node in reversed(order):
        g = node.grad
        if g == 0.0 or not node.op:
            continue
        applied = contributions(node, g)  # the real call first: a breakpoint in the rule sees the true g
        local = [c for _, c in contributions(node, 1.0)]  # then the rule asked for d node / d parent
        ks = [k for k, a in enumerate(operands(node)) if type(a) is not float]
        for k, d, (parent, c) in zip(ks, local, applied):
            before = parent.grad
            parent.grad = before + c
            number += 1
            yield Step(number, node, index[node], k, parent, index[parent], g, d, c, before, parent.grad)


def explain(root: Value, grad: float = 1.0) -> str:
    """Run backward from ``root`` and return every chain-rule step with its numbers, in order."""
    index = {node: i for i, node in enumerate(toposort(root))}
    lines = [f"backward from {_name(root, index)} (seeded with {_fmt(grad)}), one line per edge:"]
    received: dict = {}
    for s in steps(root, grad):
        p, n = _name(s.parent, index), _name(s.node, index)
        lines.append(f"{s.number:4d}  {p}.grad += {n}.grad * d{n}/d{p} = {_fmt(s.upstream)} * {_fmt(s.local)}"
                     f" = {_fmt(s.contribution)}   [{s.rule}]")
        received.setdefault(s.parent, []).append(s.contribution)
    reused = [(p, cs) for p, cs in received.items() if len(cs) > 1]
    if reused:
        lines.append("reused nodes: their gradient is the sum of every contribution")
        for p, cs in reused:
            lines.append(f"      {_name(p, index)}.grad = {' + '.join(_fmt(c) for c in cs)} = {_fmt(sum(cs))}"
                         + ("" if p.op else f" (this pass; a leaf also keeps earlier passes: {_fmt(p.grad)})"
                            if not math.isclose(p.grad, sum(cs)) else ""))
    if len(lines) == 1:
        lines.append("      (no steps: the root is a leaf, or its gradient is 0)")
    return "\n".join(lines)


def _formula(node: Value, index: dict) -> tuple:
    """('mul(n0, n1)', '2.0000 * -3.0000 = -6.0000') for one node."""
    ops = operands(node)
    names = [repr(a) if type(a) is float else f"n{index[a]}" for a in ops]
    nums = [_fmt(a if type(a) is float else a.data) for a in ops]
    symbol = SPECS[node.op].symbol if node.op in SPECS else ""
    if len(ops) == 2 and symbol:
        math_text = f"{nums[0]} {symbol} {nums[1]}"
    elif node.op == "neg":
        math_text = f"-{nums[0]}"
    else:
        math_text = f"{node.op}({', '.join(nums)})"
    return f"{node.op}({', '.join(names)})", f"{math_text} = {_fmt(node.data)}"


def tape(root: Value) -> str:
    """One line per node in topological order, like ``n2 = mul(n0, n1)   # 2.0 * -3.0 = -6.0   grad 1.0``."""
    _check_value(root, "tape")
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    rows = []
    for i, node in enumerate(order):
        if node.op:
            call, comment = _formula(node, index)
        else:
            call, comment = "leaf", _fmt(node.data)
        label = f"  [{node.label}]" if node.label else ""
        rows.append((f"n{i} = {call}", f"# {comment}   grad {_fmt(node.grad)}{label}"))
    width = max(len(left) for left, _ in rows)
    return "\n".join(f"{left.ljust(width)}   {right}" for left, right in rows)


def why(x: Value, root: Value, max_paths: int = 1000) -> str:
    """Every path from ``root`` down to ``x`` with the product of local derivatives along it.

    The products sum to d root / d x (the chain rule as a sum over paths), so a vanishing factor
    on a path is easy to spot.
    """
    _check_value(x, "why")
    _check_value(root, "why")
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    if x not in index:
        return f"{x.label or 'x'} is not in the graph of {_name(root, index)}: d/dx = 0"
    reaches = {x}
    for node in order:
        if any(type(a) is not float and a in reaches for a in operands(node)):
            reaches.add(node)
    local = {}
    paths, total, truncated = [], 0.0, False
    stack = [(root, [root], [])]
    while stack:
        node, nodes, factors = stack.pop()
        if node is x:
            if len(paths) >= max_paths:
                truncated = True
                break
            product = math.prod(factors)
            total += product
            paths.append((nodes, factors, product))
            continue
        if node not in local:
            local[node] = [c for _, c in contributions(node, 1.0)]
        parents = [a for a in operands(node) if type(a) is not float]
        for parent, d in reversed(list(zip(parents, local[node]))):
            if parent in reaches:
                stack.append((parent, nodes + [parent], factors + [d]))
    lines = [f"paths from {_name(root, index)} to {_name(x, index)}:"]
    for nodes, factors, product in paths:
        chain = " <- ".join(f"{_name(n, index)}" + (f" ({n.op})" if n.op else "") for n in nodes)
        lines.append(f"  {chain}\n      {' * '.join(_fmt(f) for f in factors)} = {_fmt(product)}")
    lines.append(f"sum over {len(paths)} path{'s' * (len(paths) != 1)} = {_fmt(total)} = "
                 f"d{_name(root, index)}/d{_name(x, index)}")
    if truncated:
        lines.append(f"(stopped after max_paths={max_paths} paths; the sum is partial)")
    return "\n".join(lines)


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


def _finite(x) -> bool:
    return math.isfinite(x if type(x) is float else x.data)


def find_nonfinite(root: Value) -> NonFinite | None:
    """The first node whose inputs are finite but whose output, or backward contribution, is not.

    Checks the forward values, then a fresh backward pass (``.grad`` is left alone). None if all
    numbers are finite.
    """
    _check_value(root, "find_nonfinite")
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    first = None
    later = []
    for node in order:
        if not math.isfinite(node.data):
            if first is None and all(_finite(a) for a in operands(node)):
                first = node
                args = ", ".join(_fmt(a if type(a) is float else a.data) for a in operands(node))
                detail = (f"node {index[node]} ({_name(node, index)} = {node.op}({args}) = {node.data!r})"
                          if node.op else f"leaf node {index[node]} ({_name(node, index)} = {node.data!r})")
            elif first is not None:
                later.append(_name(node, index))
    if first is not None:
        return NonFinite(first, index[first], "forward", detail, _origins.get(first), later)
    grads = {root: 1.0}
    for node in reversed(order):
        g = grads.get(node)
        if g is None or not node.op or g == 0.0:
            continue
        for parent, c in contributions(node, g):
            if not math.isfinite(c):
                if first is None and math.isfinite(g):
                    first = node
                    detail = (f"node {index[node]} ({_name(node, index)}, {node.op}_backward): upstream "
                              f"{_fmt(g)}, contribution to {_name(parent, index)} is {c!r}")
                elif first is not None:
                    later.append(_name(parent, index))
            grads[parent] = grads.get(parent, 0.0) + c
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
    outer = _recording_mode.get()

    def note(node: Value) -> None:
        if outer is not None:
            outer(node)
        _origins[node] = _user_frame()
        if not math.isfinite(node.data) and all(_finite(a) for a in operands(node)):
            file, line = _origins[node]
            args = ", ".join(repr(a if type(a) is float else a.data) for a in operands(node))
            raise FloatingPointError(f"detect_anomaly: {node.op}({args}) = {node.data!r} at {file}:{line}")

    with _record_hook(note):
        yield


STEP_BY_STEP_ADVICE = ("Stepping is for small graphs: build the same expression on one input (for a network, "
                       "one neuron), or raise max_nodes")


def render_steps(root: Value, out_dir, fmt: str = "png", max_steps: int = 200, **options) -> list:
    """Run backward from ``root`` and draw one picture per step (step_001.png, ...); returns the paths.

    The node whose rule runs is orange, the parent receiving the contribution yellow, finished
    nodes green, every node shows its gradient as it stands at that step, and a caption gives the
    chain-rule product of the step.
    """
    from .viz import _check_size, _text, to_dot, write_dot  # needs the viz extra

    out_dir = Path(out_dir)
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    if "max_nodes" not in options:
        _check_size(len(order), 300, "render_steps", STEP_BY_STEP_ADVICE)
    paths, done = [], set()
    for s in steps(root):
        if s.number > max_steps:
            raise ValueError(f"render_steps: more than max_steps={max_steps} steps; raise max_steps to draw them all")
        highlight = {n: "#bbf7d0" for n in done}
        highlight.update({s.node: "#fdba74", s.parent: "#fde047"})
        done.add(s.node)
        dot = to_dot(root, edge_derivatives=False, highlight=highlight, **options)
        p, n = _name(s.parent, index), _name(s.node, index)
        caption = (f"step {s.number} [{s.rule}]: {p}.grad += {n}.grad * d{n}/d{p} = "
                   f"{_fmt(s.upstream)} * {_fmt(s.local)} = {_fmt(s.contribution)}")
        dot.attr(label=f"<{_text(caption, limit=300)}>", labelloc="t", labeljust="l")
        source = dot.source
        paths.append(write_dot(source, out_dir / f"step_{s.number:03d}.{fmt}"))
    return paths


# The stepper page (to_html, stepper) lives in its own module with its assets in autograd/assets.
from .stepper import stepper, to_html  # noqa: E402,F401
