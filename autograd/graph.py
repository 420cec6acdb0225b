"""Graph walking written once: the iterative topological sort and a node's operands.

Backward, grad, viz, trace and compile all walk the graph through this module, so the way a node
stores its operands (``_a`` and ``_b``, each a Value, a float constant or None) is known here and in
the engine only.
"""

from __future__ import annotations

import threading

__all__ = ["toposort", "operands", "PASS_LOCK"]


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
