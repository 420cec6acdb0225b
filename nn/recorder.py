"""Watch a network learn: ``Recorder`` keeps what each training step did and writes a replay page.

In your own loop, after ``loss.backward()`` and before the update::

    rec = nn.Recorder(model, train=(X, y), val=(Xv, yv))
    for step in range(100):
        loss = ...; model.zero_grad(); loss.backward()
        rec.record(step, loss, lr=lr)
        for p in model.parameters(): p.data -= lr * p.grad
    rec.to_html("replay.html")

With an optimizer, ``nn.Recorder(model, train, optimizer=opt)`` and ``rec.record(step, loss)``
before ``opt.step()`` (after any clipping): the page shows the update the optimizer applies
(Adam's, with momentum, clipped), read from ``opt.updates()``, and its learning rate.

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
from array import array
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from autograd import Value, enable_grad, grad, no_grad
from autograd.files import escape_surrogates, page_path, write_text
from autograd.graph import operands, toposort
from autograd.ops import page_ops

from .health import unit_state
from .module import ACTIVATION_SPECS
from .losses import bce_with_logits, cross_entropy, hinge_loss, mse_loss
from .optim import Optimizer
from .notebook import LiveView, in_notebook
from .training import accuracy

__all__ = ["Recorder"]

FORMAT = "chainrule.replay"
PAGE_BYTES = 20_000_000  # the replay page's size cap: a longer run's page keeps fewer frames (see page_plan)
_OPS_JS = resources.files("autograd") / "assets" / "ops.js"  # the op table's evaluator, shared with the stepper page
MAX_PATHS = 1000  # a neuron's paths up to the outputs that the story keeps, as trace.why's max_paths


def _short(x) -> str:
    return reprlib.repr(x)


def _real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _finite_or_none(x: float):
    """JSON has no NaN or infinity: a non-finite number is recorded as None."""
    return x if math.isfinite(x) else None


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

    ``history`` is a sequence with one dict per recorded step (``list(rec.history)`` is a plain list;
    the numbers are kept in a flat array, 8 bytes each, and each dict is made when read): ``step``,
    ``loss`` (what you passed), ``lr``, ``train_loss``/``train_accuracy`` and ``val_loss``/``val_accuracy`` (over the whole
    sets, with ``loss_fn``, as the model in eval mode computes), ``weights`` and ``grads``
    ({parameter label: number}), ``units`` ({neuron: activation statistics on the training rows})
    and ``example``: for training row ``example``, whose chain-rule story the page tells first, d loss /
    d output and each neuron's output and local derivative d output / d (w . x + b). ``loss_fn`` defaults to one that fits the targets: hinge for ±1, logistic for
    0/1, cross-entropy for class indices, mean squared error otherwise. Accuracy is None for
    regression. Non-finite numbers are recorded as None. Pass the step's ``lr`` and the page shows a
    weight's update as -lr * grad; without it, only the change until the next recorded step. Pass
    ``optimizer`` (an ``nn.optim`` optimizer) and each entry also has ``update`` ({label: the change
    ``optimizer.step()`` is about to make}), which the page shows as the update; ``lr`` defaults to
    its ``param_groups[0]["lr"]``.
    A page of a long run keeps evenly spaced frames under ``PAGE_BYTES`` (about 20 MB) and says so;
    its curves keep every recorded step (a run too long even for that keeps evenly spaced ones, and says so).
    With ``live=True`` in a Jupyter notebook, the loss, accuracy and decision boundary are drawn
    in one display updated in place as you record (at most twice a second); elsewhere it does nothing.
    """

    def __init__(self, model, train, val=None, every: int = 1, *, loss_fn=None, example: int = 0,
                 optimizer=None, live: bool = False) -> None:
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
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(f"Recorder: optimizer must be an nn.optim optimizer (such as nn.optim.Adam), got "
                            f"{type(optimizer).__name__} {_short(optimizer)}")
        self.optimizer = optimizer
        self.every = every
        self.example = example
        self.task, self.loss_fn = _task(self.train[1] + (self.val[1] if self.val else []), nout, loss_fn)
        self._params = model.parameters()
        self._keys = [p.label or f"p{i}" for i, p in enumerate(self._params)]  # as state_dict names them
        self._units = [n for layer in self._layers for n in layer.neurons]
        self._fields, self._width = _layout(len(self._params), len(self._units), nout, optimizer is not None)
        # every recorded number in one flat array, one row of self._width per step (None as NaN):
        # 8 bytes a number, where a dict of floats per step cost about 100
        self._rows = array("d")
        self._states = array("b")  # per recorded step, each unit's state as an index into _STATES
        self.history = _History(self)
        self.loss_inferred = loss_fn is None  # then the page says so, and checks it against what you record
        self._row_dloss = array("d")  # per recorded step, d loss / d output of every training row (a page's clicked row)
        self._last_step = None
        self._story_data = None  # the chain-rule story's structure, built when a page is first written
        if not isinstance(live, bool):
            raise TypeError(f"Recorder: live must be True or False, got {live!r}")
        self._live = LiveView(self) if live and in_notebook() else None  # outside a notebook: record only

    def record(self, step: int, loss, lr: float | None = None) -> None:
        """Record this step (after ``backward()``, which is checked, and before the update) when ``step`` is a multiple of ``every``."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"record: step must be an int >= 0, got {step!r}")
        if self._last_step is not None and step <= self._last_step:
            raise ValueError(f"record: step must increase from call to call; got {step!r} after {self._last_step}")
        if isinstance(loss, Value):
            if loss.op and loss.grad == 0.0:  # backward() seeds its root with 1.0: before it, the gradients are not this loss's
                raise ValueError("record: the loss's backward() has not run (loss.grad is 0.0), so every gradient "
                                 "recorded would be 0 or stale; call rec.record(step, loss) after loss.backward() and "
                                 "before the update (a loss whose gradients other backward passes gave: pass loss.data)")
            loss = loss.data
        elif not _real(loss):
            raise TypeError(f"record: loss must be a Value or a number, got {type(loss).__name__} {_short(loss)}")
        if lr is not None and (not _real(lr) or not 0 < lr < math.inf):
            raise ValueError(f"record: lr must be a positive number or None, got {lr!r}")
        self._last_step = step
        if step % self.every:
            return
        weights = [p.data for p in self._params]
        updates = []
        if self.optimizer is not None:  # what opt.step() will change each weight by (0.0: not its parameter)
            lr = self.optimizer.param_groups[0]["lr"] if lr is None else lr
            changes = self.optimizer.updates()
            updates = [changes.get(p, 0.0) for p in self._params]
        outputs, columns = self._forward(self.train[0], weights)
        train = self._evaluate(outputs, self.train[1])
        val = (math.nan, math.nan) if self.val is None else self._evaluate(self._forward(self.val[0], weights)[0],
                                                                            self.val[1])
        units = [_unit_stats(n.activation, column) for n, column in
                 zip(self._units, (column for layer_columns in columns for column in layer_columns))]
        dloss, example = self._example(weights, outputs[self.example])
        self._row_dloss.extend(v for o, t in zip(outputs, self.train[1]) for v in self._dloss(o, t))
        self._rows.extend([step, loss, math.nan if lr is None else lr, *train, *val, *weights,
                           *(p.grad for p in self._params), *(v for stats, _ in units for v in stats), *dloss, *example,
                           *updates])
        self._states.extend(state for _, state in units)
        if self._live is not None:  # None for a number that is not there (nan) or not finite
            self._live.update(step, *(_finite_or_none(float(x)) for x in (loss, train[1], val[1])), weights)

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

    def _evaluate(self, outputs: list, targets: list) -> tuple:
        """(loss, accuracy) on a set; NaN for what is not a finite number (a loss overflowing a float)."""
        try:
            with no_grad():
                value = self.loss_fn(outputs, targets)
            loss = value.data if isinstance(value, Value) else float(value)
        except ArithmeticError:  # huge weights: the loss itself is too large for a float
            loss = math.nan
        return loss, math.nan if self.task == "regression" else accuracy(outputs, targets)

    def _example(self, weights: list, output) -> tuple:
        """The local derivatives of the example row's chain-rule story: d loss / d output, and per
        neuron its output and d output / d (w . x + b), as two flat lists (NaN where a number
        overflows). Each comes from the engine's own rules, run by ``grad`` on a graph of fresh
        leaves: the model's Values are not involved, no .grad changes."""
        outs = [Value(v) for v in (output if isinstance(output, list) else [output])]
        target = self.train[1][self.example]
        try:
            loss = self.loss_fn([outs if len(outs) > 1 else outs[0]], [target])
            dloss = [float(g) for g in grad(loss, outs)]
        except ArithmeticError:
            dloss = [math.nan] * len(outs)
        units, x, at = [], self.train[0][self.example], 0
        for layer in self._layers:
            nxt = []
            for n in layer.neurons:
                k = len(n.w)
                z = Value(sum(map(operator.mul, weights[at:at + k], x), weights[at + k]))
                at += k + 1
                try:
                    op = ACTIVATION_SPECS[n.activation].op
                    a = z if op is None else getattr(z, op)()
                    (local,) = grad(a, [z]) if a is not z else (1.0,)
                    units += [a.data, float(local)]
                except ArithmeticError:
                    units += [math.nan, math.nan]
                nxt.append(units[-2])
            x = nxt
        return dloss, units

    def _dloss(self, output, target) -> list:
        """d loss / d output of one row's loss (one number per output), by the engine's own rules."""
        outs = [Value(v) for v in (output if isinstance(output, list) else [output])]
        try:
            return [float(g) for g in grad(self.loss_fn([outs if len(outs) > 1 else outs[0]], [target]), outs)]
        except ArithmeticError:
            return [math.nan] * len(outs)

    def _frame(self, k: int) -> dict:
        """Recorded step ``k``'s numbers beyond the curves, as the page's per-frame arrays hold them
        (in parameter and neuron order, non-finite numbers as None)."""
        row, f, nunits = self._rows[k * self._width:(k + 1) * self._width], self._fields, len(self._units)

        def numbers(name):
            return [_finite_or_none(v) for v in row[f[name]]]

        stats, states = numbers("units"), self._states[k * nunits:(k + 1) * nunits]
        width = len(_UNIT_NUMBERS)
        frame = {"weights": numbers("weights"), "grads": numbers("grads"),
                 "units": [stats[width * u:width * (u + 1)] + [_STATES[states[u]]] for u in range(nunits)],
                 "row_dloss": self._rows_dloss(k)}
        if self.optimizer is not None:
            frame["updates"] = numbers("updates")
        return frame

    def _rows_dloss(self, k: int) -> list:
        """Recorded step ``k``'s d loss / d output per training row (a list of one number per output)."""
        nout, rows = len(self._layers[-1].neurons), len(self.train[0])
        flat = [_finite_or_none(v) for v in self._row_dloss[k * rows * nout:(k + 1) * rows * nout]]
        return [flat[r * nout:(r + 1) * nout] for r in range(rows)]

    def _entry(self, k: int) -> dict:
        """Recorded step ``k`` as the dict ``history`` shows (non-finite numbers as None)."""
        row, frame = self._rows[k * self._width:(k + 1) * self._width], self._frame(k)
        names = [n.name for n in self._units]
        entry = {name: _finite_or_none(row[self._fields[name].start]) for name in _SCALARS}
        entry["step"] = int(row[self._fields["step"].start])
        entry["weights"] = dict(zip(self._keys, frame["weights"]))
        entry["grads"] = dict(zip(self._keys, frame["grads"]))
        if self.optimizer is not None:
            entry["update"] = dict(zip(self._keys, frame["updates"]))
        entry["units"] = {name: dict(zip(_UNIT_FIELDS, stats)) for name, stats in zip(names, frame["units"])}
        example = [_finite_or_none(v) for v in row[self._fields["example"]]]
        entry["example"] = {"row": self.example, "dloss": [_finite_or_none(v) for v in row[self._fields["dloss"]]],
                            "units": {name: example[2 * u:2 * u + 2] for u, name in enumerate(names)}}
        entry["row_dloss"] = frame["row_dloss"]
        return entry

    def page_data(self, frames=None, points=None) -> dict:
        """Everything the replay page shows, as compact JSON-ready data (arrays in parameter order):
        the curves at the recorded steps ``points`` and the weights, gradients and units at the
        recorded steps ``frames`` (both indices into ``history``, sorted, frames among the points;
        None: all of them). The page's ``frames`` are positions in its curves. ``story`` (see
        ``story``) and ``ops`` (the op table's forms the page evaluates it with) tell any row's
        chain-rule story at any frame, with each row's d loss / d output in ``row_dloss``."""
        index = {id(p): i for i, p in enumerate(self._params)}
        layers = [{"name": _layer_name(layer, li), "activation": layer.neurons[0].activation,
                   "neurons": [{"name": n.name, "activation": n.activation,
                                "w": [index[id(w)] for w in n.w], "b": index[id(n.b)]} for n in layer.neurons]}
                  for li, layer in enumerate(self._layers)]
        n = len(self.history)
        points = range(n) if points is None else _indices(points, n, "points")
        frames = range(n) if frames is None else _indices(frames, n, "frames")
        at = {k: j for j, k in enumerate(points)}
        if any(k not in at for k in frames):
            raise ValueError(f"page_data: every frame must be among the points, got {_short(list(frames))}")
        curves = {name: [_finite_or_none(self._rows[k * self._width + self._fields[name].start]) for k in points]
                  for name in _SCALARS}
        curves["steps"] = [int(self._rows[k * self._width + self._fields["step"].start]) for k in points]
        shown = [self._frame(k) for k in frames]
        return {
            "format": FORMAT, "version": 3, "model": repr(self.model), "task": self.task,
            "loss_fn": getattr(self.loss_fn, "__name__", "loss"), "loss_inferred": self.loss_inferred,
            "loss_mismatch": self._loss_mismatch(), "restored_to": self._restored_to(frames),
            "every": self.every, "example": self.example,
            "activations": {a.name: {"op": a.op, "stuck": a.stuck, "stuck_text": a.stuck_text}
                            for a in ACTIVATION_SPECS.values()},
            "inputs": [f"x{i}" for i in range(len(self._layers[0].neurons[0].w))],
            "params": self._keys, "layers": layers, "story": self._story(),
            # the op table's forms of every op the model uses, which the page's arithmetic evaluates
            "ops": page_ops(node[0] for node in self._story()["nodes"] if isinstance(node, list)),
            "train": {"X": self.train[0], "y": self.train[1]},
            "val": None if self.val is None else {"X": self.val[0], "y": self.val[1]},
            "recorded": n,
            # the curves: every recorded step, unless a very long run was thinned
            "steps": curves["steps"], "loss": curves["loss"], "lr": curves["lr"],
            "train_loss": curves["train_loss"], "train_accuracy": curves["train_accuracy"],
            "val_loss": curves["val_loss"], "val_accuracy": curves["val_accuracy"],
            # the frames: where in the curves the arrays below are (all, unless a long run was thinned)
            "frames": [at[k] for k in frames],
            **{name: [f[name] for f in shown] for name in _FRAME_FIELDS},
            # the optimizer's own update per frame (None: the page shows -lr * grad, or the change)
            "optimizer": None if self.optimizer is None else type(self.optimizer).__name__,
            "updates": None if self.optimizer is None else [f["updates"] for f in shown],
            "unit_fields": list(_UNIT_FIELDS),
            # the weights as they are now: the last recorded step's update is the change to these
            "final_weights": [_finite_or_none(p.data) for p in self._params],
        }

    def _story(self) -> dict:
        """The chain-rule story's structure (``story``), built once: it is the same for every row and step."""
        if self._story_data is None:
            self._story_data = story(self._layers, self._params)
        return self._story_data

    def _loss_mismatch(self):
        """[recorded, inferred] (their medians) when the inferred loss_fn is plainly not the loss passed
        to record(): the median ratio of the two over the recorded steps is off by more than 25%
        (a mini-batch's loss scatters around the whole set's, and a small extra term shifts it a
        little; another loss does not follow it), else None."""
        f, w = self._fields, self._width
        pairs = [(self._rows[k * w + f["loss"].start], self._rows[k * w + f["train_loss"].start])
                 for k in range(len(self.history))]
        pairs = [(a, b) for a, b in pairs if math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0]
        if not self.loss_inferred or not pairs:
            return None
        ratios = sorted(a / b for a, b in pairs)
        if 0.8 <= ratios[len(ratios) // 2] <= 1.25:
            return None
        return [sorted(a for a, _ in pairs)[len(pairs) // 2], sorted(b for _, b in pairs)[len(pairs) // 2]]

    def _restored_to(self, frames):
        """The index among the page's ``frames`` of the earlier recorded step whose weights the model
        holds now (as after EarlyStopping.restore), or None when it holds the last step's or newer ones."""
        now, f, w = [p.data for p in self._params], self._fields["weights"], self._width
        last = len(self.history) - 1
        if list(self._rows[last * w:(last + 1) * w][f]) == now:
            return None  # it holds the last step's (weights that never moved equal earlier steps' too)
        for i, k in enumerate(frames):
            if list(self._rows[k * w:(k + 1) * w][f]) == now:
                return i
        return None

    def page_plan(self, limit: int | None = None) -> tuple:
        """Which recorded steps the page keeps so that it stays under ``limit`` bytes (``PAGE_BYTES``):
        ``(points, frames)``, the steps in its curves (all, unless they alone would take half the
        limit) and the steps it shows whole (all, or evenly spaced ones with the first, the last and
        the best: the lowest validation loss, else training loss)."""
        limit = PAGE_BYTES if limit is None else limit
        n = len(self.history)
        everything = list(range(n))
        if n < 3:
            return everything, everything
        bare = len(_script_json(self.page_data(frames=[], points=[])))
        fixed = bare + _assets_size() + len(html.escape(repr(self.model)))
        per_point = (len(_script_json(self.page_data(frames=[]))) - bare) / n + 1
        per_frame = max(len(_script_json(self._frame(k))) for k in {0, n // 2, n - 1})
        points = everything if fixed + per_point * n <= limit / 2 else _evenly(n, int((limit / 2 - fixed) / per_point))
        keep = int((limit - fixed - per_point * len(points)) // per_frame) - 1  # - 1: room for the best
        if keep >= n:
            return everything, everything
        losses = self._rows[self._fields["val_loss" if self.val is not None else "train_loss"].start::self._width]
        finite = [k for k in range(n) if math.isfinite(losses[k])]
        frames = sorted(set(_evenly(n, keep)) | ({min(finite, key=losses.__getitem__)} if finite else set()))
        return sorted(set(points) | set(frames)), frames

    def to_html(self, path, *, overwrite: bool = False) -> Path:
        """Write the replay page: one self-contained HTML file that works offline (a read-only
        file is kept unless ``overwrite``)."""
        return write_text(page_path(path, "Recorder.to_html"), self._page(), overwrite=overwrite)

    def _page(self) -> str:
        if not self.history:
            raise ValueError("to_html: nothing recorded yet; call rec.record(step, loss) in the training loop")
        assets = resources.files(__package__) / "assets"
        template = (assets / "replay.html").read_text(encoding="utf-8")
        css = (assets / "replay.css").read_text(encoding="utf-8")
        js = _OPS_JS.read_text(encoding="utf-8") + (assets / "replay.js").read_text(encoding="utf-8")
        points, frames = self.page_plan()
        data = _script_json(self.page_data(frames, points))
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


_SCALARS = ("step", "loss", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
_UNIT_FIELDS = ("mean", "min", "max", "active", "state")
_UNIT_NUMBERS = _UNIT_FIELDS[:-1]  # recorded as numbers; the state as an index into _STATES
_STATES = (None, "dead", "saturated")  # a unit's state as recorded: its index here
_FRAME_FIELDS = ("weights", "grads", "units", "row_dloss")


def _layout(nparams: int, nunits: int, nout: int, updates: bool = False) -> tuple:
    """Where each recorded fact sits in a step's row of numbers: ({name: slice}, row width); with
    ``updates`` (an optimizer recorded), each parameter's update last."""
    widths = [(name, 1) for name in _SCALARS] + [("weights", nparams), ("grads", nparams),
                                                  ("units", len(_UNIT_NUMBERS) * nunits), ("dloss", nout), ("example", 2 * nunits),
                                                  ("updates", nparams if updates else 0)]
    fields, at = {}, 0
    for name, width in widths:
        fields[name] = slice(at, at + width)
        at += width
    return fields, at


class _History(Sequence):
    """``Recorder.history``: one dict per recorded step, made from the recorder's flat arrays when read."""

    def __init__(self, rec: "Recorder") -> None:
        self._rec = rec

    def __len__(self) -> int:
        return len(self._rec._rows) // self._rec._width

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"history: index {i} out of range for {n} recorded steps")
        return self._rec._entry(i % n)

    def __repr__(self) -> str:
        return f"<history of {len(self)} recorded steps>"


def story(layers: list, params: list) -> dict:
    """The structure of every row's chain-rule story, which the replay page evaluates at the row and
    step a learner picks: ``nodes``, the model's graph for one row as its own neurons build it (in
    eval mode: no dropout), each node ``{"param": p}``, ``{"input": k}`` or ``[op, arg, ...]`` (an
    arg is a node's index or ``{"const": c}``), in topological order; ``units``, the node of each
    neuron's output; and from ``trace.paths``, ``above``: per neuron the paths from the outputs down
    to it, each ``[output, node, operand, node, operand, ...]``, and ``below``: per parameter the one
    path from its neuron down to it, ``[node, operand, ...]``. Along a path each (node, operand) is
    one factor: the local derivative of that node's op with respect to that operand. A path to a
    parameter is one of its neuron's paths above, then the path below, so every neuron's paths to
    the outputs are listed once. Additions inside a neuron (local derivative 1) are left out, as
    the page shows neurons, except a bias's own edge. ``truncated``: per neuron, whether paths
    beyond ``MAX_PATHS`` were left out."""
    from autograd.trace import paths_within  # when a page is written: importing nn leaves autograd's tools unloaded

    nin = len(layers[0].neurons[0].w)
    inputs = [Value(0.0) for _ in range(nin)]
    units, h = [], inputs
    with enable_grad():  # any weights, even inf or NaN, give a graph: these ops never raise
        for layer in layers:
            h = layer(h)
            units += h
    order, seen = [], set()
    for out in h:
        for node in toposort(out):
            if node not in seen:
                seen.add(node)
                order.append(node)
    index = {node: i for i, node in enumerate(order)}
    leaves = {**{p: {"param": i} for i, p in enumerate(params)}, **{x: {"input": k} for k, x in enumerate(inputs)}}
    nodes = [leaves[node] if node in leaves else
             [node.op] + [{"const": _finite_or_none(a)} if type(a) is float else index[a] for a in operands(node)]
             for node in order]
    # Each neuron's own nodes (its parameters and what it computes from them), in the graph's order:
    # the paths from a neuron's output down to its parameters stay among them.
    owner = {p: u for u, n in enumerate(n for layer in layers for n in layer.neurons) for p in n.parameters()}
    own, outputs = [[] for _ in units], set(units)
    for node in order:
        if node.op:  # an operand of a neuron's node is one of its parameters or nodes (not another neuron's output)
            owner[node] = next(owner[a] for a in operands(node) if type(a) is not float and a in owner
                               and a not in outputs)
        if node in owner:
            own[owner[node]].append(node)

    def edges(path, keep_last: bool) -> list:
        flat = []
        for j, (node, k) in enumerate(zip(path.nodes, path.operands)):
            if node.op != "add" or (keep_last and j == len(path.operands) - 1):
                flat += [index[node], k]
        return flat

    # the paths from the outputs down to a neuron stay among it and the nodes of the layers above it
    layer_of = [li for li, layer in enumerate(layers) for _ in layer.neurons]
    later = [[node for node in order if node in owner and layer_of[owner[node]] > li] for li in range(len(layers))]
    above, truncated, local = [], [], {}
    for u, unit in enumerate(units):
        found, among = [], [unit] + later[layer_of[u]]
        for o, out in enumerate(h):
            if len(found) <= MAX_PATHS:
                found += [[o] + edges(q, False)
                          for q in paths_within(among, unit, out, MAX_PATHS + 1 - len(found), local)]
        truncated.append(len(found) > MAX_PATHS)
        above.append(found[:MAX_PATHS])
    below = [edges(paths_within(own[owner[p]], p, units[owner[p]], 1, local)[0], True) for p in params]
    return {"nodes": nodes, "units": [index[u] for u in units], "above": above, "below": below,
            "truncated": truncated, "max_paths": MAX_PATHS}


def _unit_stats(activation: str, column: list) -> tuple:
    """A neuron's outputs on the training rows: ([mean, min, max, fraction > 0], index of nn.health's
    verdict in _STATES); NaN where no output is finite. The mean sums v / n, so it cannot overflow."""
    finite = [v for v in column if math.isfinite(v)]
    n = len(column)
    stats = [math.fsum(v / len(finite) for v in finite) if finite else math.nan, min(finite, default=math.nan),
             max(finite, default=math.nan), sum(v > 0 for v in column) / n if n else math.nan]
    return stats, _STATES.index(unit_state(activation, column))


def _activation(name: str):
    """A float function applying a neuron's activation through the engine's own op (one source of truth)."""
    op = ACTIVATION_SPECS[name].op
    if op is None:
        return lambda z: z
    return lambda z: getattr(Value(z), op)().data


def _evenly(n: int, keep: int) -> list:
    """``keep`` (at least 2) evenly spaced indices of range(n), the first and the last among them."""
    keep = max(2, min(n, keep))
    return sorted({round(j * (n - 1) / (keep - 1)) for j in range(keep)})


def _indices(ks, n: int, name: str) -> list:
    """``ks`` as a sorted list of distinct indices of range(n), or a ValueError naming ``name``."""
    ks = list(ks)
    if any(isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n for k in ks) or ks != sorted(set(ks)):
        raise ValueError(f"page_data: {name} must be sorted indices of the {n} recorded steps, got {_short(ks)}")
    return ks


def _assets_size() -> int:
    """The replay page's bytes besides its data: template, style and script."""
    assets = resources.files(__package__) / "assets"
    files = [assets / "replay.html", assets / "replay.css", assets / "replay.js", _OPS_JS]
    return sum(len(f.read_bytes()) for f in files)


def _layer_name(layer, index: int) -> str:
    first = layer.neurons[0].name
    return first.rsplit(".", 1)[0] if "." in first else f"L{index + 1}"


def _script_json(data) -> str:
    """JSON that is safe inside a <script> element: no '<', '>', '&' or line separators left raw."""
    text = escape_surrogates(json.dumps(data, allow_nan=False, separators=(",", ":")))
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
