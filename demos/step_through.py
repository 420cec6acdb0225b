"""Step through backpropagation: in a debugger, and as printed chain-rule steps.

Every derivative is a named function in autograd/rules.py, so a debugger can stop at "the backward
of mul". Try it:

    python -m pdb demos/step_through.py
    (Pdb) import autograd.rules            # pdb resolves the name below in the script's namespace
    (Pdb) break autograd.rules.mul_backward
    (Pdb) continue
    (Pdb) args            # g = 0.2204..., the upstream gradient; x, y = 2.0, -3.0; out = -6.0
    (Pdb) return          # run to the end of the rule: it returns one contribution per input
    (Pdb) continue        # the one multiply's rule again: trace.explain, trace.why and the page below
                          # each ask it once for its local derivative (g = 1.0; `where` shows who)
                          # `clear` then `continue` runs to the end

or in one line:
    python -m pdb -c "import autograd.rules" -c "break autograd.rules.mul_backward" -c continue demos/step_through.py
Once your own code has imported autograd (say at a breakpoint() call), the break line works as is.

In an IDE (VS Code, PyCharm): open autograd/rules.py, set a breakpoint inside mul_backward and
debug this file. The call stack shows engine.backward calling the rule once per node.

Without a debugger, autograd.trace prints the same steps with their numbers (this script's output),
and writes them as a page to step through in a browser (out/step_through.html; --out DIR to change).
"""

from __future__ import annotations

import argparse
import sys

from autograd import Value, trace

try:
    from demos import common
except ImportError:  # run as a script from inside demos/
    import common


def build():
    """The README's example: c = tanh(a*b + exp(a))."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b + a.exp()).tanh()
    c.label = "c"
    return a, b, c


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=common.prog(), description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=common.out_dir, default="out", help="directory for the page (out/)")
    parser.add_argument("--quiet", action="store_true", help="accepted as by every demo (this one shows no progress bar)")
    args = parser.parse_args(argv)
    a, b, c = build()
    print("Stop in a chain-rule function with a debugger:" + __doc__.split("Try it:")[1].split("Without a debugger")[0].rstrip())
    # The real pass comes first, so the breakpoint's first stop shows the true upstream gradient
    # (g = 0.2204 at the multiply). trace.explain, trace.why and the page below each ask each rule
    # once for its local derivative by calling it with g = 1.0, so the breakpoint stops there too,
    # once per tool (`where` says who called): 4 stops for this graph's one multiply.
    c.backward()
    print(f"\nafter c.backward(): a.grad = {a.grad:.6f}, b.grad = {b.grad:.6f}")
    print("\nThe graph it differentiated, one line per node with its gradient (trace.tape):")
    print(trace.tape(c))
    print("\nThe same backward pass, one chain-rule step per line (trace.explain):")
    print(trace.explain(c))
    print("\nWhy a.grad is what it is: every path from c to a (trace.why):")
    print(trace.why(a, c))
    page = trace.to_html(c, args.out / "step_through.html", lr=0.1)
    print(f"\nThe same, one step at a time with the graph, then the update with lr 0.1: {page} (open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
