"""nn in Jupyter: a model shows its layered picture, and a Recorder with ``live=True`` shows training
as it happens (loss, accuracy, decision boundary) in one display updated in place.

Everything here is plain Python writing SVG text and IPython's own display protocol (a display id
updated through its handle): no widget library, and IPython is only used when it is already
running. Outside a notebook a live Recorder records and shows nothing.
"""

from __future__ import annotations

import html
import math
import sys
import time

from autograd import Value

__all__ = ["model_bundle", "LiveView", "in_notebook"]

MAX_PICTURE_WEIGHTS = 20_000  # a model with more is described in text (its graph is not worth building)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython with a kernel), never importing IPython itself."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def model_bundle(model) -> dict:
    """The Jupyter display of an MLP: one box per neuron (per layer when wide), and its repr."""
    text = repr(model)
    layers = model.layers
    weights = sum(len(n.w) for layer in layers for n in layer.neurons)
    if weights > MAX_PICTURE_WEIGHTS:
        return {"text/plain": f"{text}: {weights:,} weights, too many to draw inline"}
    try:
        from autograd import viz

        nin = len(layers[0].neurons[0].w)
        x = [Value(0.0, f"x{i}") for i in range(nin)]
        for layer in layers:  # the layers alone: dropout would draw from its random stream
            x = layer(x)
        out = x[0] if len(x) == 1 else sum(x[1:], x[0])
        neurons = sum(len(layer.neurons) for layer in layers)
        collapse = "neuron" if neurons <= 64 and weights <= 1500 else "layer"
        caption = (f"{text}: one box per {collapse}, on the input 0; edge colour is the sign of the weight, "
                   "width its size")
        source = viz.to_dot(out, collapse=collapse, show_grad=False, caption=caption, max_nodes=None).source
        return {"image/svg+xml": viz.pipe_svg(source), "text/plain": text}
    except Exception as e:  # no viz extra or no renderer: the text is the display
        return {"text/plain": f"{text}  (no picture: {type(e).__name__}: {str(e).splitlines()[0][:200]})"}


# The live view's picture, drawn as SVG text.
WIDTH, HEIGHT, PAD = 300, 210, 42
COLOURS = {"loss": "#2563eb", "train": "#2563eb", "val": "#ea580c"}
CLASS_FILL = ["#bfdbfe", "#fed7aa", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fef08a"]
CLASS_DOT = ["#1d4ed8", "#c2410c", "#15803d", "#be185d", "#6d28d9", "#a16207"]
GRID = 24  # decision-boundary cells per side


class LiveView:
    """One display, updated in place at most every ``interval`` seconds, whatever the step rate;
    the last update always shows (it is sent when the cell finishes, if it was held back)."""

    def __init__(self, recorder, interval: float = 0.5) -> None:
        from IPython import get_ipython
        from IPython.display import display

        self.recorder = recorder
        self.interval = interval
        self.rows: list = []  # (step, loss, train accuracy, val accuracy)
        self.weights = None
        self.shown_at = -math.inf
        self.pending = False
        self.updates = 0
        self.handle = display({"text/plain": "nn.Recorder: waiting for the first record()"}, raw=True,
                              display_id=True)
        self.events = get_ipython().events
        self.events.register("post_run_cell", self._flush)

    def update(self, step: int, loss, train_accuracy, val_accuracy, weights: list) -> None:
        """Note one recorded step; redraw if the last drawing is older than ``interval``."""
        self.rows.append((step, loss, train_accuracy, val_accuracy))
        self.weights = weights
        self.pending = True
        if time.monotonic() - self.shown_at >= self.interval:
            self.show()

    def _flush(self, *_) -> None:
        if self.pending:
            self.show()

    def close(self) -> None:
        """Draw what is pending and stop listening to IPython's events."""
        self._flush()
        try:
            self.events.unregister("post_run_cell", self._flush)
        except ValueError:
            pass

    def show(self) -> None:
        """Draw now."""
        self.handle.update({"image/svg+xml": self.svg(), "text/plain": self.text()}, raw=True)
        self.shown_at = time.monotonic()
        self.pending = False
        self.updates += 1

    def text(self) -> str:
        step, loss, acc, val = self.rows[-1]
        parts = [f"step {step}", f"loss {_num(loss)}"]
        if acc is not None:
            parts.append(f"train accuracy {acc:.1%}")
        if val is not None:
            parts.append(f"validation accuracy {val:.1%}")
        return "nn.Recorder live: " + ", ".join(parts)

    def svg(self) -> str:
        panels = [_loss_panel(self.rows)]
        if any(r[2] is not None for r in self.rows):
            panels.append(_accuracy_panel(self.rows))
        rec = self.recorder
        if len(rec.train[0][0]) == 2 and rec.task in ("sign", "binary", "classes"):
            panels.append(_boundary_panel(rec, self.weights))
        width = WIDTH * len(panels)
        body = "".join(f'<g transform="translate({WIDTH * i},0)">{p}</g>' for i, p in enumerate(panels))
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT + 24}" '
                f'viewBox="0 0 {width} {HEIGHT + 24}" font-family="Helvetica, Arial, sans-serif" font-size="11">'
                f'<rect width="100%" height="100%" fill="white"/>{body}'
                f'<text x="6" y="{HEIGHT + 17}" fill="#374151">{html.escape(self.text())}</text></svg>')


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def _axes(title: str, x0, x1, y0, y1, ylabel: str, log: bool = False) -> str:
    """A panel's frame: title, axis lines, min/max tick labels."""
    fy = (lambda v: f"{v:.3g}") if not log else (lambda v: f"{10 ** v:.2g}")
    r, b = WIDTH - 10, HEIGHT - 28
    return (f'<text x="{PAD}" y="14" font-weight="bold">{html.escape(title)}</text>'
            f'<line x1="{PAD}" y1="{b}" x2="{r}" y2="{b}" stroke="#6b7280"/>'
            f'<line x1="{PAD}" y1="24" x2="{PAD}" y2="{b}" stroke="#6b7280"/>'
            f'<text x="{PAD - 4}" y="{b}" text-anchor="end">{fy(y0)}</text>'
            f'<text x="{PAD - 4}" y="30" text-anchor="end">{fy(y1)}</text>'
            f'<text x="{PAD}" y="{b + 13}">{x0}</text><text x="{r}" y="{b + 13}" text-anchor="end">{x1}</text>'
            f'<text x="{(PAD + r) / 2}" y="{b + 24}" text-anchor="middle">step</text>'
            f'<text transform="translate(11,{(24 + b) / 2}) rotate(-90)" text-anchor="middle">{ylabel}</text>')


def _line(points: list, x0, x1, y0, y1, colour: str, log: bool = False) -> str:
    r, b = WIDTH - 10, HEIGHT - 28
    sx = (r - PAD) / ((x1 - x0) or 1)
    sy = (b - 24) / ((y1 - y0) or 1)
    xy = [(PAD + (x - x0) * sx, b - ((math.log10(y) if log else y) - y0) * sy) for x, y in points]
    if len(xy) == 1:
        return f'<circle cx="{xy[0][0]:.1f}" cy="{xy[0][1]:.1f}" r="2.5" fill="{colour}"/>'
    return (f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + '"/>')


def _legend(entries: list) -> str:
    out = []
    for k, (name, colour) in enumerate(entries):
        y = 30 + 14 * k
        out.append(f'<line x1="{WIDTH - 110}" y1="{y - 4}" x2="{WIDTH - 94}" y2="{y - 4}" stroke="{colour}" '
                   f'stroke-width="2"/><text x="{WIDTH - 90}" y="{y}">{name}</text>')
    return "".join(out)


def _loss_panel(rows: list) -> str:
    points = [(s, v) for s, v, _, _ in rows if v is not None and math.isfinite(v)]
    x0, x1 = rows[0][0], rows[-1][0]
    if not points:
        return _axes("loss (none finite yet)", x0, x1, 0, 1, "loss")
    values = [v for _, v in points]
    log = min(values) > 0 and max(values) / min(values) > 100  # many decades: a log axis (said in its label)
    lo, hi = ((math.log10(min(values)), math.log10(max(values))) if log else (min(0.0, min(values)), max(values)))
    return (_axes("training loss", x0, x1, lo, hi, "loss (log scale)" if log else "loss", log)
            + _line(points, x0, x1, lo, hi, COLOURS["loss"], log) + _legend([("loss passed to record()", COLOURS["loss"])]))


def _accuracy_panel(rows: list) -> str:
    x0, x1 = rows[0][0], rows[-1][0]
    out = [_axes("accuracy", x0, x1, 0, 1, "fraction right")]
    entries = []
    for k, name in ((2, "train"), (3, "val")):
        points = [(r[0], r[k]) for r in rows if r[k] is not None]
        if points:
            out.append(_line(points, x0, x1, 0, 1, COLOURS[name]))
            entries.append(("training rows" if name == "train" else "validation rows", COLOURS[name]))
    return "".join(out) + _legend(entries)


def _boundary_panel(rec, weights: list) -> str:
    """The plane of a 2-input model: each cell coloured by the class the model gives it, the
    training rows on top as dots coloured by their target."""
    X, y = rec.train
    xs, ys = [r[0] for r in X], [r[1] for r in X]
    (ax, bx), (ay, by) = _span(xs), _span(ys)
    size = min(WIDTH - PAD - 10, HEIGHT - 52)
    cell = size / GRID
    centres = [(ax + (i + 0.5) * (bx - ax) / GRID, ay + (GRID - j - 0.5) * (by - ay) / GRID)
               for j in range(GRID) for i in range(GRID)]
    scores = rec._forward([list(c) for c in centres], weights)[0]
    out = [f'<text x="{PAD}" y="14" font-weight="bold">decision boundary (training rows)</text>']
    for k, s in enumerate(scores):
        c = _class_of(s, rec.task)
        fill = "#ffffff" if c is None else CLASS_FILL[c % len(CLASS_FILL)]
        out.append(f'<rect x="{PAD + (k % GRID) * cell:.1f}" y="{24 + (k // GRID) * cell:.1f}" '
                   f'width="{cell + 0.3:.1f}" height="{cell + 0.3:.1f}" fill="{fill}"/>')
    for (px, py), t in zip(X, y):
        c = int(t > 0) if rec.task != "classes" else t
        cx, cy = PAD + (px - ax) / (bx - ax) * size, 24 + (by - py) / (by - ay) * size
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2" fill="{CLASS_DOT[c % len(CLASS_DOT)]}"/>')
    names = {"sign": ["-1", "+1"], "binary": ["0", "1"]}.get(rec.task) or [str(k) for k in range(max(y) + 1)]
    left = PAD + size + 6
    out.append(f'<text x="{left}" y="34">class: fill</text><text x="{left}" y="47">(model), dot</text>'
               f'<text x="{left}" y="60">(target)</text>')
    for k, name in enumerate(names[:len(CLASS_FILL)]):
        top = 70 + 16 * k
        out.append(f'<rect x="{left}" y="{top}" width="14" height="12" fill="{CLASS_FILL[k]}"/>'
                   f'<circle cx="{left + 7}" cy="{top + 6}" r="2.5" fill="{CLASS_DOT[k]}"/>'
                   f'<text x="{left + 20}" y="{top + 10}">{name}</text>')
    return "".join(out)


def _span(values: list) -> tuple:
    lo, hi = min(values), max(values)
    pad = 0.1 * (hi - lo) or 1.0
    return lo - pad, hi + pad


def _class_of(score, task: str):
    """The class a score gives (as the page and nn.accuracy count it); None where it is not a number."""
    if task == "classes":
        if any(v != v for v in score):
            return None
        return max(range(len(score)), key=score.__getitem__)
    return None if score != score else int(score > 0)
