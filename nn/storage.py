"""Saving and loading weights as JSON, atomically, with errors that leave the model unchanged."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from autograd.files import as_path, kind, write_text

from .module import Module

__all__ = ["save", "load"]

FORMAT = "chainrule.weights"
SHOWN = 300  # characters of file content a message may quote
# The most nn.load reads: 128 MiB, over three times the 38.6 MB file of a 10^6-parameter MLP(1000, [999, 1]).
MAX_LOAD_BYTES = 128 * 2**20


def save(model: Module, path, *, overwrite: bool = False) -> Path:
    """Write ``model``'s weights to ``path`` as JSON, atomically (see ``autograd.files.atomic_write``:
    a crash keeps the previous file, your own symlink is written through, missing folders are made,
    a read-only file is kept unless ``overwrite``)."""
    path = as_path(path, "nn.save")
    state = model.state_dict()
    try:
        text = json.dumps({"format": FORMAT, "version": 1, "model": repr(model), "state": state},
                          indent=1, allow_nan=False)
    except ValueError:
        bad = next(k for k, x in state.items() if x != x or x in (float("inf"), float("-inf")))
        raise ValueError(f"nn.save: parameter {bad!r} is {state[bad]!r}; refusing to save non-finite weights") from None
    return write_text(path, text, overwrite=overwrite)


def _no_constants(name: str):
    raise ValueError(f"non-finite number {name}")


def load(model: Module, path) -> Module:
    """Set ``model``'s weights from a file written by ``save``; on any problem raise and change nothing."""
    path = as_path(path, "nn.load")
    doc = _read(path)
    try:
        model.load_state_dict(doc["state"])
    except ValueError as e:
        saved = doc.get("model") if isinstance(doc.get("model"), str) else "an unknown model"
        raise ValueError(f"nn.load: {path} was saved from {_clip(saved)}: {_clip(str(e))}") from None
    return model


def _read(path: Path) -> dict:
    """The file's JSON document, checked to be a weights file (ValueError naming the file otherwise)."""
    data = _read_bytes(path)
    try:  # integers read as floats: a 400-digit one is then inf (refused), not an OverflowError
        doc = json.loads(data.decode("utf-8"), parse_constant=_no_constants, parse_int=float)
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


def _read_bytes(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most MAX_LOAD_BYTES; ValueError naming it otherwise.

    Opened without blocking (a FIFO nobody writes to would wait forever) and checked on the open
    file, so a link to /dev/zero, a device or a huge file is refused before anything is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ValueError(f"nn.load: {path} does not exist") from None
    except OSError as e:
        raise ValueError(f"nn.load: cannot read {path}: {e.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"nn.load: {path} is a {kind(info.st_mode)}, not a regular file")
        if info.st_size > MAX_LOAD_BYTES:
            raise ValueError(f"nn.load: {path} is {info.st_size:,} bytes; the limit is {MAX_LOAD_BYTES:,} bytes "
                             f"(over 3 times a 10^6-parameter model's file)")
        chunks, size = [], 0
        while size <= MAX_LOAD_BYTES:  # the file may grow while it is read
            chunk = os.read(fd, min(2**24, MAX_LOAD_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise ValueError(f"nn.load: cannot read {path}: {e.strerror}") from None
    finally:
        os.close(fd)
    if size > MAX_LOAD_BYTES:
        raise ValueError(f"nn.load: {path} grew past the limit of {MAX_LOAD_BYTES:,} bytes while being read")
    return b"".join(chunks)


def _clip(text: str) -> str:
    """``text`` cut to SHOWN characters, so a message never pastes a huge string from the file."""
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text):,} characters)"
