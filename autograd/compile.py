"""Compile a recorded graph into straight-line Python for repeated steps on a fixed shape.

``compile_graph(root, inputs)`` returns a callable that, each call, reads the inputs' ``.data``,
recomputes the root's value, adds the gradients into the inputs' ``.grad`` and returns the value,
without building Values. Other leaves and constants are baked in as numbers. The generated code is
in ``.source``, one line per node (``v3 = v1 * v2  # n3 mul``), so a person can read it and step
through it; the arithmetic mirrors the engine's forward ops and rules, so the gradients equal the
eager engine's.
"""

from __future__ import annotations

import math

from . import rules
from .engine import Value, _check_value, _pow
from .graph import operands, toposort
from .ops import apply

__all__ = ["compile_graph", "CompiledGraph"]


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# op -> forward expression over operand texts a, b
FORWARD = {
    "add": "{a} + {b}", "sub": "{a} - {b}", "mul": "{a} * {b}", "div": "{a} / {b}", "neg": "-{a}",
    "abs": "abs({a})", "exp": "_exp({a})", "log": "_log({a})", "sqrt": "_sqrt({a})", "tanh": "_tanh({a})",
    "sigmoid": "_sigmoid({a})", "relu": "({a} if {a} > 0.0 else 0.0)", "sin": "_sin({a})", "cos": "_cos({a})",
    "pow": "_pow({a}, {b}, {b_is_value})",
}
# op -> one expression per operand for its contribution, over g (upstream), a, b, out; written to
# compute exactly what the rule in autograd/rules.py computes. Ops not listed call their rule.
BACKWARD = {
    "add": ("{g}", "{g}"),
    "sub": ("{g}", "-{g}"),
    "mul": ("{g} * {b}", "{g} * {a}"),
    "div": ("{g} / {b}", "-({g} / {b}) * {out}"),
    "neg": ("-{g}",),
    "exp": ("{g} * {out}",),
    "log": ("{g} / {a}",),
    "tanh": ("{g} * (1.0 - {out} * {out})",),
    "sigmoid": ("{g} * {out} * (1.0 - {out})",),
    "relu": ("{g} * (1.0 if {a} > 0.0 else 0.0)",),
}


class CompiledGraph:
    """The compiled step: call it with no arguments; ``source`` is the generated code."""

    def __init__(self, source: str, function, lines: dict, calls: dict, inputs: tuple) -> None:
        self.source = source
        self._function = function
        self._lines = lines  # line number in source -> node index
        # node index -> (op, operands as local index (int) or number): enough to explain a failure
        # without keeping the recorded graph alive (its Values would burden the garbage collector)
        self._calls = calls
        self.inputs = inputs

    def __call__(self) -> float:
        try:
            return self._function(self.inputs)
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            raise self._explain(e) from None

    def _explain(self, error: Exception) -> Exception:
        """Re-raise a failure as the engine's own error for that op, naming the node."""
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "<chainrule compiled>":
            tb = tb.tb_next
        if tb is None:
            return error
        i = self._lines.get(tb.tb_lineno)
        if i is None:
            return type(error)(f"compiled graph: {error}")
        (op, spec), local = self._calls[i], tb.tb_frame.f_locals
        args = [a if type(a) is float else local[f"v{a}"] for a in spec]
        try:
            apply(op, *[Value(a) for a in args])
        except (ValueError, ZeroDivisionError, OverflowError) as clear:
            return type(clear)(f"{clear} (compiled graph, node n{i})")
        return type(error)(f"compiled graph, node n{i} ({op}): {error}")

    def __repr__(self) -> str:
        return f"<CompiledGraph: {len(self._calls)} ops, {len(self.inputs)} inputs>"


def _literal(x: float) -> str:
    return repr(x) if x >= 0 or math.isnan(x) else f"({x!r})"


def compile_graph(root: Value, inputs) -> CompiledGraph:
    """Compile the graph behind ``root`` for repeated calls; ``inputs`` are the leaves to read and
    to give gradients (for example ``model.parameters()``)."""
    _check_value(root, "compile_graph")
    if isinstance(inputs, Value) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"compile_graph: inputs must be a sequence of leaf Values, got {type(inputs).__name__}")
    inputs = tuple(inputs)
    position = {}
    for k, x in enumerate(inputs):
        _check_value(x, f"compile_graph: inputs[{k}]")
        if x.op:
            raise ValueError(f"compile_graph: inputs[{k}] ({x.label or 'unlabelled'}) is not a leaf but the "
                             f"result of {x.op!r}; pass the leaves whose .data changes between calls")
        position.setdefault(x, k)
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    uses: dict = {}  # how many times each node is an operand
    for i, node in enumerate(order):
        if node.op and node.op not in FORWARD:
            raise ValueError(f"compile_graph: node n{i} uses op {node.op!r}, which the compiler does not know")
        for a in operands(node):
            if type(a) is not float:
                uses[a] = uses.get(a, 0) + 1

    def value(x) -> str:
        if type(x) is float:
            return _literal(x)
        if not x.op and x not in position:
            return _literal(x.data)  # a leaf that is not an input: baked in
        return f"v{index[x]}"

    lines = ["def step(_inputs):"]
    line_of = {}
    calls = {i: (node.op, tuple(a if type(a) is float else index[a] if a.op or a in position else a.data
                                for a in operands(node)))
             for i, node in enumerate(order) if node.op}
    used = sorted({position[n] for n in order if n in position})
    if used:
        lines.append(f"    {', '.join(f'i{k}' for k in range(len(inputs)))}{',' if len(inputs) == 1 else ''} = _inputs")
        lines += [f"    v{index[inputs[k]]} = i{k}.data" for k in used]
    for i, node in enumerate(order):
        if not node.op:
            continue
        ops = operands(node)
        text = FORWARD[node.op].format(a=value(ops[0]), b=value(ops[1]) if len(ops) > 1 else "",
                                       b_is_value=len(ops) > 1 and type(ops[1]) is not float)
        lines.append(f"    v{i} = {text}  # n{i} {node.op}")
        line_of[len(lines)] = i
    # Backward: reverse topological order; each gradient is a local, aliased when it is just a copy.
    gname = {root: "g_root"}
    lines.append("    g_root = 1.0")
    assigned = set()
    for i in range(len(order) - 1, -1, -1):
        node = order[i]
        if not node.op or node not in gname:
            continue
        g, ops = gname[node], operands(node)
        fill = {"g": g, "a": value(ops[0]), "b": value(ops[1]) if len(ops) > 1 else "", "out": f"v{i}"}
        if node.op in BACKWARD:
            exprs = [e.format(**fill) for e in BACKWARD[node.op]]
        else:
            args = ", ".join([fill["a"]] + ([fill["b"]] if len(ops) > 1 else []))
            lines.append(f"    t{i} = _rule_{node.op}({g}, {args}, v{i})")
            line_of[len(lines)] = i
            exprs = [f"t{i}[{k}]" for k in range(len(ops))]
        for k, (parent, expr) in enumerate(zip(ops, exprs)):
            if type(parent) is float or (not parent.op and parent not in position):
                continue
            if parent not in gname and expr == g and uses[parent] == 1:
                gname[parent] = g  # add/sub pass the gradient through unchanged: no code
                continue
            name = gname.setdefault(parent, f"g{index[parent]}")
            if name in assigned:
                lines.append(f"    {name} = {name} + {expr}")
            else:
                lines.append(f"    {name} = {expr}")
                assigned.add(name)
            line_of[len(lines)] = i
    for k in used:
        if inputs[k] in gname:
            lines.append(f"    i{k}.grad += {gname[inputs[k]]}")
    lines.append(f"    return v{index[root]}" if root.op or root in position else f"    return {value(root)}")
    source = "\n".join(lines) + "\n"
    namespace = {"_exp": math.exp, "_log": math.log, "_sqrt": math.sqrt, "_tanh": math.tanh, "_sin": math.sin,
                 "_cos": math.cos, "_sigmoid": _sigmoid, "_pow": _pow, "inf": math.inf, "nan": math.nan}
    namespace.update({f"_rule_{op}": rule for op, rule in rules.RULES.items()})
    exec(compile(source, "<chainrule compiled>", "exec"), namespace)
    return CompiledGraph(source, namespace["step"], line_of, calls, inputs)
