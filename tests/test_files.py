"""The one file writer behind nn.save, viz.render, trace.to_html and the command line: whole files,
written through symlinks, modes kept, odd targets refused, no temporary files left behind (what
other users can do to it on a shared machine is in test_shared_machine.py)."""

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd.files import atomic_write, escape_surrogates, resolve_target

ROOT = Path(__file__).resolve().parent.parent
posix = pytest.mark.skipif(os.name != "posix", reason="POSIX file types and signals")


def write_text(text):
    return lambda tmp: tmp.write_text(text, encoding="utf-8")


def temporary_files(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir() if ".chainrule-tmp." in p.name)


def test_a_symlink_is_written_through_and_stays_a_symlink(tmp_path):
    """Writing to latest.json -> real.json updates real.json and leaves latest.json a symlink."""
    real, link = tmp_path / "real.json", tmp_path / "latest.json"
    real.write_text("old")
    link.symlink_to(real.name)
    assert atomic_write(link, write_text("new")) == link
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert real.read_text() == "new" and sorted(os.listdir(tmp_path)) == ["latest.json", "real.json"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    """A symlink to a file that does not exist yet gets that file, as open(link, 'w') would."""
    link = tmp_path / "latest.json"
    link.symlink_to("real.json")
    atomic_write(link, write_text("new"))
    assert link.is_symlink() and (tmp_path / "real.json").read_text() == "new"


@posix
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444], ids=oct)
def test_an_existing_file_keeps_its_permission_bits(tmp_path, mode):
    """A 0600 (or 0640, or read-only, replaced with overwrite=True) file keeps its mode after being replaced."""
    path = tmp_path / "w.json"
    path.write_text("old")
    path.chmod(mode)
    atomic_write(path, write_text("new"), overwrite=mode == 0o444)
    assert stat.S_IMODE(path.stat().st_mode) == mode and path.read_text() == "new"


@posix
def test_a_new_file_gets_the_umask_default(tmp_path):
    """A file that did not exist is created with 0666 minus the umask, not mkstemp's 0600."""
    umask = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", write_text("x"))
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def test_a_directory_is_refused_and_left_alone(tmp_path):
    """A directory at the path is a ValueError naming the path and saying it is a directory."""
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(ValueError, match=r"cannot write '.*out': it is a directory, not a regular file"):
        atomic_write(folder, write_text("x"))
    assert folder.is_dir() and os.listdir(folder) == [] and os.listdir(tmp_path) == ["out"]


@posix
def test_a_fifo_is_refused_and_left_alone(tmp_path):
    """A FIFO at the path is refused without opening it (which would block) or replacing it."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="it is a FIFO"):
        atomic_write(fifo, write_text("x"))
    assert stat.S_ISFIFO(fifo.stat().st_mode) and os.listdir(tmp_path) == ["pipe"]


@posix
def test_a_symlink_to_a_directory_is_refused_naming_both(tmp_path):
    """A symlink to a directory is refused, and the message says where the link leads."""
    (tmp_path / "d").mkdir()
    (tmp_path / "link").symlink_to("d")
    with pytest.raises(ValueError, match=r"'.*link' \(which is '.*d'\): it is a directory"):
        atomic_write(tmp_path / "link", write_text("x"))


@pytest.mark.skipif(not os.path.exists("/dev/null") or os.name != "posix", reason="needs /dev/null")
def test_a_device_is_not_a_target():
    """/dev/null is a character device: the writer's target check refuses it (checked without writing)."""
    with pytest.raises(ValueError, match="'/dev/null': it is a character device"):
        resolve_target("/dev/null")


def test_missing_folders_are_made_only_when_asked(tmp_path):
    """By default missing folders are created; with create_parents=False it is FileNotFoundError
    naming the folder, and nothing is created."""
    with pytest.raises(FileNotFoundError, match=r"the folder '.*a[/\\]b' does not exist"):
        atomic_write(tmp_path / "a" / "b" / "f.txt", write_text("x"), create_parents=False)
    assert os.listdir(tmp_path) == []
    atomic_write(tmp_path / "a" / "b" / "f.txt", write_text("x"))
    assert (tmp_path / "a" / "b" / "f.txt").read_text() == "x"


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    """An exception inside write() keeps the previous content and removes its temporary file."""
    path = tmp_path / "f.txt"
    path.write_text("old")

    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_write(path, fail)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]


KILLED_WRITER = """
import sys, time
from autograd.files import atomic_write
def slow(tmp):
    tmp.write_text("half")
    print(tmp.name, flush=True)
    time.sleep(60)
atomic_write(sys.argv[1], slow)
"""


@posix
def test_the_next_write_removes_a_killed_writers_temporary_file(tmp_path):
    """A writer killed mid-write leaves .NAME.chainrule-tmp.PID.RANDOM; the next write to the same
    path deletes it, but keeps a live writer's (this process's) and other files' temporaries."""
    path = tmp_path / "w.json"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    left = writer.stdout.readline().strip()
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    live = tmp_path / f".w.json.chainrule-tmp.{os.getpid()}.0000beef"
    other = tmp_path / f".x.json.chainrule-tmp.{writer.pid}.0000beef"
    live.write_text("in progress")
    other.write_text("another file's")
    assert left.startswith(f".w.json.chainrule-tmp.{writer.pid}.") and (tmp_path / left).exists()
    atomic_write(path, write_text("whole"))
    assert path.read_text() == "whole"
    assert temporary_files(tmp_path) == sorted([live.name, other.name])


@posix
def test_temporary_files_are_named_after_the_target_and_the_writer(tmp_path):
    """While write() runs, its file is .NAME.chainrule-tmp.PID.RANDOM beside the target."""
    seen = []
    atomic_write(tmp_path / "g.svg", lambda tmp: seen.append(tmp.name) or tmp.write_text("x"))
    name, = seen
    prefix = f".g.svg.chainrule-tmp.{os.getpid()}."
    assert name.startswith(prefix) and len(name) == len(prefix) + 8


@given(st.text(st.characters(blacklist_categories=())))
def test_page_json_of_any_str_parses_to_text_utf8_can_carry(text):
    """escape_surrogates(json.dumps(s)) parses to a str with no lone surrogate (each shows as its
    escape), equal to s whenever s has none."""
    shown = json.loads(escape_surrogates(json.dumps(text)))
    assert not re.search("[\ud800-\udfff]", shown)
    shown.encode("utf-8")
    if not re.search("[\ud800-\udfff]", text):
        assert shown == text


def test_a_lone_surrogate_in_page_json_shows_as_its_escape():
    """A lone surrogate becomes its six characters; a pair, an escaped backslash and plain text stay."""
    for text, shown in [("y\ud800", "y\\ud800"), ("\udcff\ud800", "\\udcff\\ud800"),
                        ("\\ud800", "\\ud800"), ("\\\ud800", "\\\\ud800"), ("a\U0001F600", "a\U0001F600")]:
        assert json.loads(escape_surrogates(json.dumps(text))) == shown
