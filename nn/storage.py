"""Saving and loading weights as JSON, atomically, with errors that leave the model unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from autograd.files import atomic_write

from .module import Module

__all__ = ["save", "load"]

FORMAT = "chainrule.weights"


def save(model: Module, path) -> Path:
    """Write ``model``'s weights to ``path`` as JSON; a crash mid-write keeps the previous file."""
    path = Path(path)
    state = model.state_dict()
    try:
        text = json.dumps({"format": FORMAT, "version": 1, "model": repr(model), "state": state},
                          indent=1, allow_nan=False)
    except ValueError:
        bad = next(k for k, x in state.items() if x != x or x in (float("inf"), float("-inf")))
        raise ValueError(f"nn.save: parameter {bad!r} is {state[bad]!r}; refusing to save non-finite weights") from None
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _no_constants(name: str):
    raise ValueError(f"non-finite number {name}")


def load(model: Module, path) -> Module:
    """Set ``model``'s weights from a file written by ``save``; on any problem raise and change nothing."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"nn.load: {path} is not a valid chainrule weights file (truncated or edited?): {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("state"), dict):
        raise ValueError(f"nn.load: {path} is not a chainrule weights file (no {FORMAT!r} format marker)")
    try:
        model.load_state_dict(doc["state"])
    except ValueError as e:
        raise ValueError(f"nn.load: {path} was saved from {doc.get('model', 'an unknown model')}: {e}") from None
    return model
