"""Writing files whole or not at all, safely on a shared machine: a fresh temporary file beside the
target, then one rename."""

from __future__ import annotations

import glob
import os
import re
import reprlib
import secrets
import stat
from pathlib import Path
from typing import Callable

__all__ = ["as_path", "page_path", "atomic_write", "write_text", "resolve_target", "kind", "escape_surrogates"]

TMP = ".chainrule-tmp."  # temporary files are .NAME.chainrule-tmp.PID.RANDOM
KINDS = {stat.S_IFDIR: "directory", stat.S_IFIFO: "FIFO", stat.S_IFCHR: "character device",
         stat.S_IFBLK: "block device", stat.S_IFSOCK: "socket"}
MAX_LINKS = 40  # the kernel's limit on symlinks in one path
# In json.dumps' ASCII output: an escaped backslash, a surrogate pair (a real character), or a lone surrogate (group 1)
LONE_SURROGATE = re.compile(r"\\(?:\\|ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|u(d[89a-f][0-9a-f]{2}))")
FRESH = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def as_path(path, where: str, name: str = "path") -> Path:
    """``path`` as a Path; TypeError naming ``where``, ``name`` and the value unless it is a str or os.PathLike."""
    if isinstance(path, (str, os.PathLike)):
        return Path(path)
    raise TypeError(f"{where}: {name} must be a file name (a str or a pathlib.Path), "
                    f"got {type(path).__name__} {reprlib.repr(path)}")


def page_path(path, where: str) -> Path:
    """``as_path``, and a ValueError naming ``where`` and the suffix unless the name ends in .html or .htm."""
    path = as_path(path, where)
    if path.suffix.lower() not in (".html", ".htm"):
        ends = f"ends in {path.suffix}" if path.suffix else "has no suffix"
        raise ValueError(f"{where}: the page is HTML, so its file name must end in .html or .htm; {str(path)!r} {ends}")
    return path


def write_text(path, text: str, *, overwrite: bool = False, create_parents: bool = True) -> Path:
    """``atomic_write`` of ``text`` as UTF-8; what UTF-8 cannot carry (a lone surrogate such as
    ``'\\ud800'``) is written as its backslash escape, so any ``str`` can be written."""
    data = text.encode("utf-8", "backslashreplace")
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), overwrite=overwrite, create_parents=create_parents)


def printable(text: str) -> str:
    """``text`` with what UTF-8 cannot carry (a lone surrogate in a label, an undecodable byte of a file
    name) as its backslash escape, so ``print`` shows it instead of raising UnicodeEncodeError."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def escape_surrogates(json_text: str) -> str:
    """``json.dumps`` output (ASCII) with each lone surrogate's escape (``\\ud800``) escaped once
    more, so a page that parses it shows the six characters where UTF-8 has no character to show."""
    if "\\ud" not in json_text:
        return json_text
    return LONE_SURROGATE.sub(lambda m: "\\" + m[0] if m[1] else m[0], json_text)


def atomic_write(path, write: Callable[[Path], None], *, overwrite: bool = False,
                 create_parents: bool = True) -> Path:
    """Call ``write(tmp)`` to fill a fresh temporary file next to ``path``, then move it into place.

    A crash or an error leaves any previous file untouched. The target is checked by
    ``resolve_target`` (symlinks, special files, read-only files unless ``overwrite``). A file that
    exists keeps its permission bits; a new one gets the umask's. The temporary file's name is
    unpredictable and created exclusively (a name someone else holds is skipped, never opened).
    Each write first removes this user's temporary files of earlier writes to the same path whose
    process is no longer running (a killed writer's); anyone else's are left alone.
    Returns ``path`` as given. An OSError names ``path``, never the temporary file.
    """
    real = resolve_target(path, create_parents=create_parents, overwrite=overwrite)
    _remove_stale(real)
    mode = _mode(real)
    tmp = _fresh_temporary(path, real, mode)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, real)
    except OSError as e:
        raise _naming(e, path, tmp) from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return Path(path)


def resolve_target(path, *, create_parents: bool = False, overwrite: bool = False) -> Path:
    """The regular file that writing ``path`` replaces, symlinks followed; refuses anything else.

    Raises PermissionError for a symlink another user planted in a shared sticky folder (as the
    kernel's protected_symlinks rule does) and for a read-only file unless ``overwrite``;
    ValueError for a directory, device, FIFO or socket; FileNotFoundError when the folder is
    missing (``create_parents`` makes it, but never a folder that a symlink's target names).
    """
    real, dangling = _follow(path)
    if not real.parent.is_dir():
        state = "is not a folder" if real.parent.exists() else "does not exist"
        if dangling is not None:
            raise FileNotFoundError(f"cannot write {os.fspath(path)!r}: the symlink {dangling!r} leads to the folder "
                                    f"{str(real.parent)!r}, which {state}; folders are never made along a link")
        if not create_parents or real.parent.exists():
            raise FileNotFoundError(f"cannot write {os.fspath(path)!r}: the folder {str(real.parent)!r} {state}")
        real.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return real
    via = f" (which is {str(real)!r})" if real != Path(os.path.abspath(path)) else ""
    if not stat.S_ISREG(mode):
        raise ValueError(f"cannot write {os.fspath(path)!r}{via}: it is a {kind(mode)}, not a regular file")
    if not overwrite and not mode & stat.S_IWUSR:
        raise PermissionError(f"cannot write {os.fspath(path)!r}{via}: the file is read-only (mode "
                              f"{stat.S_IMODE(mode):04o}), so it is kept; pass overwrite=True (on the command "
                              f"line --overwrite) to replace it")
    return real


def kind(mode: int) -> str:
    """What a file of ``mode`` (``st_mode``) is, in words: 'directory', 'FIFO', ..., 'regular file'."""
    return "regular file" if stat.S_ISREG(mode) else KINDS.get(stat.S_IFMT(mode), "special file")


def _follow(path) -> tuple:
    """``path`` with every symlink followed, like ``os.path.realpath``, and the first link whose
    target names a missing folder (None if none). A link the kernel's protected_symlinks rule
    would not follow is refused, even where that rule is switched off."""
    if os.name != "posix":
        return Path(os.path.realpath(path)), None
    todo = [(part, None) for part in reversed(os.path.join(os.getcwd(), os.fspath(path)).split(os.sep))]
    done, links, missing = os.sep, 0, []
    while todo:
        part, via = todo.pop()
        if part in ("", "."):
            continue
        if part == "..":
            done = os.path.dirname(done)
            continue
        here = os.path.join(done, part)
        info = None if missing else _lstat(here)
        if info is None or not stat.S_ISLNK(info.st_mode):
            if info is None:
                missing.append(via)
            done = here
            continue
        links += 1
        if links > MAX_LINKS:
            raise ValueError(f"cannot write {os.fspath(path)!r}: more than {MAX_LINKS} symlinks (a loop?)")
        _check_link(path, here, info)
        target = os.readlink(here)
        if os.path.isabs(target):
            done = os.sep
        todo.extend((p, here) for p in reversed(target.split(os.sep)))
    return Path(done), next((via for via in missing[:-1] if via is not None), None)


def _lstat(path: str):
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _check_link(path, link: str, info: os.stat_result) -> None:
    """Refuse ``link`` if it sits in a world-writable sticky folder (like /tmp) and belongs neither
    to this user nor to the folder's owner: another user may have planted it to make us overwrite a
    file we can write and they cannot (the kernel's fs.protected_symlinks rule, which binds root too)."""
    folder = os.path.dirname(link)
    shared = os.stat(folder)
    if (shared.st_mode & stat.S_ISVTX and shared.st_mode & stat.S_IWOTH
            and info.st_uid not in (os.geteuid(), shared.st_uid)):
        raise PermissionError(f"cannot write {os.fspath(path)!r}: {link!r} is a symlink owned by another user "
                              f"(uid {info.st_uid}) in the shared folder {folder!r}; like the kernel's "
                              f"protected_symlinks rule, chainrule does not follow it (remove it, or write elsewhere)")


def _mode(real: Path):
    """The permission bits of the file ``real`` if there is one, else None."""
    try:
        return stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        return None


def _fresh_temporary(path, real: Path, mode) -> Path:
    """Create a new, empty temporary file next to ``real`` under a name nobody holds, and return it.

    It is made readable and writable only as the final file will be (0666 minus the umask for a new
    file), plus the owner's write bit so ``write`` can fill it; ``atomic_write`` sets the final bits.
    """
    start = 0o666 if mode is None else mode | stat.S_IRUSR | stat.S_IWUSR
    for _ in range(100):
        tmp = real.with_name(f".{real.name}{TMP}{os.getpid()}.{secrets.token_hex(4)}")
        try:
            os.close(os.open(tmp, FRESH, start))
            return tmp
        except FileExistsError:
            continue  # someone holds this name (a file, a folder or a link): never touch it, pick another
        except OSError as e:
            raise _naming(e, path, tmp) from None
    raise FileExistsError(f"cannot write {os.fspath(path)!r}: 100 fresh temporary names in a row were taken")


def _naming(e: OSError, path, tmp: Path) -> OSError:
    """``e`` about ``path`` rather than the temporary file (a read-only folder, a full disk)."""
    if e.filename not in (tmp, os.fspath(tmp)):
        return e
    return type(e)(e.errno, e.strerror, os.fspath(path))


def _remove_stale(real: Path) -> None:
    """Delete this user's temporary files for ``real`` left by writers that died (PID not running).

    Only regular files owned by this user are removed, and a failure is ignored: a name another user
    planted (a file, a folder, a link) is theirs and never stops a write.
    """
    for name in glob.glob(glob.escape(f"{real.parent}{os.sep}.{real.name}{TMP}") + "*"):
        pid = name.rsplit(TMP, 1)[1].split(".")[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        try:
            info = os.lstat(name)
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid():
                os.unlink(name)
        except OSError:
            pass


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
