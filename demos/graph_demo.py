"""Draw a single neuron's computation graph before and after backward().

    python -m demos.graph_demo [--out out/] [--format png|svg]

Needs the viz extra (pip install -e ".[viz]"); no system Graphviz is required.
"""

from __future__ import annotations

import argparse
import sys

from autograd import Value

try:
    from demos import common
except ImportError:  # run as a script from inside demos/
    import common


def neuron():
    """micrograd's example neuron: o = tanh(x1*w1 + x2*w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    return o


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=common.prog(), description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=common.out_dir, default="out", help="directory for the pictures (out/)")
    parser.add_argument("--format", choices=("png", "svg"), default="png")
    parser.add_argument("--quiet", action="store_true", help="accepted as by every demo (this one shows no progress bar)")
    args = parser.parse_args(argv)
    try:
        from autograd.viz import render
    except ImportError as e:  # pragma: no cover - depends on the environment
        print(f"graph_demo: {e}", file=sys.stderr)
        return 2
    try:
        import graphviz  # noqa: F401
    except ImportError:
        print('graph_demo: needs the viz extra: pip install -e ".[viz]"', file=sys.stderr)
        return 2
    o = neuron()
    before = render(o, args.out / f"neuron_before.{args.format}")
    o.backward()
    after = render(o, args.out / f"neuron_after.{args.format}", edge_derivatives=True)
    print(f"before backward(): {before}\nafter backward():  {after}  (edges show d(local) and g*d)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
