"""micrograd's headline demo through chainrule's public API: an MLP learns the two moons.

    python -m demos.moons [--steps 100] [--seed 1] [--out out/]

Gradient descent is written by hand below, as in micrograd's notebook.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nn
from autograd import no_grad
from nn.data import make_moons


def loss_and_accuracy(model, X, y, alpha=1e-4):
    """Hinge loss plus L2 (alpha * sum p^2) over the whole batch, and the training accuracy."""
    scores = [model(x) for x in X]
    loss = nn.hinge_loss(scores, y) + alpha * sum(p * p for p in model.parameters())
    accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, y)) / len(y)
    return loss, accuracy


def train(steps=100, seed=1, log=print):
    """Train MLP(2, [16, 16, 1]) on 100 moons points; returns (model, X, y, history)."""
    X, y = make_moons(100, noise=0.1, seed=seed)
    model = nn.MLP(2, [16, 16, 1], activation="relu", seed=seed)
    history = []
    for k in range(steps):
        loss, accuracy = loss_and_accuracy(model, X, y)
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / steps  # decays from 1.0 towards 0.1
        for p in model.parameters():
            p.data -= lr * p.grad
        history.append((loss.data, accuracy))
        if k % 10 == 0 or k == steps - 1:
            log(f"step {k:3d}  loss {loss.data:.4f}  accuracy {accuracy:.0%}")
    return model, X, y, history


def positive_int(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, default=100, help="gradient descent steps (100)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the data and the weights (1)")
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for pictures (out/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model, X, y, _ = train(args.steps, args.seed)
    with no_grad():
        loss, accuracy = loss_and_accuracy(model, X, y)
    print(f"final loss {loss.data:.4f}, training accuracy {accuracy:.0%} "
          f"({model!r}, {len(model.parameters())} parameters, {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
