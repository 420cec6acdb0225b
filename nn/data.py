"""Small seeded datasets as plain lists: inputs ``X`` (lists of floats) and targets ``y``."""

from __future__ import annotations

import math
import random

__all__ = ["make_moons", "make_spiral", "make_xor", "make_sine"]


def _count(n, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"{where}: n must be an int >= 2, got {n!r}")
    return n


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles; labels -1 (upper moon) and +1 (lower moon)."""
    _count(n, "make_moons")
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
    _count(n, "make_spiral")
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
    _count(n, "make_sine")
    rng = random.Random(seed)
    xs = [-math.pi + 2 * math.pi * i / (n - 1) for i in range(n)]
    return [[x] for x in xs], [math.sin(x) + rng.gauss(0.0, noise) for x in xs]
