"""What the demos share: argument checks, optional packages, progress bars and pictures."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import sys
from pathlib import Path

from autograd import no_grad
from autograd.files import atomic_write


def need(module: str, extra: str = "demos"):
    """Import an optional package or exit 2 saying which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        print(f"this demo needs {module.split('.')[0]}: pip install -e \".[{extra}]\"", file=sys.stderr)
        raise SystemExit(2) from None


def _int_from(text: str, low: int, what: str) -> int:
    """``text`` as an int >= ``low``; argparse's error saying ``what`` was expected otherwise."""
    try:
        n = int(text)
    except ValueError:
        n = low - 1
    if n < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return n


def positive_int(text: str) -> int:
    return _int_from(text, 1, "a positive integer")


def count(text: str) -> int:
    """0 or a positive integer (an --every N where 0 means never)."""
    return _int_from(text, 0, "0 or a positive integer")


def positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < x < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return x


def out_dir(text: str) -> Path:
    """A directory for pictures, made now, so a bad --out fails before training, not after."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a directory for pictures")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise argparse.ArgumentTypeError(f"cannot use {text!r} as the directory for pictures: "
                                         f"{e.strerror or e}") from None
    return path


def widths(text: str) -> list:
    """'16,16' -> [16, 16]."""
    try:
        ws = [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 16,16, got {text!r}") from None
    if not ws or any(w < 1 for w in ws):
        raise argparse.ArgumentTypeError(f"expected positive widths like 16,16, got {text!r}")
    return ws


def prog() -> str | None:
    """The command as typed, for usage and error lines: "python -m demos.moons", not "moons.py"."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return f"python -m {spec.name}" if spec is not None and spec.name.startswith("demos.") else None


def parser(doc: str, steps: int, out: str = "out", unit: str = "steps",
           quick: str | None = None) -> argparse.ArgumentParser:
    """The options every training demo has: --steps (or --epochs), --seed, --out, --quiet; and
    --quick, a tiny run for the tests, when ``quick`` says what it does."""
    p = argparse.ArgumentParser(prog=prog(), description=doc.strip().splitlines()[0])
    p.add_argument(f"--{unit}", type=positive_int, default=steps,
                   help=f"{'gradient descent steps' if unit == 'steps' else 'passes over the training set'} ({steps})")
    p.add_argument("--seed", type=int, default=1, help="seed for data and weights (1)")
    p.add_argument("--out", type=out_dir, default=out, help=f"directory for pictures ({out}/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    if quick:
        p.add_argument("--quick", action="store_true", help=quick)
    return p


def progress(steps: int, quiet: bool = False, desc: str = "training", unit: str = "step"):
    """A tqdm progress bar over range(steps) on stderr (plain range when quiet), so stdout stays clean when piped."""
    if quiet:
        return range(steps)
    tqdm = need("tqdm").tqdm
    return tqdm(range(steps), desc=desc, unit=unit, dynamic_ncols=True, file=sys.stderr, mininterval=0.5)


@contextlib.contextmanager
def counting(total: int, quiet: bool = False, desc: str = "training", unit: str = "step"):
    """A tqdm bar of ``total`` steps on stderr that the work advances with ``.update()``, closed when
    the block ends; None when quiet (the work then counts nothing)."""
    if quiet:
        yield None
        return
    bar = need("tqdm").tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, file=sys.stderr, mininterval=0.5)
    try:
        yield bar
    finally:
        bar.close()


def pyplot():
    """matplotlib.pyplot with a non-interactive backend (works headless)."""
    matplotlib = need("matplotlib")
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def save(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) through chainrule's file writer, then close it."""
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".").lower(), dpi=110,
                                                   bbox_inches="tight"))
    finally:
        pyplot().close(fig)
    return path


def grid_predictions(model, X, n: int = 60, margin: float = 0.5):
    """Evaluate model on an n x n grid around X: (xs, ys, values per grid row)."""
    x0s, x1s = [p[0] for p in X], [p[1] for p in X]
    lo0, hi0 = min(x0s) - margin, max(x0s) + margin
    lo1, hi1 = min(x1s) - margin, max(x1s) + margin
    xs = [lo0 + (hi0 - lo0) * i / (n - 1) for i in range(n)]
    ys = [lo1 + (hi1 - lo1) * j / (n - 1) for j in range(n)]
    with no_grad():
        grid = [[model([x, y]) for x in xs] for y in ys]
    return xs, ys, grid


def percent_axis(ax, lowest: float = 0.0, label: str = "accuracy (%)") -> None:
    """From the decade below ``lowest`` to 100%, with a margin so a curve at 100% is not hidden on the edge."""
    lo = 10 * math.floor(max(0.0, min(lowest, 90.0)) / 10)
    pad = (100 - lo) * 0.04
    ax.set_ylim(lo - pad, 100 + pad)
    ax.set_ylabel(label)


def plot_curves(history: list, path: Path, title: str, val: list | None = None, xlabel: str = "step") -> Path:
    """Loss (log scale) and accuracy (if any) per step, for training and (if given) validation."""
    plt = pyplot()
    has_acc = history and history[0][1] is not None
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(9 if has_acc else 5, 3.2))
    axes = list(axes) if has_acc else [axes]
    runs = [("training", history, "#2563eb")] + ([("validation", val, "#ea580c")] if val else [])
    for name, h, colour in runs:
        axes[0].plot([r[0] for r in h], color=colour, label=name)
        if has_acc:
            axes[1].plot([100 * r[1] for r in h], color=colour, label=name)
    axes[0].set_yscale("log")
    axes[0].set(xlabel=xlabel, ylabel="loss", title=f"{title}: loss")
    if has_acc:
        axes[1].set(xlabel=xlabel, title=f"{title}: {'accuracy' if val else 'training accuracy'}")
        percent_axis(axes[1], min(100 * r[1] for _, h, _ in runs for r in h))
    for ax in axes:
        ax.grid(alpha=0.3)
        if val:
            ax.legend(fontsize=8)
    return save(fig, path)


def network_picture(model, x, path: Path):
    """The trained network on one input, one node per neuron (autograd.viz's collapsed view)."""
    try:
        from autograd.viz import render
        import graphviz  # noqa: F401
    except ImportError:
        print('(skipping the network picture: pip install -e ".[viz]")', file=sys.stderr)
        return None
    from autograd import Value

    out = model([Value(v, label=f"x{i}") for i, v in enumerate(x)])
    out = out if isinstance(out, Value) else sum(out[1:], out[0])
    model.zero_grad()  # the picture's gradients are this input's alone, not the last training step's
    out.backward()
    return render(out, path, collapse="neuron", color_grad=True,
                  caption="the trained network on one input; its grads are of the output, not of the loss")
