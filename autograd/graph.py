"""Graph walking written once: the iterative topological sort and a node's operands.

Backward, grad, viz, trace and compile all walk the graph through this module, so the way a node
stores its operands (``_a`` and ``_b``, each a Value, a float constant or None) is known here and in
the engine only.
"""

from __future__ import annotations

import threading
import weakref

__all__ = ["toposort", "operands", "PASS_LOCK", "mark_parameter", "parameter_of", "mark_backward", "made_by"]


# One walk at a time, so the visit marks of two walks never mix; backward holds it for its whole
# pass, so threads sharing leaves add their gradients one pass after another and lose nothing.
PASS_LOCK = threading.RLock()


def toposort(root) -> list:
    """Every Value reachable from ``root``, each after its parents (``root`` last).

    Iterative depth-first search, parents visited in argument order, so the order (and the
    numbering tools derive from it) is the same every time for the same graph. A node is pushed
    back with a None marker above it; popping the marker means its parents are done. Visited nodes
    carry this walk's token in their ``_mark`` slot: unlike a set, that costs no hashing and keeps
    the walk's memory traffic on the nodes themselves (it matters on graphs of 10^6 nodes).
    """
    order = []
    token = object()
    stack = [root]
    push, pop = stack.append, stack.pop
    with PASS_LOCK:
        while stack:
            node = pop()
            if node is None:
                order.append(pop())
                continue
            if node._mark is token:
                continue
            node._mark = token
            push(node)
            push(None)
            b = node._b
            if b is not None and b.__class__ is not float and b._mark is not token:
                push(b)
            a = node._a
            if a is not None and a.__class__ is not float and a._mark is not token:
                push(a)  # pushed last, so visited first: argument order
    return order


def operands(node) -> tuple:
    """The op's arguments in order: parent Values and float constants (``x * 2`` gives (x, 2.0))."""
    if not node.op:
        return ()
    return (node._a,) if node._b is None else (node._a, node._b)


# What the code that made a node knows about it, kept beside the graph: a label is the user's text
# only and never decides how a node is drawn. Weak, so an entry goes with its node, and ordinary
# nodes have none and pay nothing.
_PARAMETERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # node -> (layer, neuron)
_BACKWARD: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # node -> the step that recorded it
_REGISTRY_LOCK = threading.Lock()


def mark_parameter(node, neuron: str, layer: str | None = None) -> None:
    """Register leaf ``node`` as a parameter of ``neuron`` (in ``layer``, default the neuron itself),
    as ``nn`` does for its weights and biases; pictures group a network's nodes by it.

    A computed node labelled ``neuron`` marks where that neuron ends (nn's neuron outputs)."""
    if not isinstance(neuron, str) or not neuron or (layer is not None and (not isinstance(layer, str) or not layer)):
        raise ValueError(f"mark_parameter: neuron and layer must be non-empty str, got {neuron!r}, {layer!r}")
    with _REGISTRY_LOCK:
        _PARAMETERS[node] = (layer or neuron, neuron)


def parameter_of(node) -> tuple | None:
    """(layer, neuron) of a registered parameter, else None."""
    return _PARAMETERS.get(node)


def mark_backward(node, step: str) -> None:
    """Register ``node`` as recorded by ``grad(..., create_graph=True)`` at ``step`` ('mul_backward',
    'seed', 'accumulate')."""
    with _REGISTRY_LOCK:
        _BACKWARD[node] = step


def made_by(node) -> str | None:
    """The backward step that recorded ``node`` (see ``mark_backward``), else None."""
    return _BACKWARD.get(node)
