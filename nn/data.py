"""Small seeded datasets as plain lists (inputs ``X``, lists of floats; targets ``y``), and the
tools around them: ``split`` into train/validation/test, ``batches`` for an epoch, ``Standardizer``."""

from __future__ import annotations

import math
import numbers
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
    """Check that X and y are non-empty sequences (lists, tuples, numpy arrays) of the same length; return it."""
    for name, v in (("X", X), ("y", y)):
        if not hasattr(v, "__len__") or isinstance(v, (str, bytes)):
            raise TypeError(f"{where}: {name} must be a sequence of rows, got {type(v).__name__}")
    if len(X) != len(y):
        raise ValueError(f"{where}: X has {len(X)} rows but y has {len(y)}; they must be the same length")
    if len(X) == 0:  # len(), not truth: a numpy array has no single truth value
        raise ValueError(f"{where}: X is empty; there are no rows to use")
    return len(X)


def _fraction(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"split: {name} must be a fraction in [0, 1), got {x!r}")
    if not 0.0 <= x < 1.0:
        raise ValueError(f"split: {name} must be a fraction in [0, 1), got {x!r}")
    return float(x)


def _part(fraction: float, name: str, n: int) -> int:
    """How many of ``n`` rows ``fraction`` asks for, rounded half up; a nonzero fraction that rounds to
    no rows is refused (an empty validation set would silently measure nothing)."""
    count = math.floor(fraction * n + 0.5)
    if fraction and not count:
        raise ValueError(f"split: {name}={fraction} of {n} rows is {fraction * n:.3g} rows, which rounds to none; "
                         f"give at least {math.ceil(0.5 / fraction)} rows, a larger {name}, or {name}=0 for no {name} part")
    return count


def split(X, y, val: float = 0.2, test: float = 0.0, seed=0) -> tuple:
    """Shuffle the rows by ``seed`` and cut them into ``(train, val, test)``, each an ``(X, y)`` pair of lists.

    Each part has its fraction of the rows rounded to the nearest row (halves up); a nonzero fraction
    that gives no row is a ValueError."""
    n = _rows(X, y, "split")
    val, test = _fraction(val, "val"), _fraction(test, "test")
    if val + test >= 1.0:
        raise ValueError(f"split: val + test must be below 1 to leave training rows, got {val} + {test} = {val + test}")
    n_val, n_test = _part(val, "val", n), _part(test, "test", n)
    if n_val + n_test >= n:
        raise ValueError(f"split: val={val} and test={test} of {n} rows leave no training rows")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cuts = (order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test])
    return tuple(([X[i] for i in part], [y[i] for i in part]) for part in cuts)


def batches(X, y, size: int, seed=None) -> list:
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


def _finite_rows(X, width: int, where: str, expected: str) -> list:
    """The rows of ``X`` as lists of floats, or an error naming the row (and column) at fault:
    a row of another width (``expected`` says why it should be ``width``), a value that is not a
    number, NaN or an infinity."""
    rows = []
    for i, row in enumerate(X):
        if not hasattr(row, "__len__") or isinstance(row, (str, bytes)):
            raise TypeError(f"{where}: row {i} must be a sequence of numbers, got {type(row).__name__} {row!r}")
        if len(row) != width:
            raise ValueError(f"{where}: row {i} has {len(row)} columns{expected} {width}")
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{where}: column {j}, row {i} must be a number, got {type(v).__name__} {v!r}")
            if not math.isfinite(v):
                raise ValueError(f"{where}: column {j}, row {i} is {float(v)!r}; standardizing needs finite numbers "
                                 "(drop or fill the missing values first)")
        rows.append([float(v) for v in row])
    return rows


def _mean_std(column: list) -> tuple:
    """Mean and population standard deviation of finite numbers, without overflow or underflow: the
    sums run on the values divided by a power of two near the largest |value| (exact, all in [-2, 2]),
    then scale back, so ordinary columns get exactly the numbers of the plain formula."""
    scale = math.ldexp(1.0, math.frexp(max(map(abs, column)))[1] - 1)
    if min(column) == max(column):  # constant: centre it exactly, do not divide by ~0
        return column[0], 1.0
    u = [v / scale for v in column]
    mu = math.fsum(u) / len(u)
    sd = math.sqrt(math.fsum((v - mu) ** 2 for v in u) / len(u))
    # a spread below the smallest float (two subnormals apart) still divides: by the smallest float
    return mu * scale, sd * scale or math.ulp(0.0)


class Standardizer:
    """Per-column ``(x - mean) / std`` with the statistics of the rows given to ``fit`` (the training rows)."""

    def __init__(self, mean: list, std: list) -> None:
        self.mean, self.std = [float(m) for m in mean], [float(s) for s in std]

    @classmethod
    def fit(cls, X) -> "Standardizer":
        """Learn each column's mean and standard deviation from the rows ``X`` (finite numbers); a
        constant column gets std 1."""
        if not hasattr(X, "__len__") or isinstance(X, (str, bytes)) or len(X) == 0:
            raise ValueError(f"Standardizer.fit: X must be a non-empty sequence of rows, got {X!r}")
        width = len(X[0]) if hasattr(X[0], "__len__") else 0  # not a row: _finite_rows says so
        rows = _finite_rows(X, width, "Standardizer.fit", ", row 0 has")
        stats = [_mean_std(list(column)) for column in zip(*rows)]
        return cls([m for m, _ in stats], [s for _, s in stats])

    def transform(self, X) -> list:
        """New rows, each column shifted by the learned mean and divided by the learned std."""
        rows = _finite_rows(X, len(self.mean), "Standardizer.transform", "; fitted on")
        return [[_standardize(v, m, s, i, j) for j, (v, m, s) in enumerate(zip(row, self.mean, self.std))]
                for i, row in enumerate(rows)]

    def __repr__(self) -> str:
        return f"Standardizer(mean={self.mean}, std={self.std})"


def _standardize(v: float, m: float, s: float, i: int, j: int) -> float:
    """(v - m) / s, as v/s - m/s where the difference itself would overflow; a result too large for a
    float is a ValueError naming the value, never a silent infinity."""
    d = v - m
    out = d / s if math.isfinite(d) else v / s - m / s
    if not math.isfinite(out):
        raise ValueError(f"Standardizer.transform: column {j}, row {i} ({v!r}) is {abs(v - m) / s:.3g} standard "
                         f"deviations from the fitted mean {m!r}, too far for a float")
    return out
