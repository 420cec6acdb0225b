"""The op table: one record per op, read by everything that needs to know an op.

An ``Op`` holds an op's key, its arity, its forward on floats (with the domain check whose error
names the op and the input), its named backward rule, where it is safe to test, its kinks, how it
prints, and optionally a faster template for ``compile_graph``. The built-in ops are declared in
``autograd/rules.py``, one block each; users add their own with ``autograd.define_op``. The
engine's methods, ``compile``, the command line, ``strategies``, ``gradcheck``, ``trace`` and
``viz`` all read ``OPS``; ``RULES`` (also ``autograd.rules.RULES``) maps each key to its rule.

This module imports nothing from the engine, so the engine can build on it.
"""

from __future__ import annotations

import keyword
import math
from dataclasses import dataclass
from typing import Callable

__all__ = ["Op", "Forms", "OPS", "RULES", "register", "call_text", "ATOM", "fmt", "page_ops"]


@dataclass(frozen=True)
class Forms:
    """An op in the pages' small expression language, for a page that recomputes it offline
    (``autograd/assets/ops.js`` evaluates it; its header defines the language): ``forward`` in x
    (and y), one local derivative per input in x, y and out, and the domain checks, in order, as
    (condition, exception name, message with {x} and {y} as Python's repr), the engine's own error
    (``rules.refusal`` raises it), e.g. ``("x <= 0", "ValueError", "log: undefined for x <= 0, got x = {x}")``."""

    forward: str
    partials: tuple
    errors: tuple = ()

    def message(self, k: int, *xs: float) -> str:
        """Check ``k``'s error message at inputs ``xs``, as the engine words it."""
        return self.errors[k][2].format(**{name: repr(x) for name, x in zip("xy", xs)})


@dataclass(frozen=True)
class Op:
    """One op. ``forward(*xs)`` takes floats; ``rule(g, *xs, out)`` returns one contribution per input."""

    key: str  # the op's name in the graph (``node.op``) and in RULES
    arity: int  # 1 or 2
    forward: Callable
    rule: Callable
    domain: tuple | None = None  # per argument: (low, high) intervals where tests may sample it
    kinks: tuple = ()  # points where the op is not differentiable, of argument 0 or of ``kink_var``
    kink_var: Callable | None = None  # the quantity whose kinks count, if not argument 0 (max: x - y)
    symbol: str = ""  # infix symbol of a binary op ("+"), or "-" for prefix negation
    # How tightly the symbol binds, as in Python (add 1, mul 2, neg 3, pow 4; higher binds
    # tighter), and whether a chain groups from the right (pow: x ** y ** z is x ** (y ** z)).
    precedence: int = 0
    right_assoc: bool = False
    name: str = ""  # its function name in formulas and on the command line (default: key)
    defaults: tuple = ()  # values of trailing arguments the command line may leave out
    # How the local derivatives read on the stepper page: (head, ((symbolic, numeric), ...)), e.g.
    # ("d tanh(u)", (("1 - tanh(u)^2", "1 - {pout}^2"),)); format fields u, v, out, and pu, pv,
    # pout (bracketed when negative). Empty: the page shows the rule's number alone.
    local: tuple = ()
    forms: Forms | None = None  # its forward, local derivatives and domain in the pages' language (built-ins)
    compile: tuple | None = None  # (forward template, (one backward template per input)); {f} is its forward
    method: bool = False  # a built-in op that is also a Value method of the same name
    builtin: bool = False
    jvp: Callable | None = None  # a user op's forward-mode derivative: jvp(*xs, *dxs) -> d out

    @property
    def fn_name(self) -> str:
        return self.name or self.key

    def contains(self, k: int, x: float) -> bool:
        """Whether ``x`` lies in the safe test domain of argument ``k``."""
        return self.domain is not None and any(lo <= x <= hi for lo, hi in self.domain[k])

    def kink_arg(self, xs) -> float:
        """The quantity whose kinks count at inputs ``xs``: argument 0, or ``kink_var`` of them."""
        return self.kink_var(*xs) if self.kink_var else xs[0]

    def side(self, xs) -> tuple:
        """Which side of each kink the inputs ``xs`` lie on (-1, 0 or 1 per kink)."""
        t = self.kink_arg(xs)
        return tuple((t > k) - (t < k) for k in self.kinks)

    def sample(self) -> tuple:
        """A fixed point well inside the domain (for rule self-checks)."""
        return tuple(lo + (0.37 + 0.3 * k) * (hi - lo) for k, ((lo, hi), *_) in enumerate(self.domain))


class RuleTable(dict):
    """The dict of RULES, counting its changes in ``changes``, so ``engine.backward_rules`` rebuilds
    its table only when a rule was added, replaced or removed (comparing the dicts on every pass
    cost about 9% of a three-node backward), and calling ``on_change`` after each change."""

    changes = 0
    on_change = None  # the engine's: it asks the table at each recorded node only while an op lacks its rule


def _counted(name: str):
    change = getattr(dict, name)

    def counted(self, *args, **kwargs):
        try:
            return change(self, *args, **kwargs)
        finally:  # after the change: a pass that reads the old count uses the old table once
            self.changes += 1
            if self.on_change is not None:
                self.on_change()
    counted.__name__ = counted.__qualname__ = name
    return counted


for _name in ("__setitem__", "__delitem__", "__ior__", "pop", "popitem", "clear", "update", "setdefault"):
    setattr(RuleTable, _name, _counted(_name))

OPS: dict = {}
RULES: RuleTable = RuleTable()


def register(op: Op) -> Op:
    """Enter ``op`` in the table (ValueError if its key is taken or the record is malformed).

    A key is a Python identifier that is not a keyword, so formulas print it as a call and the
    command line can call it; any script is fine (``'größe'``, ``'ｅxp'``, ``'ﬁx'``): generated code
    never spells a key, and the command line reads names as typed, before Python's NFKC folding.
    """
    if not isinstance(op.key, str) or not op.key.isidentifier() or keyword.iskeyword(op.key):
        raise ValueError(f"define_op: the name must be an identifier that is not a Python keyword, got {op.key!r}")
    if op.key in OPS:
        raise ValueError(f"define_op: an op named {op.key!r} already exists; choose another name")
    if op.arity not in (1, 2):
        raise ValueError(f"define_op {op.key}: forward must take 1 or 2 numbers, got arity {op.arity}")
    if op.domain is not None and not _is_domain(op.domain, op.arity):
        raise ValueError(f"define_op {op.key}: domain must give, for each of its {op.arity} input"
                         f"{'s' * (op.arity > 1)}, a tuple of (low, high) intervals of finite numbers with "
                         f"low < high, got {op.domain!r}")
    OPS[op.key] = op
    RULES[op.key] = op.rule
    return op


def _is_domain(domain, arity: int) -> bool:
    """Whether ``domain`` is, per input, a non-empty tuple of (low, high) pairs of finite floats, low < high."""
    return type(domain) is tuple and len(domain) == arity and all(
        type(iv) is tuple and iv and all(type(p) is tuple and len(p) == 2 and all(type(b) is float for b in p)
                                         and -math.inf < p[0] < p[1] < math.inf for p in iv) for iv in domain)


def fmt(x: float) -> str:
    """A number as the pictures, traces and pages print it: 4 decimals, or 4 significant digits in
    e-notation (-0.0 prints as 0.0000: a sign a learner cannot act on)."""
    x = x + 0.0
    return f"{x:.4f}" if x == 0 or 1e-4 <= abs(x) < 1e6 else f"{x:.4e}"


ATOM = 9  # the precedence of a name, a number or a function call: never bracketed


def call_text(op: str, args: list, precs: list | None = None) -> tuple:
    """(text, precedence) of a node: ``a * b``, ``-a``, ``tanh(a)``, ``max(a, b)``, the one printer
    of expressions. ``precs`` are the arguments' own precedences (default: atoms); an argument
    that binds more loosely than the op needs is bracketed, as Python would need it."""
    precs = precs or [ATOM] * len(args)
    spec = OPS.get(op)
    if spec is None or not spec.symbol:
        return f"{spec.fn_name if spec else op}({', '.join(args)})", ATOM
    mine = spec.precedence

    def wrap(text: str, prec: int, strict: bool) -> str:  # strict: an equal precedence is bracketed too
        return f"({text})" if prec < mine or (strict and prec == mine) else text

    if len(args) == 1:
        return f"{spec.symbol}{wrap(args[0], precs[0], False)}", mine
    left = wrap(args[0], precs[0], spec.right_assoc)
    right = wrap(args[1], precs[1], not spec.right_assoc)
    return f"{left} {spec.symbol} {right}", mine


def page_ops(keys) -> dict:
    """The op table as a page reads it (``ops.js``'s ``ChainruleOps.table``): key -> its arity and
    forms, for the built-in ops among ``keys`` (a user's op has no forms: a page cannot run it)."""
    return {k: {"arity": OPS[k].arity, "forward": f.forward, "partials": list(f.partials),
                "errors": [list(e) for e in f.errors]}
            for k in sorted(set(keys)) if k in OPS and (f := OPS[k].forms) is not None}


def finite(x) -> bool:
    """math.isfinite for a float or a Value's data."""
    return math.isfinite(x if type(x) is float else x.data)
