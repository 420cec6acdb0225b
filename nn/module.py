"""Networks built from Values with operators only: Module, Neuron, Layer, MLP, Dropout."""

from __future__ import annotations

import math
import numbers
import operator
import random
from dataclasses import dataclass
from typing import Sequence

from autograd import Value
from autograd.graph import mark_parameter

__all__ = ["Module", "Neuron", "Layer", "MLP", "Dropout", "Activation", "ACTIVATIONS", "ACTIVATION_SPECS", "INITS"]



@dataclass(frozen=True)
class Activation:
    """One activation a neuron can use: the op of the same name ("linear": none), its
    ``torch.nn`` module with arguments, and the way a unit gets stuck, as ``health`` and the replay
    page report it: "dead" (output 0 on every row) or "saturated" (outside ``limits`` on 95% of rows)."""

    name: str
    torch: tuple | None  # (class name, keyword arguments), None: no module
    stuck: str | None = None
    limits: tuple | None = None
    stuck_text: str = ""  # what the stuck state means, for keys and hints

    @property
    def op(self) -> str | None:
        """The key of the op (autograd's table) this activation applies; None for linear (none)."""
        return None if self.name == "linear" else self.name


ACTIVATION_SPECS = {a.name: a for a in (  # the one list of nn's activations, read by everything
    Activation("relu", ("ReLU", {}), "dead", None, "relu output 0 on every training row"),
    Activation("leaky_relu", ("LeakyReLU", {"negative_slope": 0.01})),
    Activation("tanh", ("Tanh", {}), "saturated", (-0.99, 0.99), "tanh output beyond ±0.99 on 95% of rows"),
    Activation("sigmoid", ("Sigmoid", {}), "saturated", (0.01, 0.99), "sigmoid output beyond 0.01 or 0.99 on 95% of rows"),
    Activation("softplus", ("Softplus", {})),
    Activation("gelu", ("GELU", {})),
    Activation("linear", None),
)}
ACTIVATIONS = tuple(ACTIVATION_SPECS)
INITS = ("uniform", "xavier", "he")


def _rng(seed, where: str) -> random.Random:
    """A random.Random from ``seed`` (None, an int, or a random.Random used as it is); TypeError naming ``where`` else."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{where}: seed must be None, an int or a random.Random, got {type(seed).__name__} {seed!r}")
    return random.Random(int(seed))


class Module:
    """Something with parameters: ``parameters()``, ``zero_grad()``, a state dict, ``train()``/``eval()``."""

    training = True  # new modules are in training mode (dropout on), as in PyTorch

    def parameters(self) -> list:
        """Every parameter, in a fixed order (layer by layer, neuron by neuron, weights then bias)."""
        return []

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0.0."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> "Module":
        """Switch this module and every module inside it to training mode (or eval mode if not ``mode``)."""
        self.training = bool(mode)
        for v in vars(self).values():
            for m in v if isinstance(v, list) else [v]:
                if isinstance(m, Module):
                    m.train(mode)
        return self

    def eval(self) -> "Module":
        """Switch to evaluation mode: dropout passes its inputs through unchanged."""
        return self.train(False)

    def state_dict(self) -> dict:
        """{parameter label: number}, in ``parameters()`` order."""
        state = {}
        for i, p in enumerate(self.parameters()):
            key = p.label or f"p{i}"
            if key in state:
                raise ValueError(f"state_dict: two parameters are labelled {key!r}; labels must be unique")
            state[key] = p.data
        return state

    def load_state_dict(self, state: dict) -> None:
        """Set every parameter from ``state``; on any mismatch raise and change nothing."""
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state).__name__}")
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict: the state does not fit {self!r} ({len(own)} parameters, "
                f"state has {len(state)}); missing {_few(missing)}, unexpected {_few(unexpected)}")
        numbers = {}
        for key, x in state.items():
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ValueError(f"load_state_dict: {key!r} must be a finite number, got {x!r}")
            numbers[key] = float(x)
        for p, key in zip(self.parameters(), own):
            p.data = numbers[key]


def _few(keys: list) -> str:
    if not keys:
        return "none"
    shown = ", ".join(map(repr, keys[:4]))
    return shown + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
    return activation


def _check_width(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return n


def init_bound(init: str, nin: int, nout: int) -> float:
    """Half-width of the uniform range weights are drawn from: 1 ("uniform", micrograd's),
    sqrt(6 / (nin + nout)) ("xavier", Glorot) or sqrt(6 / nin) ("he", variance 2 / nin, for relu)."""
    if init == "uniform":
        return 1.0
    if init == "xavier":
        return math.sqrt(6.0 / (nin + nout))
    if init == "he":
        return math.sqrt(6.0 / nin)
    raise ValueError(f"init must be one of {', '.join(INITS)}; got {init!r}")


class Neuron(Module):
    """activation(w · x + b), with weights drawn uniformly from [-scale, scale] and bias 0."""

    def __init__(self, nin: int, activation: str = "relu", seed=None, name: str = "N", scale: float = 1.0) -> None:
        _check_width(nin, "Neuron: nin")
        self.activation = _check_activation(activation)
        rng = _rng(seed, "Neuron")
        self.w = [Value(rng.uniform(-scale, scale), f"{name}.w{i}") for i in range(nin)]
        self.b = Value(0.0, f"{name}.b")
        self.name = name
        for p in self.parameters():  # pictures group a network by this registry, never by the labels
            mark_parameter(p, name)

    def __call__(self, x: Sequence) -> Value:
        if not hasattr(x, "__len__") or isinstance(x, (str, Value)):
            raise TypeError(f"Neuron: expected a list of {len(self.w)} inputs (numbers or Values), "
                            f"got {type(x).__name__}")
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        try:
            z = sum(map(operator.mul, self.w, x), self.b)
        except TypeError:  # checked only on failure, so the hot path pays nothing
            for i, v in enumerate(x):
                if not isinstance(v, (Value, numbers.Real)):
                    raise TypeError(f"Neuron {self.name}: input {i} must be a number or a Value, "
                                    f"got {type(v).__name__} {v!r}") from None
            raise
        out = z if self.activation == "linear" else getattr(z, self.activation)()
        out.label = self.name  # marks where the neuron ends, for pictures (viz collapse) and traces
        return out

    def parameters(self) -> list:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons reading the same inputs; calling it always returns a list."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", seed=None, name: str = "L",
                 init: str = "uniform") -> None:
        _check_width(nin, "Layer: nin")
        _check_width(nout, "Layer: nout")
        scale = init_bound(init, nin, nout)
        rng = _rng(seed, "Layer")
        self.neurons = [Neuron(nin, activation, rng, f"{name}.N{j + 1}", scale) for j in range(nout)]
        for n in self.neurons:
            for p in n.parameters():
                mark_parameter(p, n.name, name)

    def __call__(self, x: Sequence) -> list:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        n = self.neurons[0]
        return f"Layer({len(n.w)}, {len(self.neurons)}, activation={n.activation!r})"


class Dropout(Module):
    """Inverted dropout: in training mode each input is zeroed with probability ``p`` and the others
    are scaled by 1 / (1 - p), so the expected output equals the input; in eval mode it is the identity."""

    def __init__(self, p: float = 0.5, seed=None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = _rng(seed, "Dropout")

    def __call__(self, x: Sequence) -> list:
        if not self.training or self.p == 0.0:
            return list(x)
        keep, scale = 1.0 - self.p, 1.0 / (1.0 - self.p)
        # a dropped unit is multiplied by 0 rather than replaced, so the graph keeps its shape
        return [v * (scale if self.rng.random() < keep else 0.0) for v in x]

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class MLP(Module):
    """Layers of the given widths; hidden layers use ``activation`` (then dropout, if any), the last is linear.

    Returns a Value when the last width is 1, else a list. Parameters are labelled like
    ``L1.N3.w0`` (layer 1, neuron 3, weight on input 0). ``seed`` makes initialization (and the
    dropout masks) reproducible; ``init`` picks the weights' range (see ``init_bound``).
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu", seed=None,
                 init: str = "uniform", dropout: float = 0.0) -> None:
        _check_width(nin, "MLP: nin")
        widths = list(nouts) if hasattr(nouts, "__iter__") and not isinstance(nouts, str) else []
        if not widths:
            raise ValueError(f"MLP: nouts must be a non-empty list of widths, got {nouts!r}")
        widths = [_check_width(n, "MLP: each width") for n in widths]
        self.activation = _check_activation(activation)
        if init not in INITS:
            raise ValueError(f"MLP: init must be one of {', '.join(INITS)}; got {init!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be a probability in [0, 1), got {dropout!r}")
        self.init = init
        rng = _rng(seed, "MLP")
        sizes = [nin] + widths
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < len(widths) - 1 else "linear", rng, f"L{i + 1}", init)
            for i in range(len(widths))
        ]
        # drawn after the weights, so adding dropout leaves a seeded network's weights unchanged
        self.dropouts = [Dropout(dropout, random.Random(rng.getrandbits(64))) for _ in widths[:-1]] if dropout else []

    def __call__(self, x: Sequence):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.dropouts):
                x = self.dropouts[i](x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list:
        return [p for layer in self.layers for p in layer.parameters()]

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """In Jupyter: the network drawn one box per neuron (text without the viz extra)."""
        from .notebook import model_bundle  # loaded only when a notebook asks

        return model_bundle(self)

    def __repr__(self) -> str:
        widths = [len(layer.neurons) for layer in self.layers]
        extra = (f", init={self.init!r}" if self.init != "uniform" else "") + (
            f", dropout={self.dropouts[0].p}" if self.dropouts else "")
        return f"MLP({len(self.layers[0].neurons[0].w)}, {widths}, activation={self.activation!r}{extra})"
