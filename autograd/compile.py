"""Compile a recorded graph into straight-line Python for repeated steps on a fixed shape.

``compile_graph(root, inputs, feeds=())`` returns a callable that, each call, reads the inputs' and
feeds' ``.data``, recomputes the root's value, adds the gradients into the inputs' ``.grad`` and
returns the value, without building Values. Other leaves and constants are baked in as numbers. The
generated code is in ``.source``, one line per node (``v3 = v1 * v2  # n3 mul``), so a person can
read it and step through it. Each op's code comes from the op table: its ``compile`` templates
where it has them (written to compute exactly what its rule computes), else calls of its forward
and its rule, so user ops compile too and the gradients equal the eager engine's. The code calls an
op by a generated name (``_f3``, ``_r3``), never by its key: a key is any identifier the user chose
(``'ｅxp'`` would read as ``exp`` once Python normalises it, ``'g0'`` is a local), so it appears
only in comments.
"""

from __future__ import annotations

import math
import re
from array import array
from itertools import chain, islice

from .engine import Value, apply, as_number, as_value, backward_rules, contributions, forward_of, named_error
from .graph import operands, toposort
from .ops import OPS

__all__ = ["compile_graph", "CompiledGraph"]

NAME = re.compile(r"\b[vgt]\d+\b|\bg_root\b")  # the locals of generated code
GRADIENT = re.compile(r"\bg(?:\d+|_root)\b")  # a gradient local: the line belongs to the backward pass
UPSTREAM = re.compile(r"= _r\w*\((g\d+|g_root),")  # a rule's call: its upstream gradient comes first
PART = "<chainrule compiled part "  # generated functions' file names: PART + "3>"
COMMENT = re.compile(r"#[^\n]*")  # where an op's key is written: never scanned for locals
CHUNK = 250_000  # statements in one generated function (a moons step has about 170,000)
SMALL_CHUNK = 20_000  # statements per function when a graph is bigger than that


class Tape:
    """The recorded graph as plain numbers (no Values): each node's op key and operands, where an
    operand is a node index (>= 0) or a constant (~k: ``consts[k]``); a leaf reads an input, a
    feed or its baked number. Enough to explain a failure and to replay the engine's own pass."""

    def __init__(self, order: list, index: dict, position: dict, fed: dict) -> None:
        self.ops = [node.op for node in order]
        self.consts = array("d")
        self.a, self.b = array("q"), array("q")
        self.leaves = {}  # node index -> ("input" | "feed", k) or ("const", number)
        for i, node in enumerate(order):
            ops = operands(node)
            for slot, k in ((self.a, 0), (self.b, 1)):
                x = ops[k] if k < len(ops) else None
                if x is None:
                    slot.append(NONE)
                elif type(x) is float:
                    self.consts.append(x)
                    slot.append(~(len(self.consts) - 1))
                else:
                    slot.append(index[x])
            if not node.op:
                self.leaves[i] = ("input", position[node]) if node in position else \
                    ("feed", fed[node]) if node in fed else ("const", node.data)

    def refs(self, i: int) -> list:
        """Node i's operand references (node index, or ~k for ``consts[k]``)."""
        return [r for r in (self.a[i], self.b[i]) if r != NONE]

    def args(self, i: int, values) -> list:
        """Node i's operands as numbers, given every node's value (a mapping or a list)."""
        return [values[r] if r >= 0 else self.consts[~r] for r in self.refs(i)]

    def replay(self, inputs: tuple, feeds: tuple) -> tuple:
        """(value, input gradients) by the engine's own rules, forward then reverse, skipping a
        node whose upstream gradient is 0 as ``backward`` does: the careful path, slow but exact."""
        n = len(self.ops)
        values = [0.0] * n
        rules = backward_rules()
        for i, op in enumerate(self.ops):
            if op:
                values[i] = forward_of(OPS[op])(*self.args(i, values))
            else:
                kind, x = self.leaves[i]
                values[i] = inputs[x].data if kind == "input" else feeds[x].data if kind == "feed" else x
        grads = [0.0] * n
        grads[-1] = 1.0
        for i in range(n - 1, -1, -1):
            g, op = grads[i], self.ops[i]
            if g == 0.0 or not op:
                continue
            for r, c in zip(self.refs(i), rules[op](g, *self.args(i, values), values[i])):
                if r >= 0:
                    grads[r] += c
        totals = [0.0] * len(inputs)
        for i, (kind, k) in self.leaves.items():
            if kind == "input":
                totals[k] = grads[i]  # an input appears once in the graph
        return values[-1], totals


NONE = -(2 ** 62)  # an empty operand slot


class CompiledGraph:
    """The compiled step: call it with no arguments; ``source`` is the generated code."""

    def __init__(self, function, parts: list, tape: Tape, inputs: tuple, feeds: tuple, given: dict) -> None:
        self._function = function
        self._sources = [source for _, source, _ in parts]
        self._lines = {name: nodes for name, _, nodes in parts}  # node index per line (-1: none)
        self._tape = tape  # no Values: dropping the graph frees it (its Values burden the collector)
        self.inputs = inputs
        self.feeds = feeds
        self._leaves = inputs + feeds
        self._given = given  # each leaf's name in the user's call, for errors: "feeds[3] (x1)"

    @property
    def source(self) -> str:
        """The generated Python, one line per node (joined when asked: 10^6 nodes make 80 MB)."""
        return "".join(self._sources)

    def __call__(self) -> float:
        for x in self._leaves:
            if type(x.data) is not float:
                self._read_numbers()
                break
        try:
            value, grads = self._function(self.inputs, self.feeds)
            if not math.isfinite(sum(grads)):
                # Something is infinite or NaN: replay the engine's pass, where a node whose
                # upstream gradient is 0 contributes nothing, so 0 * inf never becomes nan.
                value, grads = self._tape.replay(self.inputs, self.feeds)
        except Exception as e:  # noqa: BLE001 - a user op's forward or rule may raise anything
            clear = self._explain(e)
            raise clear from (None if type(clear) is type(e) else e)  # a KeyError's own traceback helps
        for x, g in zip(self.inputs, grads):
            x.grad += g
        return value

    def _read_numbers(self) -> None:
        """Store every input's and feed's data as the float ``Value()`` would have made of it
        (numpy scalars included), or fail naming the leaf: inside the step, as in the engine,
        data is a Python float (np.int64 arithmetic would wrap around, np.float32 would round)."""
        for x in self._leaves:
            if type(x.data) is not float:
                x.data = as_number(x.data, f"compiled step: {self._given[x]}.data")

    def _explain(self, error: Exception) -> Exception:
        """The failure as the engine's own error for that node's forward or rule, naming the node."""
        tb = error.__traceback__
        while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(PART):
            tb = tb.tb_next
        if tb is None:
            return error
        filename, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        numbers = self._lines.get(filename, ())
        i = numbers[line] if line < len(numbers) else -1
        if i < 0:
            return named_error(error, f"compiled graph: {error}")
        local, tape, where = tb.tb_frame.f_locals, self._tape, f" (compiled graph, node n{i})"
        refs, op = tape.refs(i), tape.ops[i]
        args = tape.args(i, {r: local.get(f"v{r}", math.nan) for r in refs if r >= 0})
        text = self._sources[int(filename[len(PART):-1])].splitlines()[line - 1].split("  #")[0]
        in_rule = GRADIENT.search(text) is not None  # only the backward pass's lines name gradients
        try:  # the same step in the engine: its forward, then (if that is where it failed) its rule
            node = apply(op, *[Value(a) if r >= 0 else a for r, a in zip(refs, args)])
            if in_rule:
                upstream = UPSTREAM.search(text)
                contributions(node, local.get(upstream.group(1), 1.0) if upstream else 1.0)
        except Exception as clear:  # noqa: BLE001 - the engine's error, which names the op
            said = clear.args[0] if len(clear.args) == 1 and isinstance(clear.args[0], str) else str(clear)
            if said.startswith(op):  # (a KeyError's str quotes its message)
                return named_error(clear, f"{said}{where}")
            error = clear
        at = ", ".join(f"{n} = {a!r}" for n, a in zip("xy", args))
        what = f"{op}_backward" if in_rule else f"{op}: forward"
        return named_error(error, f"{what} raised {type(error).__name__} at {at}: {error}{where}")

    def __repr__(self) -> str:
        ops = sum(1 for op in self._tape.ops if op)
        return f"<CompiledGraph: {ops} ops, {len(self.inputs)} inputs, {len(self.feeds)} feeds>"


def _literal(x: float) -> str:
    return repr(x) if x >= 0 or math.isnan(x) else f"({x!r})"


def _leaves(where: str, xs, what: str, given: dict) -> tuple:
    """The leaves in ``xs``, each once (first place kept), named in ``given``; clear errors for the rest."""
    if isinstance(xs, Value) or not hasattr(xs, "__iter__"):
        raise TypeError(f"compile_graph: {where} must be a sequence of leaf Values, got {type(xs).__name__}")
    xs = tuple(xs)
    kept = []
    for k, x in enumerate(xs):
        as_value(x, f"compile_graph: {where}[{k}]")
        name = f"{where}[{k}] ({x.label or 'unlabelled'})"
        if x.op:
            raise ValueError(f"compile_graph: {name} is not a leaf but the result of {x.op!r}; pass the leaves {what}")
        if x in given:
            if not given[x].startswith(where):
                raise ValueError(f"compile_graph: {name} is also {given[x]}; a leaf either receives a "
                                 "gradient (inputs) or not (feeds)")
            continue
        given[x] = name
        kept.append(x)
    return tuple(kept)


def compile_graph(root: Value, inputs, feeds=()) -> CompiledGraph:
    """Compile the graph behind ``root`` for repeated calls; ``inputs`` are the leaves to read and
    to give gradients (for example ``model.parameters()``; one listed twice gets its gradient once,
    as from backward), ``feeds`` leaves only read at each call (a mini-batch's inputs: one compiled
    step serves every batch of the same size)."""
    as_value(root, "compile_graph")
    given: dict = {}  # each leaf's first place in the call: an input listed twice gets its gradient once
    inputs = _leaves("inputs", inputs, "whose .data changes between calls", given)
    feeds = _leaves("feeds", feeds, "whose .data you set before each call", given)
    position = {x: k for k, x in enumerate(inputs)}
    fed = {x: k for k, x in enumerate(feeds)}
    order = toposort(root)
    index = {node: i for i, node in enumerate(order)}
    uses = array("i", bytes(4 * len(order)))  # how many times each node is an operand
    for i, node in enumerate(order):
        if node.op and node.op not in OPS:
            raise ValueError(f"compile_graph: node n{i} uses op {node.op!r}, which the op table does not know")
        for a in operands(node):
            if type(a) is not float:
                uses[index[a]] += 1
    tape = Tape(order, index, position, fed)
    slot = {key: k for k, key in enumerate(OPS)}  # op key -> the number of its generated names
    parts = _parts(_statements(order, index, uses, position, fed, inputs, root, slot))
    del order, index, uses  # before compiling the parts: on 10^6 nodes the index alone is 80 MB
    return CompiledGraph(_link(parts, slot), parts, tape, inputs, feeds, given)


def _statements(order, index, uses, position, fed, inputs, root, slot):
    """The step's statements, one at a time (a graph of 10^6 nodes makes millions), each with the
    node it belongs to (or -1). Op ``key`` is called as ``_f{slot[key]}`` and ``_r{slot[key]}``."""
    def value(x) -> str:
        if type(x) is float:
            return _literal(x)
        if not x.op and x not in position and x not in fed:
            return _literal(x.data)  # a leaf that is neither input nor feed: baked in
        return f"v{index[x]}"

    for k in sorted({position[n] for n in order if n in position}):
        yield f"v{index[inputs[k]]} = _inputs[{k}].data", -1
    for x, k in fed.items():
        if x in index:
            yield f"v{index[x]} = _feeds[{k}].data", -1
    for i, node in enumerate(order):
        if not node.op:
            continue
        spec, ops = OPS[node.op], operands(node)
        args = [value(a) for a in ops]
        if node.op == "pow" and type(ops[1]) is not float:
            text = f"_pow_value({args[0]}, {args[1]})"
        elif spec.compile:
            text = spec.compile[0].format(a=args[0], b=args[1] if len(args) > 1 else "", f=f"_f{slot[node.op]}")
        else:
            text = f"_f{slot[node.op]}({', '.join(args)})"
        yield f"v{i} = {text}  # n{i} {node.op}", i
    # Backward: reverse topological order; each gradient is a local, aliased when it is just a copy.
    n, top = len(order), index[root]
    holder = array("q", [-1]) * n  # the node whose gradient local holds node i's gradient
    assigned = bytearray(n)
    holder[top], assigned[top] = top, 1

    def gname(k: int) -> str:
        return "g_root" if k == top else f"g{k}"

    yield "g_root = 1.0", -1
    for i in range(n - 1, -1, -1):
        node = order[i]
        if not node.op or holder[i] < 0:
            continue
        g, ops, spec = gname(holder[i]), operands(node), OPS[node.op]
        fill = {"g": g, "a": value(ops[0]), "b": value(ops[1]) if len(ops) > 1 else "", "out": f"v{i}"}
        if spec.compile:
            exprs = [e.format(**fill) for e in spec.compile[1]]
        else:
            args = ", ".join([fill["a"]] + ([fill["b"]] if len(ops) > 1 else []))
            yield f"t{i} = _r{slot[node.op]}({g}, {args}, v{i})  # {node.op}_backward", i
            exprs = [f"t{i}[{k}]" for k in range(len(ops))]
        for parent, expr in zip(ops, exprs):
            if type(parent) is float or (not parent.op and parent not in position):
                continue
            p = index[parent]
            if holder[p] < 0 and expr == g and uses[p] == 1:
                holder[p] = holder[i]  # add/sub pass the gradient through unchanged: no code
                continue
            if holder[p] < 0:
                holder[p] = p
            name = gname(holder[p])
            if assigned[holder[p]]:
                yield f"{name} = {name} + {expr}", i
            else:
                yield f"{name} = {expr}", i
                assigned[holder[p]] = 1
    grads = ", ".join(gname(holder[index[x]]) if x in index and holder[index[x]] >= 0 else "0.0" for x in inputs)
    result = f"v{top}" if root.op or root in position or root in fed else value(root)
    yield f"return {result}, ({grads}{',' if len(inputs) == 1 else ''})", -1


def _parts(statements) -> list:
    """[(file name, source, node of each line), ...]: one function of up to CHUNK statements;
    beyond, a chain of functions of SMALL_CHUNK statements, handing on in a dict the locals a later
    one mentions (Python's compiler needs memory by the gigabyte for one function of 10^6 lines).
    Statements are consumed as they come and kept only as text."""
    statements = iter(statements)
    first = list(islice(statements, CHUNK + 1))
    if len(first) <= CHUNK:
        return [_part(0, "def step(_inputs, _feeds):", (), _body(first), ())]
    # Pass 1: each chunk's text, and for every local the first and the last chunk that mention it.
    marks = {kind: array("i") for kind in "vgtr"}  # per kind of local, per number: first, last
    bodies = []
    chunks = chain(first, statements)
    del first
    while chunk := list(islice(chunks, SMALL_CHUNK)):
        body = _body(chunk)
        for kind, k in map(_slot, _locals(body[0])):
            m = marks[kind]
            if len(m) <= 2 * k:
                m.extend([-1] * (2 * k + 2 - len(m)))
            if m[2 * k] < 0:
                m[2 * k] = len(bodies)
            m[2 * k + 1] = len(bodies)
        bodies.append(body)
    # Pass 2: each function loads what an earlier one set and stores what a later one reads.
    parts = []
    for p, body in enumerate(bodies):
        loads, stores = [], []
        for name in sorted(_locals(body[0])):
            kind, k = _slot(name)
            if marks[kind][2 * k] < p:
                loads.append(name)
            if marks[kind][2 * k + 1] > p:
                stores.append(name)
        parts.append(_part(p, "def step(_inputs, _feeds, _s):", loads, body, stores))
        bodies[p] = None
    return parts


def _locals(text: str) -> set:
    """The generated locals that code mentions (comments, which name ops, left out)."""
    return set(NAME.findall(COMMENT.sub("", text)))


def _body(chunk: list) -> tuple:
    """Statements as indented lines of text, and the node of each line."""
    return "".join(f"    {s}\n" for s, _ in chunk), array("i", [i for _, i in chunk])


def _slot(name: str) -> tuple:
    """A local's kind and number (v12 -> ("v", 12)); g_root is the one local of kind r."""
    return ("r", 0) if name == "g_root" else (name[0], int(name[1:]))


def _part(p: int, head: str, loads, body: tuple, stores) -> tuple:
    """One function's (file name, source, node of each line, from line 0)."""
    text, nodes = body
    top = [head] + [f"    {n} = _s[{n!r}]" for n in loads]
    source = "\n".join(top) + "\n" + text + "".join(f"    _s[{n!r}] = {n}\n" for n in stores)
    return f"{PART}{p}>", source, array("i", [-1]) * (len(top) + 1) + nodes


def _link(parts: list, slot: dict):
    """Compile the parts into one callable step(inputs, feeds). A user op's forward and rule are
    the engine's checked ones (an error names the op and its input, as in backward)."""
    namespace = {"inf": math.inf, "nan": math.nan, "_pow_value": _pow_value}
    rules = backward_rules()
    for key, k in slot.items():
        namespace[f"_f{k}"] = forward_of(OPS[key])
        namespace[f"_r{k}"] = rules[key]
    functions = []
    for filename, source, _ in parts:
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
