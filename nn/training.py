"""Pieces around a hand-written training loop: an L2 penalty, accuracy, early stopping."""

from __future__ import annotations

import math
import numbers
from typing import Sequence

from autograd import Value

from .module import Module, Neuron

__all__ = ["l2", "accuracy", "EarlyStopping"]


def _neurons(model) -> list:
    if isinstance(model, Neuron):
        return [model]
    if hasattr(model, "layers"):
        return [n for layer in model.layers for n in _neurons(layer)]
    if hasattr(model, "neurons"):
        return list(model.neurons)
    raise TypeError(f"l2: expected an nn.MLP, Layer or Neuron, got {type(model).__name__}")


def l2(model) -> Value:
    """The sum of the squared weights (biases excluded), a Value to add to the loss: ``loss + alpha * l2(model)``."""
    weights = [w for n in _neurons(model) for w in n.w]
    return sum((w * w for w in weights[1:]), weights[0] * weights[0])


def _number(p, where: str) -> float:
    x = p.data if isinstance(p, Value) else p
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"accuracy: {where} must be a number or a Value, got {type(p).__name__} {p!r}")
    return float(x)


def _logits(p):
    """The row of logits ``p`` as a list, or None when ``p`` is one score (a number, a Value, a 0-d array)."""
    if isinstance(p, (Value, str, bytes)) or not hasattr(p, "__len__"):
        return None
    try:
        return list(p)
    except TypeError:  # a 0-d numpy array has __len__ but no length
        return None


def _right(p, t, i: int) -> bool:
    """Whether prediction ``p`` gets target ``t`` right; a NaN score, or a row holding a NaN, never does."""
    row = _logits(p)
    if row is not None:  # a row of logits: t is a class index
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not 0 <= t < len(row):
            raise ValueError(f"accuracy: targets[{i}] must be a class index in 0..{len(row) - 1}, got {t!r}")
        row = [_number(v, f"predictions[{i}]") for v in row]
        return not any(map(math.isnan, row)) and row.index(max(row)) == int(t)
    if t not in (-1, 0, 1):
        raise ValueError(f"accuracy: with one score per row, targets must be -1/+1 or 0/1; targets[{i}] is {t!r}")
    score = _number(p, f"predictions[{i}]")
    return not math.isnan(score) and bool(score > 0) == bool(t > 0)


def accuracy(predictions: Sequence, targets: Sequence) -> float:
    """The fraction right: for ±1 or 0/1 targets a score is positive when it is > 0; for class indices
    each row of logits predicts its argmax; a NaN prediction is never right. Predictions may be
    Values or numbers, in lists, tuples or numpy arrays."""
    if not hasattr(predictions, "__len__") or not hasattr(targets, "__len__"):
        raise TypeError(f"accuracy: expected lists of predictions and targets, got "
                        f"{type(predictions).__name__} and {type(targets).__name__}")
    if len(predictions) == 0 or len(predictions) != len(targets):
        raise ValueError(f"accuracy: {len(predictions)} predictions and {len(targets)} targets; "
                         "need the same, non-zero, number")
    right = sum(_right(p, t, i) for i, (p, t) in enumerate(zip(predictions, targets)))
    return right / len(targets)


class EarlyStopping:
    """Call ``step(val_loss, model)`` once per epoch; it returns True once ``patience`` epochs in a row
    have not beaten the best loss by more than ``min_delta``. ``restore(model)`` puts the best weights back.
    A nan or infinite validation loss (training diverged) is a ValueError: it is never the best, and
    the best weights so far are still there for ``restore``."""

    def __init__(self, patience: int = 10, min_delta: float = 0.0) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an int >= 1, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not 0 <= min_delta < math.inf:
            raise ValueError(f"EarlyStopping: min_delta must be a finite number >= 0, got {min_delta!r}")
        self.patience, self.min_delta = patience, float(min_delta)
        self.best = math.inf  # the lowest validation loss seen
        self.best_epoch = None  # the index (from 0) of the step() call that saw it
        self.epoch = -1  # the index of the latest step() call
        self.bad_epochs = 0  # epochs in a row without improvement
        self._weights = None

    def step(self, val_loss, model: Module) -> bool:
        """Record this epoch's validation loss (keeping the weights if it is the best); True means stop."""
        loss = val_loss.data if isinstance(val_loss, Value) else val_loss
        if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
            raise TypeError(f"EarlyStopping.step: val_loss must be a number or a Value, got {val_loss!r}")
        if not math.isfinite(loss):
            best = ("no finite loss was seen yet" if self.best_epoch is None
                    else f"call restore(model) for the best weights (epoch {self.best_epoch}, loss {self.best:.4g})")
            raise ValueError(f"EarlyStopping.step: val_loss is {float(loss)!r} at epoch {self.epoch + 1}: training "
                             f"diverged; stop, {best}, and try a lower learning rate")
        self.epoch += 1
        if loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = float(loss), self.epoch, 0
            self._weights = [p.data for p in model.parameters()]
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model: Module) -> None:
        """Set the model's parameters to the weights of the best epoch."""
        if self._weights is None:
            raise ValueError("EarlyStopping.restore: no finite validation loss was seen yet; call step() first")
        params = model.parameters()
        if len(params) != len(self._weights):
            raise ValueError(f"EarlyStopping.restore: the model has {len(params)} parameters, "
                             f"the saved weights {len(self._weights)}")
        for p, w in zip(params, self._weights):
            p.data = w

    def __repr__(self) -> str:
        return f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, best={self.best:.4g} " \
               f"at epoch {self.best_epoch})"
