"""Saving and loading weights as JSON, atomically, with errors that leave the model unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from autograd.files import atomic_write

from .module import Module

__all__ = ["save", "load"]

FORMAT = "chainrule.weights"
SHOWN = 300  # characters of file content a message may quote


def save(model: Module, path) -> Path:
    """Write ``model``'s weights to ``path`` as JSON, atomically (see ``autograd.files.atomic_write``:
    a crash keeps the previous file, a symlink is written through, missing folders are made)."""
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
    doc = _read(path)
    try:
        model.load_state_dict(doc["state"])
    except ValueError as e:
        saved = doc.get("model") if isinstance(doc.get("model"), str) else "an unknown model"
        raise ValueError(f"nn.load: {path} was saved from {_clip(saved)}: {_clip(str(e))}") from None
    return model


def _read(path: Path) -> dict:
    """The file's JSON document, checked to be a weights file (ValueError naming the file otherwise)."""
    try:  # integers read as floats: a 400-digit one is then inf (refused), not an OverflowError
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constants, parse_int=float)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"nn.load: {path} is not a valid chainrule weights file (truncated or edited?): "
                         f"{_clip(str(e))}") from None
    except RecursionError:
        raise ValueError(f"nn.load: {path} is not a chainrule weights file: its JSON is nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"nn.load: {path} is not a chainrule weights file (no {FORMAT!r} format marker)")
    state = doc.get("state")
    if not isinstance(state, dict):
        got = "nothing" if state is None else f"a {type(state).__name__}"
        raise ValueError(f"nn.load: {path} has no weights: 'state' should map names to numbers, got {got}")
    return doc


def _clip(text: str) -> str:
    """``text`` cut to SHOWN characters, so a message never pastes a huge string from the file."""
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text):,} characters)"
