"""Watch a network learn: ``Recorder`` keeps what each training step did and writes a replay page.

In your own loop, after ``loss.backward()`` and before the update::

    rec = nn.Recorder(model, train=(X, y), val=(Xv, yv))
    for step in range(100):
        loss = ...; model.zero_grad(); loss.backward()
        rec.record(step, loss, lr=lr)
        for p in model.parameters(): p.data -= lr * p.grad
    rec.to_html("replay.html")

Recording reads weights and gradients and never writes them: it runs no backward pass over the
model, touches no ``.grad`` or ``.data`` and draws no random numbers, so training is the same with
or without it.
"""

from __future__ import annotations

import html
import json
import math
import numbers
import operator
import reprlib
from importlib import resources
from pathlib import Path

from autograd import Value, grad, no_grad
from autograd.files import atomic_write

from .health import unit_state
from .module import ACTIVATION_SPECS
from .losses import bce_with_logits, cross_entropy, hinge_loss, mse_loss

__all__ = ["Recorder"]

FORMAT = "chainrule.replay"


def _short(x) -> str:
    return reprlib.repr(x)


def _real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _finite_or_none(x: float):
    """JSON has no NaN or infinity: a non-finite number is recorded as None."""
    return x if math.isfinite(x) else None


def _accuracy(scores: list, targets: list):
    """The fraction right: a score per row for ±1 or 0/1 targets (sign of the score, logit > 0),
    a row of logits for class indices (argmax). Same contract as ``nn.accuracy``; swap it in there."""
    if not scores:
        return None
    if isinstance(scores[0], list):
        right = sum(max(range(len(row)), key=row.__getitem__) == t for row, t in zip(scores, targets))
    else:
        right = sum((s > 0) == (t > 0) for s, t in zip(scores, targets))
    return right / len(targets)


def _task(targets: list, nout: int, loss_fn):
    """(kind, loss function) from the targets: ±1 hinge, 0/1 logistic, class indices softmax, else mse."""
    values = set(targets)
    if nout > 1:
        if all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < nout for t in targets):
            return "classes", loss_fn or cross_entropy
        raise ValueError(f"Recorder: a model with {nout} outputs needs class indices 0..{nout - 1} as "
                         f"targets, got {_short(targets)}")
    if values <= {-1, 1}:
        return "sign", loss_fn or hinge_loss
    if values <= {0, 1}:
        return "binary", loss_fn or bce_with_logits
    return "regression", loss_fn or mse_loss


class Recorder:
    """Records an ``nn.MLP``'s training: ``record(step, loss, lr)`` in your loop, then ``to_html(path)``.

    ``history`` is a list with one dict per recorded step: ``step``, ``loss`` (what you passed),
    ``lr``, ``train_loss``/``train_accuracy`` and ``val_loss``/``val_accuracy`` (over the whole
    sets, with ``loss_fn``, as the model in eval mode computes), ``weights`` and ``grads``
    ({parameter label: number}), ``units`` ({neuron: activation statistics on the training rows})
    ``example``: for training row ``example``, whose chain-rule story the page tells first, d loss /
    d output and each neuron's output and local derivative d output / d (w . x + b); and
    ``row_dloss``: d loss / d output for every training row (the page tells any clicked row's story). ``loss_fn`` defaults to one that fits the targets: hinge for ±1, logistic for
    0/1, cross-entropy for class indices, mean squared error otherwise. Accuracy is None for
    regression. Non-finite numbers are recorded as None. Pass the step's ``lr`` and the page shows a
    weight's update as -lr * grad; without it, only the change until the next recorded step.
    """

    def __init__(self, model, train, val=None, every: int = 1, *, loss_fn=None, example: int = 0) -> None:
        self._layers = _check_model(model)
        self.model = model
        nin = len(self._layers[0].neurons[0].w)
        nout = len(self._layers[-1].neurons)
        self.train = _check_data(train, "train", nin)
        self.val = None if val is None else _check_data(val, "val", nin)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"Recorder: every must be a positive int, got {every!r}")
        if loss_fn is not None and not callable(loss_fn):
            raise TypeError(f"Recorder: loss_fn must be a function (predictions, targets) -> Value, got {loss_fn!r}")
        if isinstance(example, bool) or not isinstance(example, int) or not 0 <= example < len(self.train[0]):
            raise ValueError(f"Recorder: example must be a row index of train, 0..{len(self.train[0]) - 1}, "
                             f"got {example!r}")
        self.every = every
        self.example = example
        self.task, self.loss_fn = _task(self.train[1] + (self.val[1] if self.val else []), nout, loss_fn)
        self.loss_inferred = loss_fn is None  # then the page says so, and checks it against what you record
        self.history: list = []
        self._params = model.parameters()
        self._keys = [p.label or f"p{i}" for i, p in enumerate(self._params)]  # as state_dict names them
        self._last_step = None

    def record(self, step: int, loss, lr: float | None = None) -> None:
        """Record this step (after ``backward()``, before the update) when ``step`` is a multiple of ``every``."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"record: step must be an int >= 0, got {step!r}")
        if self._last_step is not None and step <= self._last_step:
            raise ValueError(f"record: step must increase from call to call; got {step!r} after {self._last_step}")
        if isinstance(loss, Value):
            loss = loss.data
        elif not _real(loss):
            raise TypeError(f"record: loss must be a Value or a number, got {type(loss).__name__} {_short(loss)}")
        if lr is not None and (not _real(lr) or not 0 < lr < math.inf):
            raise ValueError(f"record: lr must be a positive number or None, got {lr!r}")
        self._last_step = step
        if step % self.every:
            return
        weights = [p.data for p in self._params]
        entry = {"step": step, "loss": _finite_or_none(float(loss)),
                 "lr": None if lr is None else float(lr)}
        outputs, columns = self._forward(self.train[0], weights)
        entry["train_loss"], entry["train_accuracy"] = self._evaluate(outputs, self.train[1])
        entry["val_loss"] = entry["val_accuracy"] = None
        if self.val is not None:
            entry["val_loss"], entry["val_accuracy"] = self._evaluate(self._forward(self.val[0], weights)[0],
                                                                      self.val[1])
        entry["weights"] = {k: _finite_or_none(w) for k, w in zip(self._keys, weights)}
        entry["grads"] = {k: _finite_or_none(p.grad) for k, p in zip(self._keys, self._params)}
        entry["units"] = {}
        for layer, layer_columns in zip(self._layers, columns):
            for neuron, column in zip(layer.neurons, layer_columns):
                entry["units"][neuron.name] = _unit_stats(neuron.activation, column)
        entry["example"] = self._example(weights, outputs[self.example])
        # d loss / d output for every training row, so the page can tell any row's story (a click on the plane)
        entry["row_dloss"] = [self._dloss(o, t) for o, t in zip(outputs, self.train[1])]
        self.history.append(entry)

    def _forward(self, rows: list, weights: list):
        """The model on each row from the weights alone, as in eval mode: (outputs, per layer the
        columns of neuron outputs). Plain float arithmetic in the order a Neuron adds, so the
        numbers are the model's own (tested), at a seventh of the cost of calling it on Values."""
        layers, at = [], 0
        for layer in self._layers:
            units = []
            for n in layer.neurons:
                k = len(n.w)
                units.append((weights[at:at + k], weights[at + k], _activation(n.activation)))
                at += k + 1
            layers.append(units)
        columns = [[[] for _ in units] for units in layers]
        outputs = []
        with no_grad():
            for x in rows:
                for units, cols in zip(layers, columns):
                    x = [act(sum(map(operator.mul, w, x), b)) for w, b, act in units]
                    for col, v in zip(cols, x):
                        col.append(v)
                outputs.append(x[0] if len(x) == 1 else x)
        return outputs, columns

    def _evaluate(self, outputs: list, targets: list):
        with no_grad():
            value = self.loss_fn(outputs, targets)
        loss = value.data if isinstance(value, Value) else float(value)
        accuracy = None if self.task == "regression" else _accuracy(outputs, targets)
        return _finite_or_none(loss), accuracy

    def _example(self, weights: list, output) -> dict:
        """The local derivatives of the example row's chain-rule story: d loss / d output, and per
        neuron its output and d output / d (w . x + b). Each comes from the engine's own rules, run
        by ``grad`` on a graph of fresh leaves: the model's Values are not involved, no .grad changes."""
        dloss = self._dloss(output, self.train[1][self.example])
        units, x, at = {}, self.train[0][self.example], 0
        for layer in self._layers:
            nxt = []
            for n in layer.neurons:
                k = len(n.w)
                z = Value(sum(map(operator.mul, weights[at:at + k], x), weights[at + k]))
                at += k + 1
                a = z if n.activation == "linear" else getattr(z, n.activation)()
                (local,) = grad(a, [z]) if a is not z else (1.0,)
                units[n.name] = [_finite_or_none(a.data), _finite_or_none(float(local))]
                nxt.append(a.data)
            x = nxt
        return {"row": self.example, "dloss": dloss, "units": units}

    def _dloss(self, output, target) -> list:
        """d loss / d output of one row's loss (one number per output), by the engine's own rules."""
        outs = [Value(v) for v in (output if isinstance(output, list) else [output])]
        loss = self.loss_fn([outs if len(outs) > 1 else outs[0]], [target])
        return [_finite_or_none(float(g)) for g in grad(loss, outs)]

    def page_data(self) -> dict:
        """Everything the replay page shows, as compact JSON-ready data (arrays in parameter order)."""
        index = {id(p): i for i, p in enumerate(self._params)}
        layers = [{"name": _layer_name(layer, li), "activation": layer.neurons[0].activation,
                   "neurons": [{"name": n.name, "activation": n.activation,
                                "w": [index[id(w)] for w in n.w], "b": index[id(n.b)]} for n in layer.neurons]}
                  for li, layer in enumerate(self._layers)]
        h = self.history

        def column(key):
            return [e[key] for e in h]

        return {
            "format": FORMAT, "version": 1, "model": repr(self.model), "task": self.task,
            "loss_fn": getattr(self.loss_fn, "__name__", "loss"), "loss_inferred": self.loss_inferred,
            "loss_mismatch": self._loss_mismatch(), "restored_to": self._restored_to(),
            "every": self.every, "example": self.example,
            "inputs": [f"x{i}" for i in range(len(self._layers[0].neurons[0].w))],
            "activations": {a.name: {"stuck": a.stuck, "stuck_text": a.stuck_text} for a in ACTIVATION_SPECS.values()},
            "params": self._keys, "layers": layers,
            "train": {"X": self.train[0], "y": self.train[1]},
            "val": None if self.val is None else {"X": self.val[0], "y": self.val[1]},
            "steps": column("step"), "loss": column("loss"), "lr": column("lr"),
            "train_loss": column("train_loss"), "train_accuracy": column("train_accuracy"),
            "val_loss": column("val_loss"), "val_accuracy": column("val_accuracy"),
            "weights": [[e["weights"][k] for k in self._keys] for e in h],
            "grads": [[e["grads"][k] for k in self._keys] for e in h],
            "units": [[[e["units"][n["name"]][s] for s in _UNIT_FIELDS] for layer in layers for n in layer["neurons"]]
                      for e in h],
            "unit_fields": list(_UNIT_FIELDS),
            "example_dloss": [e["example"]["dloss"] for e in h],
            "row_dloss": [e["row_dloss"] for e in h],
            "example_units": [[e["example"]["units"][n["name"]] for layer in layers for n in layer["neurons"]]
                              for e in h],
            # the weights as they are now: the last recorded step's update is the change to these
            "final_weights": [_finite_or_none(p.data) for p in self._params],
        }

    def _loss_mismatch(self):
        """[recorded, inferred] (their medians) when the inferred loss_fn is plainly not the loss passed
        to record(): the median ratio of the two over the recorded steps is off by more than 25%
        (a mini-batch's loss scatters around the whole set's, and a small extra term shifts it a
        little; another loss does not follow it), else None."""
        pairs = [(e["loss"], e["train_loss"]) for e in self.history
                 if e["loss"] is not None and e["train_loss"] is not None and e["train_loss"] > 0 and e["loss"] > 0]
        if not self.loss_inferred or not pairs:
            return None
        ratios = sorted(a / b for a, b in pairs)
        if 0.8 <= ratios[len(ratios) // 2] <= 1.25:
            return None
        return [sorted(a for a, _ in pairs)[len(pairs) // 2], sorted(b for _, b in pairs)[len(pairs) // 2]]

    def _restored_to(self):
        """The index of the earlier recorded step whose weights the model holds now (as after
        EarlyStopping.restore), or None when it holds the last step's weights or newer ones."""
        now = [p.data for p in self._params]
        for i, e in enumerate(self.history[:-1]):
            if [e["weights"][k] for k in self._keys] == now:
                return i
        return None

    def to_html(self, path) -> Path:
        """Write the replay page: one self-contained HTML file that works offline."""
        page = self._page()
        return atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))

    def _page(self) -> str:
        if not self.history:
            raise ValueError("to_html: nothing recorded yet; call rec.record(step, loss) in the training loop")
        assets = resources.files(__package__) / "assets"
        template = (assets / "replay.html").read_text(encoding="utf-8")
        css = (assets / "replay.css").read_text(encoding="utf-8")
        js = (assets / "replay.js").read_text(encoding="utf-8")
        data = _script_json(self.page_data())
        parts = {"__TITLE__": html.escape(f"training replay: {self.model!r}"), "/*__CSS__*/": css,
                 "__DATA__": data, "/*__JS__*/": js}  # in the order they appear in the template
        out, rest = [], template
        for marker, text in parts.items():  # each marker once, in order, so no text is substituted twice
            before, found, rest = rest.partition(marker)
            if not found:
                raise RuntimeError(f"replay.html lacks the marker {marker}")
            out += [before, text]
        return "".join(out) + rest

    def _repr_html_(self) -> str:
        """In Jupyter: the page inline, in an iframe."""
        if not self.history:
            return f"<p>nn.Recorder for {html.escape(repr(self.model))}: nothing recorded yet</p>"
        return (f'<iframe srcdoc="{html.escape(self._page(), quote=True)}" '
                'style="width: 100%; height: 920px; border: 1px solid #ddd"></iframe>')

    def __repr__(self) -> str:
        return f"Recorder({self.model!r}, {len(self.history)} steps recorded, every={self.every})"


_UNIT_FIELDS = ("mean", "min", "max", "active", "state")


def _unit_stats(activation: str, column: list) -> dict:
    """A neuron's outputs on the training rows: mean, min, max, the fraction > 0, and nn.health's verdict."""
    finite = [v for v in column if math.isfinite(v)]
    n = len(column)
    return {"mean": sum(finite) / len(finite) if finite else None, "min": min(finite, default=None),
            "max": max(finite, default=None), "active": sum(v > 0 for v in column) / n if n else None,
            "state": unit_state(activation, column)}


def _activation(name: str):
    """A float function applying a neuron's activation through the engine's own op (one source of truth)."""
    if name == "linear":
        return lambda z: z
    return lambda z: getattr(Value(z), name)().data


def _layer_name(layer, index: int) -> str:
    first = layer.neurons[0].name
    return first.rsplit(".", 1)[0] if "." in first else f"L{index + 1}"


def _script_json(data) -> str:
    """JSON that is safe inside a <script> element: no '<', '>', '&' or line separators left raw."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def _check_model(model) -> list:
    layers = getattr(model, "layers", None)
    if not layers or not all(getattr(layer, "neurons", None) for layer in layers):
        raise TypeError(f"Recorder: model must be an nn.MLP (layers of neurons), got {type(model).__name__} "
                        f"{_short(model)}")
    return list(layers)


def _check_data(pair, name: str, nin: int):
    """(X, y) as lists of float rows and targets, or a ValueError naming the argument and the value."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"Recorder: {name} must be an (X, y) pair, got {_short(pair)}")
    X, y = pair
    try:
        X, y = [list(row) for row in X], list(y)
    except TypeError:
        raise ValueError(f"Recorder: {name} must be an (X, y) pair of lists, got {_short(pair)}") from None
    if not X or len(X) != len(y):
        raise ValueError(f"Recorder: {name} needs as many targets as rows, at least one; got {len(X)} rows "
                         f"and {len(y)} targets: {_short(pair)}")
    for i, row in enumerate(X):
        if len(row) != nin or not all(_real(v) and math.isfinite(v) for v in row):
            raise ValueError(f"Recorder: {name} row {i} must be {nin} finite numbers (the model's inputs), "
                             f"got {_short(row)}")
    for i, t in enumerate(y):
        if not _real(t) or not math.isfinite(t):
            raise ValueError(f"Recorder: {name} target {i} must be a finite number, got {t!r}")
    return [[float(v) for v in row] for row in X], [int(t) if isinstance(t, numbers.Integral) else float(t) for t in y]
