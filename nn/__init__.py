"""chainrule's networks: modules, losses, small datasets, training helpers and weight files, built on ``autograd``."""

from . import data, optim
from .bridge import from_torch, to_torch
from .health import health
from .losses import bce_with_logits, cross_entropy, hinge_loss, mse_loss
from .module import ACTIVATIONS, MLP, Dropout, Layer, Module, Neuron
from .optim import clip_grad_norm
from .recorder import Recorder
from .storage import load, save
from .training import EarlyStopping, accuracy, l2

__all__ = ["Module", "Neuron", "Layer", "MLP", "mse_loss", "hinge_loss", "bce_with_logits",
           "cross_entropy", "save", "load", "health", "Dropout", "l2", "accuracy", "EarlyStopping",
           "to_torch", "from_torch", "Recorder", "ACTIVATIONS", "optim", "clip_grad_norm"]
