"""How a ``Value`` shows itself in Jupyter: its graph as SVG, with a size guard and a text fallback.

IPython asks an object for ``_repr_mimebundle_``; ``Value``'s loads this module on that first
call, so plain ``import autograd`` never pays for it. Drawing needs the viz extra: without it, or
when drawing fails for any reason, the display is the plain ``repr`` and nothing is raised (a
notebook cell must never die of its own output). A graph too big to read is drawn folded by neuron
or layer when it is an ``nn`` network, else summarised in one line, so displaying a loss over a
whole data set never freezes the kernel.
"""

from __future__ import annotations

from collections import Counter

from .engine import Value
from .graph import toposort

__all__ = ["mimebundle", "summary", "MAX_INLINE"]

MAX_INLINE = 150  # nodes drawn inline: a picture a reader can take in, drawn in about a second


def summary(v: Value, order: list) -> str:
    """One line about a graph too big to draw: its size and its most common ops."""
    ops = Counter(n.op for n in order if n.op).most_common(4)
    made = ", ".join(f"{op} {k:,}" for op, k in ops)
    return (f"{v!r}: a graph of {len(order):,} nodes ({made}); too big to draw inline (over "
            f"{MAX_INLINE}). autograd.viz.render(v, 'graph.svg', max_nodes=None) draws it whole.")


def _picture(v: Value, order: list):
    """(DOT source, note) for the picture to show, or (None, summary) when none would be readable."""
    from . import viz

    if len(order) <= MAX_INLINE:
        return viz.to_dot(v).source, None
    for collapse in ("neuron", "layer"):
        groups = viz.find_groups(order, collapse)
        if groups and len(order) - len(groups) + len(set(groups.values())) <= MAX_INLINE:
            caption = f"{len(order):,} nodes, drawn with one box per {collapse}"
            return viz.to_dot(v, collapse=collapse, color_grad=True, caption=caption).source, caption
    return None, summary(v, order)


def mimebundle(v: Value, include=None, exclude=None) -> dict:
    """The Jupyter display of ``v``: {"image/svg+xml": its graph, "text/plain": its repr}."""
    order = toposort(v)
    bundle = {"text/plain": repr(v)}
    try:
        source, note = _picture(v, order)
        if source is None:
            bundle["text/plain"] = note
            return bundle
        from .viz import pipe_svg

        bundle["image/svg+xml"] = pipe_svg(source)
        if note:
            bundle["text/plain"] = f"{v!r}  ({note})"
    except Exception as e:  # no viz extra, no renderer, a renderer failure: the text still shows
        bundle["text/plain"] = f"{v!r}  (no picture: {type(e).__name__}: {str(e).splitlines()[0][:200]})"
    return bundle
