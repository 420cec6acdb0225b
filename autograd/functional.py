"""Beyond the gradient: Jacobians, Hessians and their products, with torch.autograd.functional's names.

``f`` is called as ``f(*values)`` with one Value per input and returns a Value (or, for
``jacobian``, ``vjp`` and ``jvp``, a list of Values); ``inputs`` is a sequence of numbers or leaf
Values. Results are floats (lists of floats, lists of rows); with ``create_graph=True`` they are
Values recorded in a graph of their own, so they can be differentiated again.

Every function here is a few calls of ``grad``: a Hessian is one reverse pass over the gradient's
own graph per row; ``hvp`` and ``vhp`` take two passes whatever the number of inputs (about 4 times
one gradient's cost for 1,000 inputs); ``jvp`` is one forward-mode pass of ``forward.Dual`` numbers.
"""

from __future__ import annotations

import numbers
import reprlib

from .engine import Value, as_number, contributions, grad
from .graph import toposort

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _leaves(where: str, inputs, create_graph: bool) -> list:
    """One leaf Value per input: the caller's own leaves with ``create_graph`` (so the results are
    differentiable with respect to them), fresh copies otherwise (so nothing is recorded onto them)."""
    if isinstance(inputs, (Value, numbers.Real)):
        inputs = [inputs]
    elif isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"{where}: inputs must be a sequence of numbers or Values, got "
                        f"{type(inputs).__name__} {reprlib.repr(inputs)}")
    inputs = list(inputs)
    if not inputs:
        raise ValueError(f"{where}: inputs is empty; give at least one number or Value")
    leaves, seen = [], {}
    for i, x in enumerate(inputs):
        if isinstance(x, Value):
            if x.op:
                raise ValueError(f"{where}: inputs[{i}] is not a leaf (it was made by {x.op!r}); derivatives are "
                                 f"taken with respect to leaves: pass x.detach() or its number x.data")
            if create_graph and id(x) in seen:
                raise ValueError(f"{where}: inputs[{seen[id(x)]}] and inputs[{i}] are the same Value; with "
                                 f"create_graph=True each input must be a leaf of its own (x.detach() is a copy)")
            seen[id(x)] = i
            leaves.append(x if create_graph else Value(x.data, x.label))
        else:
            leaves.append(Value(as_number(x, f"{where}: inputs[{i}]"), f"inputs[{i}]"))
    return leaves


def _outputs(where: str, out, many: bool) -> list:
    """f's result as a list of Values; TypeError naming what f returned otherwise."""
    if isinstance(out, Value):
        return [out]
    if many and isinstance(out, (list, tuple)):
        bad = [(k, o) for k, o in enumerate(out) if not isinstance(o, Value)]
        if out and not bad:
            return list(out)
        got = f"{type(bad[0][1]).__name__} {reprlib.repr(bad[0][1])} at position {bad[0][0]}" if bad else "[]"
    else:
        got = f"{type(out).__name__} {reprlib.repr(out)}"
    wanted = "a Value or a non-empty list of Values" if many else "a Value"
    raise TypeError(f"{where}: f must return {wanted}, got {got} (use the Values f is given, "
                    f"and Value's operators and methods, to compute it)")


def _vector(where: str, v, n: int, what: str, create_graph: bool) -> list:
    """``v`` as n numbers (``None`` means 1.0 where n is 1); ValueError on a wrong length. Values stay
    Values with ``create_graph`` (results may depend on them), else count as their numbers."""
    if v is None:
        if n != 1:
            raise ValueError(f"{where}: v is required when there are {n} {what}s (one entry per {what})")
        return [1.0]
    if isinstance(v, (Value, numbers.Real)) and n == 1:
        v = [v]
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        raise TypeError(f"{where}: v must be a list of {n} numbers (one per {what}), got "
                        f"{type(v).__name__} {reprlib.repr(v)}")
    v = list(v)
    if len(v) != n:
        raise ValueError(f"{where}: v has {len(v)} entries but there {'is' if n == 1 else 'are'} {n} {what}"
                         f"{'s' * (n != 1)}; give one entry per {what}")
    return [(x if create_graph else x.data) if isinstance(x, Value) else as_number(x, f"{where}: v[{k}]")
            for k, x in enumerate(v)]


def _dot(v: list, xs) -> Value:
    """sum(v_k * x_k) as one recorded Value (the seed of a vector-Jacobian product)."""
    total = None
    for a, x in zip(v, xs):
        term = x * a
        total = term if total is None else total + term
    return total


def _plain(xs, create_graph: bool):
    """Values as they are with ``create_graph``, else their numbers."""
    return list(xs) if create_graph else [x.data if isinstance(x, Value) else x for x in xs]


def _one(where: str, f, leaves) -> Value:
    return _outputs(where, f(*leaves), many=False)[0]


def jacobian(f, inputs, create_graph: bool = False) -> list:
    """d f_k / d x_i as a list of rows, one row per output of f (one row when f returns one Value)."""
    xs = _leaves("jacobian", inputs, create_graph)
    outs = _outputs("jacobian", f(*xs), many=True)
    return [list(grad(o, xs, create_graph)) for o in outs]


def hessian(f, inputs, create_graph: bool = False) -> list:
    """d2 f / d x_i d x_j as n rows of n: row i is the gradient of d f / d x_i (one pass per row)."""
    xs = _leaves("hessian", inputs, create_graph)
    first = grad(_one("hessian", f, xs), xs, create_graph=True)
    return [list(grad(d, xs, create_graph)) for d in first]


def vjp(f, inputs, v=None, create_graph: bool = False) -> tuple:
    """(f's outputs, v^T J): sum_k v_k d f_k / d x_i for each input, by one reverse pass."""
    xs = _leaves("vjp", inputs, create_graph)
    out = f(*xs)
    outs = _outputs("vjp", out, many=True)
    v = _vector("vjp", v, len(outs), "output", create_graph)
    result = list(grad(_dot(v, outs), xs, create_graph))
    values = _plain(outs, create_graph)
    return (values[0] if isinstance(out, Value) else values), result


def jvp(f, inputs, v=None, create_graph: bool = False) -> tuple:
    """(f's outputs, J v): sum_i d f_k / d x_i v_i for each output.

    One forward-mode pass of ``forward.Dual`` numbers (exact, no step size); with ``create_graph``
    the Jacobian's rows are recorded Values and J v is their dot product with v.
    """
    from .forward import Dual

    xs = _leaves("jvp", inputs, create_graph)
    v = _vector("jvp", v, len(xs), "input", create_graph)
    if create_graph:
        out = f(*xs)
        outs = _outputs("jvp", out, many=True)
        tangents = [_dot(v, grad(o, xs, create_graph=True)) for o in outs]
        return (outs[0] if isinstance(out, Value) else outs), (tangents[0] if isinstance(out, Value) else tangents)
    duals = [Dual(x.data, a) for x, a in zip(xs, v)]
    try:
        out = f(*duals)
    except (AttributeError, TypeError) as e:
        raise TypeError(f"jvp: f failed on forward-mode dual numbers ({type(e).__name__}: {e}); jvp calls f "
                        f"with autograd.forward.Dual inputs, so f may use only Value's operators and methods "
                        f"(not .data, grad or no_grad); create_graph=True computes J v by reverse passes "
                        f"instead") from e
    if isinstance(out, Dual):
        return out.val, out.der
    if isinstance(out, (list, tuple)) and out and all(isinstance(o, Dual) for o in out):
        return [o.val for o in out], [o.der for o in out]
    raise TypeError(f"jvp: f must return a Value or a list of Values (Duals here, since jvp runs f in forward "
                    f"mode), got {type(out).__name__} {reprlib.repr(out)}")


def vhp(f, inputs, v, create_graph: bool = False) -> tuple:
    """(f's output, v^T H): the gradient of <grad f, v>, by two reverse passes whatever the number of inputs."""
    xs = _leaves("vhp", inputs, create_graph)
    out = _one("vhp", f, xs)
    v = _vector("vhp", v, len(xs), "input", create_graph)
    first = grad(out, xs, create_graph=True)
    return (out if create_graph else out.data), list(grad(_dot(v, first), xs, create_graph))


def hvp(f, inputs, v, create_graph: bool = False) -> tuple:
    """(f's output, H v), by one reverse pass and one forward sweep whatever the number of inputs.

    Row i of H is the gradient of d f / d x_i, so (H v)_i is the derivative of d f / d x_i along v:
    the gradient is recorded (``create_graph``), then tangents flow forward through its graph, each
    node's local derivatives coming from its own rule. Equal to ``vhp`` wherever H is symmetric.
    """
    xs = _leaves("hvp", inputs, create_graph)
    out = _one("hvp", f, xs)
    v = _vector("hvp", v, len(xs), "input", create_graph)
    first = grad(out, xs, create_graph=True)
    tangent = _tangents(first, dict(zip(xs, v)), create_graph)
    zero = Value(0.0) if create_graph else 0.0
    return (out if create_graph else out.data), [tangent.get(d, zero) for d in first]


def _tangents(roots: tuple, tangent: dict, create_graph: bool) -> dict:
    """Forward mode over a recorded graph: ``tangent`` (leaf -> direction) extended to every node behind
    ``roots`` by the chain rule, with local derivatives from each node's rule (its contributions for g = 1).
    A zero tangent contributes exactly zero, even through an infinite local derivative (as backward)."""
    one = Value(1.0) if create_graph else 1.0
    for node in toposort(_dot([1.0] * len(roots), roots)):
        total = None
        for _, parent, local in contributions(node, one, create_graph) if node.op else ():
            t = tangent.get(parent)
            if t is None or type(t) is float and t == 0.0:
                continue
            total = local * t if total is None else total + local * t
        if total is not None:
            tangent[node] = total
    return tangent
