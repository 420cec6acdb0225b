"""Every built-in op, one block each: its forward on floats, its named derivative rule, its record.

A rule is pure: it receives the upstream gradient ``g``, the op's inputs (``x``, and ``y`` for
binary ops) and its output ``out``, and returns one contribution per input. Only the engine adds
contributions into gradients. A breakpoint on ``autograd.rules.mul_backward`` stops at every multiply.

The arguments are floats during an ordinary backward pass and Values when the gradient itself is
being recorded (``grad(..., create_graph=True)``), so every rule is written with operators and the
few helpers below, which work for both. A constant operand (the ``2`` in ``x * 2``) arrives as a
float; the engine discards the contribution computed for it.

Conventions (the README's "Semantics" lists them): relu'(0) = 0 and abs'(0) = 0 as in PyTorch,
leaky_relu'(0) = slope, max/min split a tie's gradient in half; a derivative that is infinite at the
point asked (sqrt at 0) is ``inf``, and its second derivative ``-inf``; a NaN input gives a NaN
value and a NaN derivative. A zero upstream gradient contributes exactly zero (the engine's rule).

To add an op: write its forward and rule here, then one ``builtin(Op(...))`` with its ``forms`` (the
forward, derivatives and domain errors in the pages' expression language, which the stepper page
evaluates when a learner edits a number; a test checks them against the forward and the rule at
kinks and edges); add its row to the spec table in tests/test_ops.py and its method to
``forward.Dual`` (a test checks both).
"""

from __future__ import annotations

import math

from .engine import builtin, record
from .ops import OPS, RULES, Forms, Op

__all__ = ["RULES", "maximum", "minimum"]

INF, NAN = math.inf, math.nan
WIDE = ((-3.0, 3.0),)
AWAY_FROM_0 = ((0.01, 3.0), (-3.0, -0.01))


def _data(x) -> float:
    """The number behind a float or a Value."""
    return x if type(x) is float else x.data


def _apply(name: str, x):
    """Op ``name``'s forward for a float, x.<name>() for a Value (so rules can be differentiated again)."""
    return OPS[name].forward(x) if type(x) is float else getattr(x, name)()


def div(a, b):
    """a / b with IEEE results where the engine's ``/`` refuses: 1 / 0 = inf, 0 / 0 = nan (for rules)."""
    ad, bd = _data(a), _data(b)
    if bd != 0.0:
        return a / b
    q = NAN if ad == 0.0 or ad != ad else math.copysign(INF, ad) * math.copysign(1.0, bd)
    return q if type(a) is float and type(b) is float else record("div", q, a, b)


def power(a, b):
    """a ** b with IEEE results where the engine's ``**`` refuses (0 ** -1 = inf, overflow = inf)."""
    ad, bd = _data(a), _data(b)
    try:
        q = ad ** bd
    except ZeroDivisionError:
        q = INF
    except OverflowError:
        q = INF if ad > 0.0 or bd.is_integer() and bd % 2 == 0 else -INF
    if type(q) is complex:
        q = NAN
    return q if type(a) is float and type(b) is float else record("pow", q, a, b)


REFUSALS = {"ValueError": ValueError, "ZeroDivisionError": ZeroDivisionError, "OverflowError": OverflowError}


def refusal(op: str, k: int, *xs: float) -> Exception:
    """The error of op ``op``'s domain check ``k`` at inputs ``xs``, worded by its forms (one text,
    which the stepper page shows too when a learner's edit leaves the domain)."""
    forms = OPS[op].forms
    return REFUSALS[forms.errors[k][1]](forms.message(k, *xs))


def _step(x, below, above):
    """``above`` where x > 0, ``below`` where x <= 0, NaN where x is NaN (NaN in, NaN out)."""
    xd = _data(x)
    return above if xd > 0.0 else below if xd <= 0.0 else NAN


# Arithmetic.

def add_backward(g, x, y, out):
    """d(x + y) = (g, g)"""
    return g, g


builtin(Op("add", 2, lambda x, y: x + y, add_backward, (WIDE, WIDE), symbol="+", precedence=1,
           compile=("{a} + {b}", ("{g}", "{g}")),
           forms=Forms("x + y", ("1", "1")),
           local=("d(u + v)", (("1", ""), ("1", "")))))


def sub_backward(g, x, y, out):
    """d(x - y) = (g, -g)"""
    return g, -g


builtin(Op("sub", 2, lambda x, y: x - y, sub_backward, (WIDE, WIDE), symbol="-", precedence=1,
           compile=("{a} - {b}", ("{g}", "-{g}")),
           forms=Forms("x - y", ("1", "-1")),
           local=("d(u - v)", (("1", ""), ("-1", "")))))


def mul_backward(g, x, y, out):
    """d(x * y) = (g * y, g * x)"""
    return g * y, g * x


builtin(Op("mul", 2, lambda x, y: x * y, mul_backward, (WIDE, WIDE), symbol="*", precedence=2,
           compile=("{a} * {b}", ("{g} * {b}", "{g} * {a}")),
           forms=Forms("x * y", ("y", "x")),
           local=("d(u * v)", (("v", "{v}"), ("u", "{u}")))))


def div_forward(x: float, y: float) -> float:
    """x / y; ZeroDivisionError naming div when y is 0."""
    if y == 0.0:
        raise refusal("div", 0, x, y)
    return x / y


def div_backward(g, x, y, out):
    """d(x / y) = (g / y, -(g / y) * out), or -g * (out / y) where the first form overflows"""
    gx = div(g, y)
    gy = -gx * out
    if not math.isfinite(_data(gy)) and math.isfinite(_data(g)):
        gy = -g * div(out, y)  # 0 / 5e-324: g / y is inf but out / y is 0
    return gx, gy


builtin(Op("div", 2, div_forward, div_backward, (WIDE, ((0.25, 3.0), (-3.0, -0.25))), symbol="/", precedence=2,
           forms=Forms("x / y", ("1 / y", "-(1 / y) * out if isfinite(-(1 / y) * out) else -(out / y)"),
                 (("y == 0", "ZeroDivisionError", "div: division by zero ({x} / {y})"),)),
           local=("d(u / v)", (("1 / v", "1 / {pv}"), ("-u / v^2", "-{pu} / {pv}^2")))))


def pow_forward(x: float, y: float) -> float:
    """x ** y; errors naming pow for a negative base with a fractional exponent, 0 ** negative, overflow."""
    if x < 0.0 and not y.is_integer():
        raise refusal("pow", 0, x, y)
    if x == 0.0 and y < 0.0:
        raise refusal("pow", 1, x, y)
    try:
        return x ** y
    except OverflowError:
        raise refusal("pow", 2, x, y) from None


def pow_backward(g, x, y, out):
    """d(x ** y) = (g * y * x ** (y - 1), g * out * log(x)); 0 for y = 0 and for x = 0 in d/dy"""
    gx = g * y * power(x, y - 1.0)  # kept whole even at y = 0, so d(gx)/dy stays right
    if _data(y) == 0.0 and not math.isfinite(_data(gx)):
        gx = g * 0.0  # 0 * x ** -1 is 0 for every x (5e-324 ** -1 overflows, nan ** 0 is 1): as PyTorch
    xd, yd = _data(x), _data(y)
    # A Value exponent with a negative base is refused when the node is made, so xd < 0 here
    # means the exponent is a constant and this contribution is discarded. At x = 0 (y >= 0) the
    # limit out * log(x) is 0, as PyTorch has it; a NaN exponent gives NaN (NaN in, NaN out).
    gy = g * out * _apply("log", x) if xd > 0.0 or xd != xd else g * 0.0 if yd == yd else g * NAN
    return gx, gy


builtin(Op("pow", 2, pow_forward, pow_backward, (((0.25, 3.0),), ((-2.5, 2.5),)), symbol="**", precedence=4, right_assoc=True,
           forms=Forms("x ** y", ("0 if y == 0 and not isfinite(y * x ** (y - 1)) else y * x ** (y - 1)",
                           "out * log(x) if x > 0 or x != x else 0 if y == y else nan"),
                 (("x < 0 and not isint(y)", "ValueError", "pow: negative base {x} with non-integer exponent {y}"),
                  ("x == 0 and y < 0", "ZeroDivisionError", "pow: 0.0 cannot be raised to the negative power {y}"),
                  ("abs(x ** y) == inf and abs(x) < inf and abs(y) < inf", "OverflowError",
                   "pow: {x} ** {y} is too large for a float"))),
           local=("d(u^v)", (("v * u^(v - 1)", "{pv} * {pu}^({v} - 1)"), ("u^v * log(u)", "{pout} * log({u})")))))


def neg_backward(g, x, out):
    """d(-x) = -g"""
    return (-g,)


builtin(Op("neg", 1, lambda x: -x, neg_backward, (WIDE,), symbol="-", precedence=3, compile=("-{a}", ("-{g}",)),
           forms=Forms("-x", ("-1",)),
           local=("d(-u)", (("-1", ""),))))


def abs_forward(x: float) -> float:
    """|x|"""
    return abs(x)


def abs_backward(g, x, out):
    """d|x| = g * sign(x), with abs'(0) = 0"""
    xd = _data(x)
    return (g * (1.0 if xd > 0.0 else -1.0 if xd < 0.0 else 0.0 if xd == 0.0 else NAN),)


builtin(Op("abs", 1, abs_forward, abs_backward, (AWAY_FROM_0,), kinks=(0.0,),
           forms=Forms("abs(x)", ("1 if x > 0 else -1 if x < 0 else 0 if x == 0 else nan",)),
           local=("d|u|", (("sign(u)", "sign({u})"),))))


# Functions.

def exp_forward(x: float) -> float:
    """e ** x; OverflowError naming exp above about 709.78."""
    try:
        return math.exp(x)
    except OverflowError:
        raise refusal("exp", 0, x) from None


def exp_backward(g, x, out):
    """d exp(x) = g * out"""
    return (g * out,)


builtin(Op("exp", 1, exp_forward, exp_backward, (((-5.0, 5.0),),), method=True,
           compile=("{f}({a})", ("{g} * {out}",)),
           forms=Forms("exp(x)", ("out",), (("exp(x) == inf and x < inf", "OverflowError",
                                      "exp: overflow, exp({x}) is too large for a float"),)),
           local=("d exp(u)", (("exp(u)", "{out}"),))))


def log_forward(x: float) -> float:
    """Natural logarithm; ValueError naming log for x <= 0."""
    if x <= 0.0:
        raise refusal("log", 0, x)
    return math.log(x)


def log_backward(g, x, out):
    """d log(x) = g / x"""
    return (g / x,)


builtin(Op("log", 1, log_forward, log_backward, (((0.1, 10.0),),), method=True,
           compile=("{f}({a})", ("{g} / {a}",)),
           forms=Forms("log(x)", ("1 / x",), (("x <= 0", "ValueError", "log: undefined for x <= 0, got x = {x}"),)),
           local=("d log(u)", (("1 / u", "1 / {pu}"),))))


def sqrt_forward(x: float) -> float:
    """Square root; ValueError naming sqrt for x < 0."""
    if x < 0.0:
        raise refusal("sqrt", 0, x)
    return math.sqrt(x)


def sqrt_backward(g, x, out):
    """d sqrt(x) = g / (2 * out): inf at x = 0, where the second derivative is -inf"""
    return (div(g, 2.0 * out),)


builtin(Op("sqrt", 1, sqrt_forward, sqrt_backward, (((0.1, 10.0),),), method=True,
           forms=Forms("sqrt(x)", ("1 / (2 * out)",), (("x < 0", "ValueError", "sqrt: undefined for x < 0, got x = {x}"),)),
           local=("d sqrt(u)", (("1 / (2 * sqrt(u))", "1 / (2 * {pout})"),))))


def tanh_forward(x: float) -> float:
    """Hyperbolic tangent (finite for every input)."""
    return math.tanh(x)


def tanh_backward(g, x, out):
    """d tanh(x) = g * (1 - out ** 2)"""
    return (g * (1.0 - out * out),)


builtin(Op("tanh", 1, tanh_forward, tanh_backward, (((-4.0, 4.0),),), method=True,
           compile=("{f}({a})", ("{g} * (1.0 - {out} * {out})",)),
           forms=Forms("tanh(x)", ("1 - out * out",)),
           local=("d tanh(u)", (("1 - tanh(u)^2", "1 - {pout}^2"),))))


def sigmoid_forward(x: float) -> float:
    """1 / (1 + exp(-x)), computed without overflow for any input."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sigmoid_backward(g, x, out):
    """d sigmoid(x) = g * out * (1 - out)"""
    return (g * out * (1.0 - out),)


builtin(Op("sigmoid", 1, sigmoid_forward, sigmoid_backward, (((-6.0, 6.0),),), method=True,
           compile=("{f}({a})", ("{g} * {out} * (1.0 - {out})",)),
           forms=Forms("1 / (1 + exp(-x)) if x >= 0 else exp(x) / (1 + exp(x))", ("out * (1 - out)",)),
           local=("d sigmoid(u)", (("sigmoid(u) * (1 - sigmoid(u))", "{out} * (1 - {out})"),))))


def relu_forward(x: float) -> float:
    """max(x, 0); NaN stays NaN."""
    return 0.0 if x <= 0.0 else x


def relu_backward(g, x, out):
    """d relu(x) = g if x > 0 else 0, with relu'(0) = 0"""
    return (g * _step(x, 0.0, 1.0),)


builtin(Op("relu", 1, relu_forward, relu_backward, (AWAY_FROM_0,), kinks=(0.0,), method=True,
           compile=("(0.0 if {a} <= 0.0 else {a})", ("{g} * (1.0 if {a} > 0.0 else 0.0 if {a} <= 0.0 else nan)",)),
           forms=Forms("0 if x <= 0 else x", ("1 if x > 0 else 0 if x <= 0 else nan",)),
           local=("d relu(u)", (("1 if u > 0 else 0", "1 if {u} > 0 else 0"),))))


def leaky_relu_forward(x: float, slope: float) -> float:
    """x where x > 0, slope * x elsewhere (slope 0.01 unless given); ValueError naming leaky_relu for a NaN slope."""
    if slope != slope:
        raise refusal("leaky_relu", 0, x, slope)
    return x if x > 0.0 else slope * x


def leaky_relu_backward(g, x, slope, out):
    """d leaky_relu(x, slope) = (g if x > 0 else g * slope, 0 if x > 0 else g * x), with d/dx at 0 = slope"""
    xd = _data(x)
    if xd != xd:
        return g * NAN, g * NAN
    return (g * 1.0, g * 0.0) if xd > 0.0 else (g * slope, g * x)


builtin(Op("leaky_relu", 2, leaky_relu_forward, leaky_relu_backward, (AWAY_FROM_0, ((0.01, 0.5),)),
           kinks=(0.0,), defaults=(0.01,), method=True,
           forms=Forms("x if x > 0 else y * x", ("nan if x != x else 1 if x > 0 else y",
                                                   "nan if x != x else 0 if x > 0 else x"),
                       (("y != y", "ValueError", "leaky_relu: slope must be a number, got {y}"),)),
           local=("d leaky_relu(u, v)", (("1 if u > 0 else v", "1 if {u} > 0 else {v}"), ("0 if u > 0 else u", "0 if {u} > 0 else {u}")))))


def softplus_forward(x: float) -> float:
    """log(1 + exp(x)), computed without overflow for any input."""
    return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-abs(x)))


def softplus_backward(g, x, out):
    """d softplus(x) = g * sigmoid(x)"""
    return (g * _apply("sigmoid", x),)


builtin(Op("softplus", 1, softplus_forward, softplus_backward, (((-6.0, 6.0),),), method=True,
           forms=Forms("(x if x > 0 else 0) + log1p(exp(-abs(x)))",
                 ("1 / (1 + exp(-x)) if x >= 0 else exp(x) / (1 + exp(x))",)),
           local=("d softplus(u)", (("sigmoid(u)", "sigmoid({u})"),))))


def erf_forward(x: float) -> float:
    """The error function."""
    return math.erf(x)


def erf_backward(g, x, out):
    """d erf(x) = g * 2 / sqrt(pi) * exp(-x ** 2)"""
    return (g * (2.0 / math.sqrt(math.pi)) * _apply("exp", -(x * x)),)


builtin(Op("erf", 1, erf_forward, erf_backward, (((-3.0, 3.0),),), method=True,
           forms=Forms("erf(x)", ("2 / sqrt(pi) * exp(-(x * x))",)),
           local=("d erf(u)", (("2 / sqrt(pi) * exp(-u^2)", "1.1284 * exp(-{pu}^2)"),))))


def erfc_forward(x: float) -> float:
    """The complementary error function 1 - erf(x), accurate where erf(x) is close to 1."""
    return math.erfc(x)


def erfc_backward(g, x, out):
    """d erfc(x) = -g * 2 / sqrt(pi) * exp(-x ** 2)"""
    return (-g * (2.0 / math.sqrt(math.pi)) * _apply("exp", -(x * x)),)


builtin(Op("erfc", 1, erfc_forward, erfc_backward, (((-3.0, 3.0),),), method=True,
           forms=Forms("erfc(x)", ("-2 / sqrt(pi) * exp(-(x * x))",)),
           local=("d erfc(u)", (("-2 / sqrt(pi) * exp(-u^2)", "-1.1284 * exp(-{pu}^2)"),))))


SQRT_HALF = math.sqrt(0.5)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu_forward(x: float) -> float:
    """x * Phi(x), the exact (erf) form; erfc keeps it accurate for negative x."""
    return 0.5 * x * math.erfc(-x * SQRT_HALF)


def gelu_backward(g, x, out):
    """d gelu(x) = g * (Phi(x) + x * phi(x)), with Phi(x) = erfc(-x / sqrt(2)) / 2"""
    # One expression for floats and Values, in one order, so grad(create_graph=True) gives
    # backward()'s number to the last bit; erfc (not 1 + erf) keeps Phi accurate for negative x.
    cdf = 0.5 * _apply("erfc", -x * SQRT_HALF)
    pdf = _apply("exp", -0.5 * x * x) * INV_SQRT_2PI
    return (g * (cdf + x * pdf),)


builtin(Op("gelu", 1, gelu_forward, gelu_backward, (((-4.0, 4.0),),), method=True,
           forms=Forms("0.5 * x * erfc(-x * sqrt(0.5))",
                 ("0.5 * erfc(-x * sqrt(0.5)) + x * (exp(-0.5 * x * x) * (1 / sqrt(2 * pi)))",)),
           local=("d gelu(u)", (("Phi(u) + u * phi(u)", "Phi({u}) + {pu} * phi({u})"),))))


def sin_forward(x: float) -> float:
    """Sine (radians); ValueError naming sin for an infinite input."""
    if math.isinf(x):
        raise refusal("sin", 0, x)
    return math.sin(x)


def sin_backward(g, x, out):
    """d sin(x) = g * cos(x)"""
    return (g * _apply("cos", x),)


builtin(Op("sin", 1, sin_forward, sin_backward, (((-6.0, 6.0),),), method=True,
           forms=Forms("sin(x)", ("cos(x)",), (("abs(x) == inf", "ValueError", "sin: undefined for x = {x}"),)),
           local=("d sin(u)", (("cos(u)", "cos({u})"),))))


def cos_forward(x: float) -> float:
    """Cosine (radians); ValueError naming cos for an infinite input."""
    if math.isinf(x):
        raise refusal("cos", 0, x)
    return math.cos(x)


def cos_backward(g, x, out):
    """d cos(x) = -g * sin(x)"""
    return (-g * _apply("sin", x),)


builtin(Op("cos", 1, cos_forward, cos_backward, (((-6.0, 6.0),),), method=True,
           forms=Forms("cos(x)", ("-sin(x)",), (("abs(x) == inf", "ValueError", "cos: undefined for x = {x}"),)),
           local=("d cos(u)", (("-sin(u)", "-sin({u})"),))))


def maximum_forward(x: float, y: float) -> float:
    """The larger of x and y; NaN if either is NaN."""
    return x if x > y else y if y > x else x if x == y else NAN


def _share_of_larger(a: float, b: float) -> float:
    """How much of max(a, b)'s gradient goes to a: 1, 0, 1/2 at a tie, NaN if either is NaN."""
    return 1.0 if a > b else 0.0 if b > a else 0.5 if a == b else NAN


def maximum_backward(g, x, y, out):
    """d max(x, y) = (g, 0) where x > y, (0, g) where y > x, (g / 2, g / 2) at a tie (as PyTorch)"""
    wx = _share_of_larger(_data(x), _data(y))
    return g * wx, g * (1.0 - wx)


maximum = builtin(Op("maximum", 2, maximum_forward, maximum_backward, (WIDE, WIDE), kinks=(0.0,),
                      kink_var=lambda x, y: x - y, name="max",
           forms=Forms("x if x > y else y if y > x else x if x == y else nan",
                 ("1 if x > y else 0 if y > x else 0.5 if x == y else nan",
                  "0 if x > y else 1 if y > x else 0.5 if x == y else nan")),
           local=("d max(u, v)", (("1 if u > v, 1/2 if u = v, else 0", ""), ("1 if v > u, 1/2 if u = v, else 0", "")))))


def minimum_forward(x: float, y: float) -> float:
    """The smaller of x and y; NaN if either is NaN."""
    return x if x < y else y if y < x else x if x == y else NAN


def minimum_backward(g, x, y, out):
    """d min(x, y) = (g, 0) where x < y, (0, g) where y < x, (g / 2, g / 2) at a tie (as PyTorch)"""
    wx = _share_of_larger(_data(y), _data(x))  # x's share of the smaller is y's share of the larger
    return g * wx, g * (1.0 - wx)


minimum = builtin(Op("minimum", 2, minimum_forward, minimum_backward, (WIDE, WIDE), kinks=(0.0,),
                      kink_var=lambda x, y: x - y, name="min",
           forms=Forms("x if x < y else y if y < x else x if x == y else nan",
                 ("1 if x < y else 0 if y < x else 0.5 if x == y else nan",
                  "0 if x < y else 1 if y < x else 0.5 if x == y else nan")),
           local=("d min(u, v)", (("1 if u < v, 1/2 if u = v, else 0", ""), ("1 if v < u, 1/2 if u = v, else 0", "")))))
