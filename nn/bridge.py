"""The PyTorch bridge: the same MLP, with the same weights, as a ``torch.nn.Sequential`` and back.

torch is optional (``pip install "chainrule[torch]"``) and imported only inside these functions.
"""

from __future__ import annotations

from .module import ACTIVATION_SPECS, MLP

__all__ = ["to_torch", "from_torch"]

def _torch(where: str):
    try:
        import torch
    except ImportError:
        raise ImportError(f'{where} needs PyTorch: pip install "chainrule[torch]" (or pip install torch)') from None
    return torch


def _check_mlp(model, where: str) -> MLP:
    if not isinstance(model, MLP):
        raise TypeError(f"{where}: expected an nn.MLP, got {type(model).__name__}")
    return model


def to_torch(model: MLP):
    """A float64 ``torch.nn.Sequential`` of Linear layers, activations and dropout equal to ``model``."""
    torch = _torch("nn.to_torch")
    _check_mlp(model, "nn.to_torch")
    modules = []
    for i, layer in enumerate(model.layers):
        linear = torch.nn.Linear(len(layer.neurons[0].w), len(layer.neurons), dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
        modules.append(linear)
        activation = ACTIVATION_SPECS[layer.neurons[0].activation].torch
        if activation is not None:
            name, kwargs = activation
            modules.append(getattr(torch.nn, name)(**kwargs))
        if i < len(model.dropouts):
            modules.append(torch.nn.Dropout(model.dropouts[i].p))
    return torch.nn.Sequential(*modules).train(model.training)


def from_torch(module, model: MLP) -> MLP:
    """Copy the weights of ``module``'s Linear layers, in order, into ``model`` (shapes must match); returns ``model``."""
    torch = _torch("nn.from_torch")
    _check_mlp(model, "nn.from_torch")
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"nn.from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    shapes = [(len(layer.neurons), len(layer.neurons[0].w)) for layer in model.layers]
    theirs = [tuple(m.weight.shape) for m in linears]
    if theirs != shapes or any(m.bias is None for m in linears):
        raise ValueError(f"nn.from_torch: the module's Linear layers (out, in) {theirs} do not fit "
                         f"{model!r}, which needs {shapes}, each with a bias")
    for layer, linear in zip(model.layers, linears):
        weight, bias = linear.weight.detach().double().tolist(), linear.bias.detach().double().tolist()
        for n, row, b in zip(layer.neurons, weight, bias):
            for w, x in zip(n.w, row):
                w.data = x
            n.b.data = b
    return model
