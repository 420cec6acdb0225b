"""Small seeded datasets as plain lists (inputs ``X``, lists of floats; targets ``y``), and the
tools around them: ``split`` into train/validation/test, ``batches`` for an epoch, ``Standardizer``."""

from __future__ import annotations

import math
import random

__all__ = ["make_moons", "make_spiral", "make_xor", "make_sine", "split", "batches", "Standardizer"]


def _count(n, where: str, noise=0.0) -> int:
    """Check a data maker's ``n`` (an int >= 2) and ``noise`` (a standard deviation, finite and >= 0)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"{where}: n must be an int >= 2, got {n!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < math.inf:
        raise ValueError(f"{where}: noise is a standard deviation, a finite number >= 0; got {noise!r}")
    return n


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles; labels -1 (upper moon) and +1 (lower moon)."""
    _count(n, "make_moons", noise)
    rng = random.Random(seed)
    n_upper = n // 2
    X, y = [], []
    for i in range(n):
        upper = i < n_upper
        m = n_upper if upper else n - n_upper
        t = math.pi * (i if upper else i - n_upper) / max(m - 1, 1)
        px, py = (math.cos(t), math.sin(t)) if upper else (1.0 - math.cos(t), 0.5 - math.sin(t))
        X.append([px + rng.gauss(0.0, noise), py + rng.gauss(0.0, noise)])
        y.append(-1 if upper else 1)
    order = list(range(n))
    rng.shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def make_spiral(n: int = 90, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """``classes`` interleaved spiral arms; labels 0 .. classes-1."""
    _count(n, "make_spiral", noise)
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        c = i % classes
        r = (i // classes + 1) / (n // classes + 1)
        t = 4.0 * r + 2.0 * math.pi * c / classes + rng.gauss(0.0, noise)
        X.append([r * math.sin(t), r * math.cos(t)])
        y.append(c)
    return X, y


def make_xor():
    """The four corners of the XOR truth table, labels -1 and +1."""
    return [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [-1, 1, 1, -1]


def make_sine(n: int = 40, noise: float = 0.0, seed: int = 0):
    """sin(x) sampled evenly on [-pi, pi], with optional Gaussian noise."""
    _count(n, "make_sine", noise)
    rng = random.Random(seed)
    xs = [-math.pi + 2 * math.pi * i / (n - 1) for i in range(n)]
    return [[x] for x in xs], [math.sin(x) + rng.gauss(0.0, noise) for x in xs]


def _rows(X, y, where: str) -> int:
    """Check that X and y are non-empty lists of the same length; return that length."""
    for name, v in (("X", X), ("y", y)):
        if not hasattr(v, "__len__") or isinstance(v, (str, bytes)):
            raise TypeError(f"{where}: {name} must be a list, got {type(v).__name__}")
    if len(X) != len(y):
        raise ValueError(f"{where}: X has {len(X)} rows but y has {len(y)}; they must be the same length")
    if not X:
        raise ValueError(f"{where}: X is empty; there are no rows to use")
    return len(X)


def _fraction(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"split: {name} must be a fraction in [0, 1), got {x!r}")
    if not 0.0 <= x < 1.0:
        raise ValueError(f"split: {name} must be a fraction in [0, 1), got {x!r}")
    return float(x)


def split(X: list, y: list, val: float = 0.2, test: float = 0.0, seed=0) -> tuple:
    """Shuffle the rows by ``seed`` and cut them into ``(train, val, test)``, each an ``(X, y)`` pair."""
    n = _rows(X, y, "split")
    val, test = _fraction(val, "val"), _fraction(test, "test")
    if val + test >= 1.0:
        raise ValueError(f"split: val + test must be below 1 to leave training rows, got {val} + {test} = {val + test}")
    n_val, n_test = round(val * n), round(test * n)
    if n_val + n_test >= n:
        raise ValueError(f"split: val={val} and test={test} of {n} rows leave no training rows")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cuts = (order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test])
    return tuple(([X[i] for i in part], [y[i] for i in part]) for part in cuts)


def batches(X: list, y: list, size: int, seed=None) -> list:
    """One epoch of ``(X_batch, y_batch)`` pairs of ``size`` rows (the last may be smaller), shuffled by
    ``seed`` (None: in order)."""
    n = _rows(X, y, "batches")
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"batches: size must be an int >= 1, got {size!r}")
    if size < 1:
        raise ValueError(f"batches: size must be an int >= 1, got {size!r}")
    order = list(range(n))
    if seed is not None:
        random.Random(seed).shuffle(order)
    return [([X[i] for i in order[k:k + size]], [y[i] for i in order[k:k + size]]) for k in range(0, n, size)]


class Standardizer:
    """Per-column ``(x - mean) / std`` with the statistics of the rows given to ``fit`` (the training rows)."""

    def __init__(self, mean: list, std: list) -> None:
        self.mean, self.std = list(mean), list(std)

    @classmethod
    def fit(cls, X: list) -> "Standardizer":
        """Learn each column's mean and standard deviation from ``X``; a constant column gets std 1."""
        if not hasattr(X, "__len__") or not X:
            raise ValueError(f"Standardizer.fit: X must be a non-empty list of rows, got {X!r}")
        width = len(X[0])
        for i, row in enumerate(X):
            if len(row) != width:
                raise ValueError(f"Standardizer.fit: row {i} has {len(row)} columns, row 0 has {width}")
        mean, std = [], []
        for column in zip(*X):
            if min(column) == max(column):  # constant: centre it exactly, do not divide by ~0
                mean.append(float(column[0]))
                std.append(1.0)
                continue
            m = math.fsum(column) / len(column)
            mean.append(m)
            std.append(math.sqrt(math.fsum((v - m) ** 2 for v in column) / len(column)))
        return cls(mean, std)

    def transform(self, X: list) -> list:
        """New rows, each column shifted by the learned mean and divided by the learned std."""
        width = len(self.mean)
        out = []
        for i, row in enumerate(X):
            if len(row) != width:
                raise ValueError(f"Standardizer.transform: row {i} has {len(row)} columns; fitted on {width}")
            out.append([(v - m) / s for v, m, s in zip(row, self.mean, self.std)])
        return out

    def __repr__(self) -> str:
        return f"Standardizer(mean={self.mean}, std={self.std})"
