"""One named derivative rule per op, in one table keyed by the op name.

A rule is pure: it receives the upstream gradient ``g``, the op's inputs (``x``, and ``y`` for
binary ops), and its output ``out``, and returns one contribution per input. Only the engine adds
contributions into gradients. A breakpoint on ``autograd.rules.mul_backward`` stops at every multiply.

The arguments are floats during an ordinary backward pass and Values when the gradient itself is
being recorded (``grad(..., create_graph=True)``), so every rule is written with operators and the
few helpers below, which work for both. A constant operand (the ``2`` in ``x * 2``) arrives as a
float; the engine discards the contribution computed for it.

Non-smooth points follow PyTorch: relu'(0) = 0 and abs'(0) = 0. A derivative that is infinite at
the point asked (sqrt at 0, ``x ** 0.5`` at 0) is ``inf``, as in PyTorch; ``trace.find_nonfinite``
points at the node.
"""

from __future__ import annotations

import math

__all__ = ["RULES", "register"]

RULES: dict = {}


def register(op: str, rule) -> None:
    """Enter ``rule`` in the table as the derivative of ``op``."""
    RULES[op] = rule


def _data(x) -> float:
    """The number behind a float or a Value."""
    return x if type(x) is float else x.data


def _apply(name: str, x):
    """math.<name>(x) for a float, x.<name>() for a Value (so rules can be differentiated again)."""
    return getattr(math, name)(x) if type(x) is float else getattr(x, name)()


def add_backward(g, x, y, out):
    """d(x + y) = (g, g)"""
    return g, g


register("add", add_backward)


def sub_backward(g, x, y, out):
    """d(x - y) = (g, -g)"""
    return g, -g


register("sub", sub_backward)


def mul_backward(g, x, y, out):
    """d(x * y) = (y * g, x * g)"""
    return g * y, g * x


register("mul", mul_backward)


def div_backward(g, x, y, out):
    """d(x / y) = (g / y, -g * out / y)"""
    gy = g / y
    return gy, -gy * out


register("div", div_backward)


def pow_backward(g, x, y, out):
    """d(x ** y) = (g * y * x ** (y - 1), g * out * log(x)); at x = 0 they are (inf or 0, 0)."""
    xd, yd = _data(x), _data(y)
    if xd == 0.0 and yd < 1.0:  # 0 ** (y - 1) would divide by zero; the forward refuses y < 0
        gx = g * (0.0 if yd == 0.0 else math.inf)
    else:
        gx = g * y * x ** (y - 1.0)  # kept whole even at y = 0, so d(gx)/dy stays right
    # A Value exponent with a negative base is refused when the node is made, so xd < 0 here
    # means the exponent is a constant and this contribution is discarded.
    gy = g * out * _apply("log", x) if xd > 0.0 else g * 0.0
    return gx, gy


register("pow", pow_backward)


def neg_backward(g, x, out):
    """d(-x) = -g"""
    return (-g,)


register("neg", neg_backward)


def abs_backward(g, x, out):
    """d|x| = g * sign(x), with abs'(0) = 0"""
    xd = _data(x)
    return (g * (1.0 if xd > 0.0 else -1.0 if xd < 0.0 else 0.0),)


register("abs", abs_backward)


def exp_backward(g, x, out):
    """d exp(x) = g * out"""
    return (g * out,)


register("exp", exp_backward)


def log_backward(g, x, out):
    """d log(x) = g / x"""
    return (g / x,)


register("log", log_backward)


def sqrt_backward(g, x, out):
    """d sqrt(x) = g / (2 * out), inf at x = 0"""
    if _data(out) == 0.0:
        return (g * math.inf,)
    return (g / (2.0 * out),)


register("sqrt", sqrt_backward)


def tanh_backward(g, x, out):
    """d tanh(x) = g * (1 - out ** 2)"""
    return (g * (1.0 - out * out),)


register("tanh", tanh_backward)


def sigmoid_backward(g, x, out):
    """d sigmoid(x) = g * out * (1 - out)"""
    return (g * out * (1.0 - out),)


register("sigmoid", sigmoid_backward)


def relu_backward(g, x, out):
    """d relu(x) = g if x > 0 else 0, with relu'(0) = 0"""
    return (g * (1.0 if _data(x) > 0.0 else 0.0),)


register("relu", relu_backward)


def sin_backward(g, x, out):
    """d sin(x) = g * cos(x)"""
    return (g * _apply("cos", x),)


register("sin", sin_backward)


def cos_backward(g, x, out):
    """d cos(x) = -g * sin(x)"""
    return (-g * _apply("sin", x),)


register("cos", cos_backward)
