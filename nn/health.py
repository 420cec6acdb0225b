"""Training diagnostics after a backward pass: dead and saturated units, gradient sizes, update ratios."""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass, field

from autograd import Value, no_grad

from .module import ACTIVATION_SPECS

__all__ = ["health", "Health", "LayerHealth", "unit_state"]


@dataclass
class LayerHealth:
    """One layer's numbers; ``update_ratio`` is lr * |grad| / |weights| (about 1e-3 is healthy)."""

    name: str
    activation: str
    neurons: int
    dead: list = field(default_factory=list)  # relu neurons that never fire on X (without X: all grads exactly 0)
    saturated: list = field(default_factory=list)  # tanh/sigmoid neurons pinned near their limits
    grad_norm: float = 0.0
    weight_norm: float = 0.0
    update_ratio: float | None = None


@dataclass
class Health:
    """A report per layer, with hints; ``str()`` gives the table the demos print.

    The ratio hints are deliberately loose (above 0.3, below 1e-5): full-batch gradient descent on
    a small network trains well with ratios far above the 1e-3 often quoted for large networks.
    """

    layers: list
    no_gradients: bool = False  # every parameter's gradient is exactly 0: backward() has not run

    @property
    def hints(self) -> list:
        out = ["every gradient is 0: call loss.backward() before health()"] if self.no_gradients else []
        for layer in self.layers:
            if layer.dead and len(layer.dead) * 2 >= layer.neurons:
                out.append(f"{layer.name}: {len(layer.dead)} of {layer.neurons} relu units are dead "
                           "(they fire on no input); a lower learning rate or another seed may help")
            if layer.saturated:
                out.append(f"{layer.name}: {len(layer.saturated)} {layer.activation} units are saturated; "
                           "their gradients vanish")
            r = layer.update_ratio
            if r is not None and r > 0.3:
                out.append(f"{layer.name}: update/weight ratio {r:.1e} is large; the learning rate is likely too high")
            elif r is not None and 0 < r < 1e-5:
                out.append(f"{layer.name}: update/weight ratio {r:.1e} is tiny; learning will crawl")
        return out

    def __str__(self) -> str:
        lines = [f"{'layer':6} {'act':8} {'dead':>7} {'satur.':>7} {'|grad|':>10} {'|w|':>9} {'lr*|g|/|w|':>11}"]
        for h in self.layers:
            ratio = "-" if h.update_ratio is None else f"{h.update_ratio:.1e}"
            lines.append(f"{h.name:6} {h.activation:8} {len(h.dead):>3}/{h.neurons:<3} {len(h.saturated):>3}/{h.neurons:<3}"
                         f" {h.grad_norm:10.3e} {h.weight_norm:#9.3g} {ratio:>11}")
        return "\n".join(lines + [f"hint: {hint}" for hint in self.hints])


def _norm(xs) -> float:
    return math.sqrt(sum(x * x for x in xs))


def health(model, X=None, lr: float | None = None) -> Health:
    """Diagnose an MLP after ``loss.backward()``: per layer, dead relu units (output 0 on every row
    of ``X``; without ``X``, every gradient exactly 0, which an L2 term hides), saturated
    tanh/sigmoid units (|out| near the limit on 95% of ``X``), the gradient and weight norms, and
    lr * |grad| / |w| when ``lr`` is given."""
    layers = getattr(model, "layers", None)
    if not layers or not all(hasattr(layer, "neurons") for layer in layers):
        raise TypeError(f"health: expected an nn.MLP (something with layers of neurons), got {type(model).__name__}")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0):
        raise ValueError(f"health: lr must be a positive number, got {lr!r}")
    if X is not None:
        nin = len(layers[0].neurons[0].w)
        rows = list(X) if hasattr(X, "__iter__") else None
        bad = None if rows is None else next((i for i, x in enumerate(rows)
                                               if not hasattr(x, "__len__") or len(x) != nin), None)
        if rows is None or bad is not None:
            got = f"got {type(X).__name__}" if rows is None else f"row {bad} is {reprlib.repr(rows[bad])}"
            raise ValueError(f"health: X must be rows of {nin} inputs for {model!r}; {got}")
        if not rows:
            raise ValueError("health: X has no rows; give the training rows, or leave X out")
        X = rows
    outputs = _activations(layers, X) if X is not None else None
    no_gradients = all(p.grad == 0.0 for p in model.parameters())
    report = []
    for li, layer in enumerate(layers):
        first = layer.neurons[0]
        h = LayerHealth(f"L{li + 1}", first.activation, len(layer.neurons))
        params = layer.parameters()
        h.grad_norm = _norm(p.grad for p in params)
        h.weight_norm = _norm(p.data for p in params)
        if lr is not None and h.weight_norm > 0:
            h.update_ratio = lr * h.grad_norm / h.weight_norm
        for j, neuron in enumerate(layer.neurons):
            column = [row[j] for row in outputs[li]] if outputs is not None else None
            if column is not None:
                state = unit_state(neuron.activation, column)
            else:  # without X: a relu unit whose gradients are all exactly 0
                dead = not no_gradients and all(p.grad == 0.0 for p in neuron.parameters())
                state = "dead" if ACTIVATION_SPECS[neuron.activation].stuck == "dead" and dead else None
            if state == "dead":
                h.dead.append(neuron.name)
            elif state == "saturated":
                h.saturated.append(neuron.name)
        report.append(h)
    return Health(report, no_gradients)


def unit_state(activation: str, outputs) -> str | None:
    """How a unit is stuck on the rows, by its activation's record (``nn.ACTIVATION_SPECS``): 'dead'
    when it fires on no row (every output 0), 'saturated' when its output lies outside the
    activation's limits on 95% of rows, else None; ``outputs`` are the unit's outputs on the rows."""
    outputs = list(outputs)
    spec = ACTIVATION_SPECS.get(activation)
    if spec is None:
        return None
    if spec.stuck == "dead" and all(v == 0.0 for v in outputs):
        return "dead"
    if spec.stuck == "saturated" and outputs:
        lo, hi = spec.limits
        if sum(not lo < v < hi for v in outputs) >= 0.95 * len(outputs):
            return "saturated"
    return None


def _activations(layers, X) -> list:
    """Per layer, the neurons' outputs (numbers) for every input row of X."""
    per_layer = [[] for _ in layers]
    with no_grad():
        for x in X:
            for i, layer in enumerate(layers):
                x = layer(x)
                per_layer[i].append([v.data if isinstance(v, Value) else v for v in x])
    return per_layer
