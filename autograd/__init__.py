"""chainrule's engine: scalar reverse-mode automatic differentiation, one ``Value`` per number.

Not to be confused with the unrelated HIPS ``autograd`` package, which uses the same import name.
"""

from .engine import Value, backward, define_op, enable_grad, grad, is_grad_enabled, no_grad
from .rules import maximum, minimum  # also declares every built-in op

__all__ = ["Value", "backward", "grad", "no_grad", "enable_grad", "is_grad_enabled", "define_op",
           "maximum", "minimum"]
__version__ = "0.1.0"

# The tools load when first named, so `import autograd` stays light and `autograd.trace.explain(c)`
# works without its own import (strategies needs hypothesis, pictures need graphviz).
_SUBMODULES = ("compile", "files", "forward", "functional", "gradcheck", "graph", "ops", "strategies", "trace", "viz")


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
