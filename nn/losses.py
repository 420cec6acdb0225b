"""Losses: each takes predictions (Values or numbers) and targets, and returns a Value (the mean).

Targets are numbers, or Values holding them (a mini-batch's targets as ``compile_graph`` feeds)."""

from __future__ import annotations

import math
import numbers
from typing import Sequence

from autograd import Value

__all__ = ["mse_loss", "hinge_loss", "bce_with_logits", "cross_entropy"]


def _pairs(where: str, preds, targets) -> list:
    preds = [preds] if isinstance(preds, (Value, int, float)) else list(preds)
    targets = [targets] if isinstance(targets, (Value, int, float)) else list(targets)
    if not preds or len(preds) != len(targets):
        raise ValueError(f"{where}: {len(preds)} predictions and {len(targets)} targets; need the same, non-zero, number")
    for t in targets:
        if isinstance(_data(t), bool) or not isinstance(_data(t), numbers.Real) or not math.isfinite(_data(t)):
            raise ValueError(f"{where}: targets must be finite numbers, got {t!r}")
    return [(p if isinstance(p, Value) else Value(p), t) for p, t in zip(preds, targets)]


def _data(t):
    return t.data if isinstance(t, Value) else t


def _mean(terms: list) -> Value:
    return sum(terms[1:], terms[0]) * (1.0 / len(terms))


def mse_loss(preds, targets) -> Value:
    """mean((pred - target) ** 2)"""
    return _mean([(p - t) ** 2 for p, t in _pairs("mse_loss", preds, targets)])


def hinge_loss(scores, labels) -> Value:
    """mean(relu(1 - label * score)) with labels -1 or +1 (micrograd's max-margin loss)."""
    pairs = _pairs("hinge_loss", scores, labels)
    for _, y in pairs:
        if _data(y) not in (-1, 1):
            raise ValueError(f"hinge_loss: labels must be -1 or +1, got {y!r}")
    return _mean([(1 - y * s).relu() for s, y in pairs])


def bce_with_logits(logits, targets) -> Value:
    """mean(binary cross-entropy of sigmoid(logit)), stable for any logit: relu(z) - z*t + log(1 + exp(-|z|))."""
    pairs = _pairs("bce_with_logits", logits, targets)
    for _, t in pairs:
        if not 0 <= _data(t) <= 1:
            raise ValueError(f"bce_with_logits: targets must be in [0, 1], got {t!r}")
    terms = []
    for z, t in pairs:
        terms.append(z.relu() - z * t + (1 + (-abs(z)).exp()).log())
    return _mean(terms)


def cross_entropy(logits: Sequence, target) -> Value:
    """-log softmax(logits)[target], stable (shifted by the largest logit).

    ``logits`` is a list of Values with ``target`` an int, or a batch: a list of such lists with a
    list of ints, giving the mean.
    """
    if len(logits) and hasattr(logits[0], "__len__"):  # len(), not truth: numpy arrays have no single truth value
        if isinstance(target, numbers.Integral) or len(logits) != len(target):
            raise ValueError(f"cross_entropy: a batch of {len(logits)} needs as many targets, got {target!r}")
        return _mean([cross_entropy(row, t) for row, t in zip(logits, target)])
    logits = [z if isinstance(z, Value) else Value(z) for z in logits]
    if not logits:
        raise ValueError("cross_entropy: logits is empty")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral) or not 0 <= target < len(logits):
        raise ValueError(f"cross_entropy: target must be a class index in [0, {len(logits)}), got {target!r}")
    shift = max(z.data for z in logits)
    exps = [(z - shift).exp() for z in logits]
    return sum(exps[1:], exps[0]).log() + shift - logits[int(target)]
