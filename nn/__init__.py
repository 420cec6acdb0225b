"""chainrule's networks: modules, losses, small datasets and weight files, built on ``autograd``."""

from .health import health
from .losses import bce_with_logits, cross_entropy, hinge_loss, mse_loss
from .module import MLP, Layer, Module, Neuron
from .recorder import Recorder
from .storage import load, save

__all__ = ["Module", "Neuron", "Layer", "MLP", "mse_loss", "hinge_loss", "bce_with_logits",
           "cross_entropy", "save", "load", "health", "Recorder"]
