"""Writing files whole or not at all: a temporary file beside the target, then one rename."""

from __future__ import annotations

import glob
import os
import secrets
import stat
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "resolve_target"]

TMP = ".chainrule-tmp."  # temporary files are .NAME.chainrule-tmp.PID.RANDOM
KINDS = {stat.S_IFDIR: "directory", stat.S_IFIFO: "FIFO", stat.S_IFCHR: "character device",
         stat.S_IFBLK: "block device", stat.S_IFSOCK: "socket"}


def atomic_write(path, write: Callable[[Path], None], *, create_parents: bool = True) -> Path:
    """Call ``write(tmp)`` to fill a temporary file next to ``path``, then move it into place.

    A crash or an error leaves any previous file untouched. A symlink is written through (the file
    it points to is replaced, the link stays); a directory, device, FIFO or socket is refused with
    ValueError. A file that exists keeps its permission bits; a new one gets the umask's (unlike
    ``tempfile.mkstemp``'s 0600). Missing folders are created unless ``create_parents`` is false.
    Each write first removes the temporary files of earlier writes to the same path whose process
    is no longer running on this machine (a killed writer's); a live writer's are left alone.
    Returns ``path`` as given.
    """
    real = resolve_target(path, create_parents=create_parents)
    _remove_stale(real)
    tmp = real.with_name(f".{real.name}{TMP}{os.getpid()}.{secrets.token_hex(4)}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _keep_mode(real, tmp)
        os.replace(tmp, real)
    finally:
        if tmp.exists():
            tmp.unlink()
    return Path(path)


def resolve_target(path, *, create_parents: bool = False) -> Path:
    """The regular file that writing ``path`` replaces, symlinks followed; refuses anything else.

    Raises ValueError for a directory, device, FIFO or socket, and FileNotFoundError when the
    folder is missing (unless ``create_parents``, which makes it).
    """
    real = Path(os.path.realpath(path))
    if create_parents:
        real.parent.mkdir(parents=True, exist_ok=True)
    elif not real.parent.is_dir():
        state = "is not a folder" if real.parent.exists() else "does not exist"
        raise FileNotFoundError(f"cannot write {os.fspath(path)!r}: the folder {str(real.parent)!r} {state}")
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return real
    if not stat.S_ISREG(mode):
        kind = KINDS.get(stat.S_IFMT(mode), "special file")
        via = f" (which is {str(real)!r})" if real != Path(os.path.abspath(path)) else ""
        raise ValueError(f"cannot write {os.fspath(path)!r}{via}: it is a {kind}, not a regular file")
    return real


def _keep_mode(real: Path, tmp: Path) -> None:
    """Give ``tmp`` the permission bits of the file it replaces, if there is one."""
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return
    os.chmod(tmp, stat.S_IMODE(mode))


def _remove_stale(real: Path) -> None:
    """Delete temporary files for ``real`` left by writers that died (their PID is not running)."""
    for name in glob.glob(glob.escape(f"{real.parent}{os.sep}.{real.name}{TMP}") + "*"):
        pid = name.rsplit(TMP, 1)[1].split(".")[0]
        if pid.isdigit() and not _running(int(pid)):
            Path(name).unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists here; assumed so off POSIX, where signal 0 would end it."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or a number no process can have: leave its file
    return True
