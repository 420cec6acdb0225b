"""Compile a recorded graph into straight-line Python for repeated steps on a fixed shape.

``compile_graph(root, inputs, feeds=())`` returns a callable that, each call, reads the inputs' and
feeds' ``.data``, recomputes the root's value, adds the gradients into the inputs' ``.grad`` and
returns the value, without building Values. Other leaves and constants are baked in as numbers. The
generated code is in ``.source``, one line per node (``v3 = v1 * v2  # n3 mul``), so a person can
read it and step through it. Each op's code comes from the op table: its ``compile`` templates
where it has them (written to compute exactly what its rule computes), else calls of its forward
and its rule, so user ops compile too and the gradients equal the eager engine's.
"""

from __future__ import annotations

import math
import re

from .engine import Value, apply, as_value
from .graph import operands, toposort
from .ops import OPS, RULES

__all__ = ["compile_graph", "CompiledGraph"]

CHUNK = 20000  # nodes per generated function: Python's compiler needs memory per function, not per module


class CompiledGraph:
    """The compiled step: call it with no arguments; ``source`` is the generated code."""

    def __init__(self, fast: list, careful: list, lines: dict, calls: dict, inputs: tuple, feeds: tuple) -> None:
        self.source = "".join(text for _, text in fast)
        self._function = _link(fast)
        self._careful = careful  # its parts' source, compiled on first need (see __call__)
        self._lines = lines  # (file name, line number) -> node index
        # node index -> (op, operands as local index (int) or number): enough to explain a failure
        # without keeping the recorded graph alive (its Values would burden the garbage collector)
        self._calls = calls
        self.inputs = inputs
        self.feeds = feeds

    def __call__(self) -> float:
        try:
            value, grads = self._function(self.inputs, self.feeds)
            if not math.isfinite(sum(grads)):
                # Something is infinite or NaN: run the careful version, where (as in the engine) a
                # node whose upstream gradient is 0 contributes nothing, so 0 * inf never becomes nan.
                if type(self._careful) is list:
                    self._careful = _link(self._careful)
                value, grads = self._careful(self.inputs, self.feeds)
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            raise self._explain(e) from None
        for x, g in zip(self.inputs, grads):
            x.grad += g
        return value

    def _explain(self, error: Exception) -> Exception:
        """Re-raise a failure as the engine's own error for that op, naming the node."""
        tb = error.__traceback__
        while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<chainrule compiled"):
            tb = tb.tb_next
        if tb is None:
            return error
        i = self._lines.get((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        if i is None:
            return type(error)(f"compiled graph: {error}")
        (op, spec), local = self._calls[i], tb.tb_frame.f_locals
        args = [a if type(a) is float else local.get(f"v{a}", math.nan) for a in spec]
        try:
            apply(op, *[Value(a) for a in args])
        except (ValueError, ZeroDivisionError, OverflowError) as clear:
            return type(clear)(f"{clear} (compiled graph, node n{i})")
        return type(error)(f"compiled graph, node n{i} ({op}): {error}")

    def __repr__(self) -> str:
        return f"<CompiledGraph: {len(self._calls)} ops, {len(self.inputs)} inputs, {len(self.feeds)} feeds>"


def _literal(x: float) -> str:
    return repr(x) if x >= 0 or math.isnan(x) else f"({x!r})"


def _leaves(where: str, xs, what: str) -> tuple:
    if isinstance(xs, Value) or not hasattr(xs, "__iter__"):
        raise TypeError(f"compile_graph: {where} must be a sequence of leaf Values, got {type(xs).__name__}")
    xs = tuple(xs)
    for k, x in enumerate(xs):
        as_value(x, f"compile_graph: {where}[{k}]")
        if x.op:
            raise ValueError(f"compile_graph: {where}[{k}] ({x.label or 'unlabelled'}) is not a leaf but the "
                             f"result of {x.op!r}; pass the leaves {what}")
    return xs


def compile_graph(root: Value, inputs, feeds=()) -> CompiledGraph:
    """Compile the graph behind ``root`` for repeated calls; ``inputs`` are the leaves to read and
    to give gradients (for example ``model.parameters()``), ``feeds`` leaves only read at each call
    (a mini-batch's inputs: one compiled step serves every batch of the same size)."""
    as_value(root, "compile_graph")
    inputs = _leaves("inputs", inputs, "whose .data changes between calls")
    feeds = _leaves("feeds", feeds, "whose .data you set before each call")
    position = {}
    for k, x in enumerate(inputs):
        position.setdefault(x, k)
    fed = {}
    for k, x in enumerate(feeds):
        if x in position:
            raise ValueError(f"compile_graph: feeds[{k}] ({x.label or 'unlabelled'}) is also an input; "
                             "a leaf either receives a gradient (inputs) or not (feeds)")
        fed.setdefault(x, k)
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    uses: dict = {}  # how many times each node is an operand
    for i, node in enumerate(order):
        if node.op and node.op not in OPS:
            raise ValueError(f"compile_graph: node n{i} uses op {node.op!r}, which the op table does not know")
        for a in operands(node):
            if type(a) is not float:
                uses[a] = uses.get(a, 0) + 1
    calls = {i: (node.op, tuple(a if type(a) is float else index[a] if a.op or a in position or a in fed
                                else a.data for a in operands(node)))
             for i, node in enumerate(order) if node.op}
    lines: dict = {}
    fast, careful = (_parts(_generate(order, index, uses, position, fed, inputs, root, c), c, lines)
                     for c in (False, True))
    return CompiledGraph(fast, careful, lines, calls, inputs, feeds)


def _generate(order, index, uses, position, fed, inputs, root, careful) -> list:
    """The step's statements, each with the node it belongs to (or None). Careful: every node's backward runs only if its gradient is
    nonzero (the engine's rule for 0 * inf), at some cost in speed."""
    def value(x) -> str:
        if type(x) is float:
            return _literal(x)
        if not x.op and x not in position and x not in fed:
            return _literal(x.data)  # a leaf that is neither input nor feed: baked in
        return f"v{index[x]}"

    body = []  # (statement, node index or None)
    used = sorted({position[n] for n in order if n in position})
    body += [(f"v{index[inputs[k]]} = _inputs[{k}].data", None) for k in used]
    body += [(f"v{index[x]} = _feeds[{k}].data", None) for x, k in fed.items() if x in index]
    for i, node in enumerate(order):
        if not node.op:
            continue
        spec, ops = OPS[node.op], operands(node)
        args = [value(a) for a in ops]
        if node.op == "pow" and type(ops[1]) is not float:
            text = f"_pow_value({args[0]}, {args[1]})"
        elif spec.compile:
            text = spec.compile[0].format(a=args[0], b=args[1] if len(args) > 1 else "")
        else:
            text = f"_f_{node.op}({', '.join(args)})"
        body.append((f"v{i} = {text}  # n{i} {node.op}", i))
    # Backward: reverse topological order; each gradient is a local, aliased when it is just a copy.
    gname = {root: "g_root"}
    body.append(("g_root = 1.0", None))
    assigned = {"g_root"}
    if careful:
        for n in order:
            if n.op or n in position:
                gname[n] = "g_root" if n is root else f"g{index[n]}"
                if n is not root:
                    body.append((f"{gname[n]} = 0.0", None))
                    assigned.add(gname[n])
    for i in range(len(order) - 1, -1, -1):
        node = order[i]
        if not node.op or node not in gname:
            continue
        g, ops, spec = gname[node], operands(node), OPS[node.op]
        fill = {"g": g, "a": value(ops[0]), "b": value(ops[1]) if len(ops) > 1 else "", "out": f"v{i}"}
        indent = "    " if careful else ""
        if careful:
            body.append((f"if {g} != 0.0:", None))
            header = len(body)
        if spec.compile:
            exprs = [e.format(**fill) for e in spec.compile[1]]
        else:
            args = ", ".join([fill["a"]] + ([fill["b"]] if len(ops) > 1 else []))
            body.append((f"{indent}t{i} = _rule_{node.op}({g}, {args}, v{i})", i))
            exprs = [f"t{i}[{k}]" for k in range(len(ops))]
        for k, (parent, expr) in enumerate(zip(ops, exprs)):
            if type(parent) is float or (not parent.op and parent not in position):
                continue
            if not careful and parent not in gname and expr == g and uses[parent] == 1:
                gname[parent] = g  # add/sub pass the gradient through unchanged: no code
                continue
            name = gname.setdefault(parent, f"g{index[parent]}")
            if name in assigned:
                body.append((f"{indent}{name} = {name} + {expr}", i))
            else:
                body.append((f"{indent}{name} = {expr}", i))
                assigned.add(name)
        if careful and len(body) == header:
            body.append((f"{indent}pass", None))
    grads = ", ".join(gname[inputs[k]] if inputs[k] in gname else "0.0" for k in range(len(inputs)))
    result = f"v{index[root]}" if root.op or root in position or root in fed else value(root)
    body.append((f"return {result}, ({grads}{',' if len(inputs) == 1 else ''})", None))
    return body


def _parts(body: list, careful: bool, lines: dict) -> list:
    """[(file name, source), ...]: one function for a graph up to CHUNK nodes; beyond, a chain of
    functions of CHUNK statements each, handing their locals on in a dict (Python's compiler needs
    memory by the gigabyte for one function of 10^6 lines). Records each line's node in ``lines``."""
    tag = "careful" if careful else "fast"
    if len(body) <= CHUNK:
        filename = f"<chainrule compiled {tag}>"
        for n, (_, i) in enumerate(body, start=2):
            if i is not None:
                lines[filename, n] = i
        return [(filename, "def step(_inputs, _feeds):\n" + "".join(f"    {s}\n" for s, _ in body))]
    chunks, current = [], []
    for n, statement in enumerate(body):
        current.append(statement)  # a statement inside an `if` block stays with its block
        if len(current) >= CHUNK and n + 1 < len(body) and not body[n + 1][0].startswith(" "):
            chunks.append(current)
            current = []
    chunks.append(current)
    parts = []
    for p, chunk in enumerate(chunks):
        names = sorted({w for s, _ in chunk for w in re.findall(r"\b[vgt]\d+\b|\bg_root\b", s)})
        text = [f"def step(_inputs, _feeds, _s):"] + [f"    {n} = _s.get({n!r})" for n in names]
        filename = f"<chainrule compiled {tag} part {p}>"
        for n, (_, i) in enumerate(chunk, start=len(text) + 1):
            if i is not None:
                lines[filename, n] = i
        text += [f"    {s}" for s, _ in chunk]
        if p < len(chunks) - 1:
            text += [f"    _s[{n!r}] = {n}" for n in names]
        parts.append((filename, "\n".join(text) + "\n"))
    return parts


def _link(parts: list):
    """Compile the parts into one callable step(inputs, feeds)."""
    namespace = {"inf": math.inf, "nan": math.nan, "_pow_value": _pow_value}
    namespace.update({f"_rule_{op}": rule for op, rule in RULES.items()})
    namespace.update({f"_f_{key}": op.forward for key, op in OPS.items()})
    functions = []
    for filename, source in parts:
        exec(compile(source, filename, "exec"), namespace)
        functions.append(namespace.pop("step"))
    if len(functions) == 1:
        return functions[0]
    *first, last = functions

    def step(inputs, feeds):
        s: dict = {}
        for f in first:
            f(inputs, feeds, s)
        return last(inputs, feeds, s)

    return step


def _pow_value(x: float, y: float) -> float:
    """x ** y when the exponent is a node: the engine's error for a negative base, as there."""
    if x < 0.0:
        raise ValueError(f"pow: base {x!r} is negative and the exponent is a Value, whose derivative "
                         f"log(base) is undefined there; use a number as the exponent")
    return OPS["pow"].forward(x, y)
