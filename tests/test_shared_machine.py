"""Files on a shared machine: every writer (nn.save, viz.render, trace.render_steps, trace.to_html,
Recorder.to_html, the command line) against symlinks planted by another user, planted temporary
names, read-only files and folders and labels UTF-8 cannot carry; nn.load against anything that is
not a small regular file. The cases with other users run as root, which can become them."""

import contextlib
import io
import json
import os
import pickle
import re
import shutil
import stat
import tempfile
import threading
from pathlib import Path

import pytest

import nn
from autograd import Value, files, trace, viz
from autograd.__main__ import main as cli

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes, links and FIFOs")
as_root = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root to act as other users")
ATTACKER, VICTIM, WRITER = 41001, 41002, 41003  # user ids with no account: the kernel needs none


def graph(label="x"):
    x = Value(0.5, label=label)
    y = (x * x).tanh()
    y.label = f"{label}_out"
    return y


def model(label="w"):
    m = nn.MLP(2, [2, 1], seed=0)
    m.parameters()[0].label = label
    return m


def recorder(label="w"):
    m, X, y = model(label), [[0.0, 1.0], [1.0, 0.0]], [1.0, -1.0]
    rec = nn.Recorder(m, train=(X, y))
    loss = nn.mse_loss([m(x) for x in X], y)
    m.zero_grad()
    loss.backward()
    rec.record(0, loss)
    return rec


def command_line(option):
    def write(path, label="x", **kw):
        """The command line as a writer: a refusal is raised as OSError carrying its one line on stderr."""
        err, args = io.StringIO(), [f"{label}*{label}", f"{label}=0.5", option, str(path)]
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli(args + ["--overwrite"] * kw.get("overwrite", False))
        if code:
            raise OSError(err.getvalue().strip())
        return path
    return write


# name: (file name, writer(path, label=..., overwrite=...))
WRITERS = {
    "nn.save": ("m.json", lambda path, label="w", **kw: nn.save(model(label), path, **kw)),
    "viz.render svg": ("g.svg", lambda path, label="x", **kw: viz.render(graph(label), path, **kw)),
    "viz.render dot": ("g.dot", lambda path, label="x", **kw: viz.render(graph(label), path, **kw)),
    "trace.render_steps": ("step_001.dot", lambda path, label="x", **kw:
                           trace.render_steps(graph(label), path.parent, fmt="dot", **kw)),
    "trace.to_html": ("p.html", lambda path, label="x", **kw: trace.to_html(graph(label), path, **kw)),
    "Recorder.to_html": ("r.html", lambda path, label="w", **kw: recorder(label).to_html(path, **kw)),
    "chainrule --render": ("c.dot", command_line("--render")),
    "chainrule --html": ("c.html", command_line("--html")),
}
every_writer = pytest.mark.parametrize("writer", list(WRITERS))


@pytest.fixture(scope="module", autouse=True)
def warm(tmp_path_factory):
    """Run every writer once first, so a forked child as another user imports nothing (it may not
    be allowed to read the interpreter's files)."""
    folder = tmp_path_factory.mktemp("warm")
    for name, write in WRITERS.values():
        write(folder / name)


def as_user(uid, fn, *args):
    """``fn(*args)`` run in a forked child as user ``uid`` (group ``uid``): its result, or the
    exception it raised, re-raised here as the same type where it can be."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            try:
                outcome = ("ok", fn(*args))
            except BaseException as e:  # noqa: BLE001  (everything goes back to the parent)
                outcome = ("error", (type(e).__name__, str(e)))
            with os.fdopen(write, "wb") as out:
                pickle.dump(outcome, out)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    kind, value = pickle.loads(data)
    if kind == "ok":
        return value
    name, message = value
    known = {e.__name__: e for e in (OSError, PermissionError, FileNotFoundError, FileExistsError,
                                      IsADirectoryError, ValueError)}
    raise known[name](message) if name in known else RuntimeError(f"{name}: {message}")


def _checkout_readable():
    """Whether another user can read this checkout's page assets and run the renderer."""
    for package, asset in ((files, "stepper.html"), (nn, "replay.html")):
        (Path(package.__file__).parent / "assets" / asset).read_bytes()
    if not os.access(viz.find_renderer()[0], os.X_OK):
        raise PermissionError("renderer")
    return True


@pytest.fixture
def readable_checkout():
    """Skip where other users cannot read this checkout (it lies in a private folder such as /root)."""
    try:
        as_user(WRITER, _checkout_readable)
    except OSError:
        pytest.skip("other users cannot read this checkout or run its renderer; move it out of a private folder")


@pytest.fixture
def shared():
    """A folder every user can reach, with public/ (world-writable and sticky, like /tmp) and
    victim/ (the victim's own, 0700, holding its 0600 secret.json)."""
    base = Path(tempfile.mkdtemp(prefix="chainrule-shared-", dir="/tmp" if os.path.isdir("/tmp") else None))
    base.chmod(0o755)
    public = base / "public"
    public.mkdir()
    public.chmod(0o1777)
    victim = base / "victim"
    victim.mkdir()
    (victim / "secret.json").write_text("the victim's")
    (victim / "secret.json").chmod(0o600)
    for p in (victim, victim / "secret.json"):
        os.chown(p, VICTIM, VICTIM)
    victim.chmod(0o700)
    yield base
    shutil.rmtree(base)


def plant_link(folder: Path, name: str, target: Path, uid=ATTACKER) -> Path:
    """A symlink ``folder/name`` -> ``target`` made by user ``uid``."""
    as_user(uid, os.symlink, str(target), str(folder / name))
    assert (folder / name).lstat().st_uid == uid
    return folder / name


@as_root
@every_writer
def test_a_link_another_user_planted_in_a_sticky_folder_is_refused(shared, writer):
    """Root writing to public/NAME, a link another user planted towards a third user's 0600 file,
    is refused naming the link and the rule; the victim's file and the link are left as they were."""
    name, write = WRITERS[writer]
    secret = shared / "victim" / "secret.json"
    link = plant_link(shared / "public", name, secret)
    with pytest.raises(OSError, match=r"symlink owned by another user .*protected_symlinks"):
        write(link)
    assert secret.read_text() == "the victim's" and stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert link.is_symlink() and os.readlink(link) == str(secret)
    assert sorted(os.listdir(shared / "public")) == [name]


@as_root
def test_an_ordinary_user_is_protected_from_a_planted_link_to_their_own_file(shared):
    """A user saving to public/m.json, a link another user planted towards the saver's own file,
    gets PermissionError and keeps the file."""
    home = shared / "home"
    home.mkdir()
    os.chown(home, WRITER, WRITER)
    as_user(WRITER, Path.write_text, home / "mine.json", "my weights")
    link = plant_link(shared / "public", "m.json", home / "mine.json")
    with pytest.raises(PermissionError, match="symlink owned by another user"):
        as_user(WRITER, WRITERS["nn.save"][1], link)
    assert (home / "mine.json").read_text() == "my weights"


@as_root
def test_a_planted_link_to_a_folder_is_refused_too(shared):
    """public/out, another user's link to the victim's folder, is not followed on the way to
    public/out/secret.json: the victim's file is kept."""
    link = plant_link(shared / "public", "out", shared / "victim")
    with pytest.raises(PermissionError, match="symlink owned by another user"):
        nn.save(model(), link / "secret.json")
    assert (shared / "victim" / "secret.json").read_text() == "the victim's"


@as_root
@pytest.mark.parametrize("owner", ["the writer", "the folder's owner"])
def test_a_link_of_the_writer_or_of_the_folders_owner_is_written_through(shared, owner):
    """In a sticky world-writable folder, a link owned by the writer, or by the folder's owner, is
    followed (as the kernel follows it): the target is written and the link stays."""
    folder = shared / "public"
    if owner == "the folder's owner":
        os.chown(folder, ATTACKER, ATTACKER)
    home = shared / "home"
    home.mkdir()
    os.chown(home, WRITER, WRITER)
    target = home / "real.json"
    as_user(WRITER, Path.write_text, target, "old")
    link = plant_link(folder, "m.json", target, uid=WRITER if owner == "the writer" else ATTACKER)
    as_user(WRITER, WRITERS["nn.save"][1], link)
    assert json.loads(target.read_text())["format"] == "chainrule.weights" and link.is_symlink()


@every_writer
def test_a_dangling_link_never_gets_folders_made_along_its_target(tmp_path, writer):
    """Writing through a link to nowhere/deeper/real.json (folders that do not exist) is
    FileNotFoundError naming the link, and no folder is created, even by writers that make
    missing folders of the path they are given."""
    name, write = WRITERS[writer]
    (tmp_path / name).symlink_to(tmp_path / "nowhere" / "deeper" / name)
    with pytest.raises(OSError, match=r"symlink .* leads to the folder .*nowhere.*deeper.*folders are never made"):
        write(tmp_path / name)
    assert os.listdir(tmp_path) == [name]


def test_missing_folders_of_the_path_itself_are_still_made(tmp_path):
    """nn.save to a/b/m.json, where a is a link to an existing folder, makes b inside it (as mkdir -p)."""
    (tmp_path / "real").mkdir()
    (tmp_path / "a").symlink_to("real")
    nn.save(model(), tmp_path / "a" / "b" / "m.json")
    assert (tmp_path / "real" / "b" / "m.json").is_file()


@as_root
@pytest.mark.parametrize("uid", [WRITER, 0], ids=["an ordinary user", "root"])
@every_writer
def test_temporary_names_another_user_planted_never_stop_a_write(shared, readable_checkout, writer, uid):
    """Another user's file and folder named like a dead writer's temporary files in a sticky folder
    neither make the write fail nor get removed: only one's own are cleaned up."""
    name, write = WRITERS[writer]
    public = shared / "public"
    planted = [public / f".{name}.chainrule-tmp.4000000.dead", public / f".{name}.chainrule-tmp.4000001.dead"]
    as_user(ATTACKER, Path.write_text, planted[0], "not yours")
    as_user(ATTACKER, Path.mkdir, planted[1])
    as_user(uid, write, public / name)
    assert (public / name).is_file() and (public / name).stat().st_uid == uid
    assert planted[0].read_text() == "not yours" and planted[1].is_dir()
    assert sorted(os.listdir(public)) == sorted([name] + [p.name for p in planted] + (
        [f"step_00{i}.dot" for i in (2, 3)] if writer == "trace.render_steps" else []))


@posix
@pytest.mark.parametrize("thing", ["folder", "file", "link"])
def test_a_taken_temporary_name_is_skipped_for_a_fresh_one(tmp_path, monkeypatch, thing):
    """When the temporary name drawn is already taken (by a folder, a file or a link, even with this
    process's id in it), the writer draws another name and leaves the taken one alone."""
    draws = iter(["0000beef", "0000cafe"])
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: next(draws))
    taken = tmp_path / f".f.json.chainrule-tmp.{os.getpid()}.0000beef"
    {"folder": taken.mkdir, "file": lambda: taken.write_text("someone's"),
     "link": lambda: taken.symlink_to(tmp_path / "elsewhere")}[thing]()
    files.write_text(tmp_path / "f.json", "whole")
    assert (tmp_path / "f.json").read_text() == "whole" and os.path.lexists(taken)
    assert sorted(os.listdir(tmp_path)) == sorted(["f.json", taken.name])
    assert not (tmp_path / "elsewhere").exists()


@as_root
@every_writer
def test_a_read_only_folder_is_an_error_naming_the_target(shared, readable_checkout, writer):
    """An ordinary user writing into a 0555 folder gets PermissionError naming the file asked for,
    never the temporary file."""
    name, write = WRITERS[writer]
    folder = shared / "readonly"
    folder.mkdir()
    os.chown(folder, WRITER, WRITER)
    folder.chmod(0o555)
    with pytest.raises(OSError) as caught:
        as_user(WRITER, write, folder / name)
    assert str(folder / name) in str(caught.value) and "chainrule-tmp" not in str(caught.value), caught.value
    assert os.listdir(folder) == []


@posix
@every_writer
def test_a_read_only_file_is_kept_unless_overwrite_is_said(tmp_path, writer):
    """A 0444 file is refused with a message naming it and saying overwrite=True (or --overwrite);
    with overwrite=True it is replaced and stays 0444."""
    name, write = WRITERS[writer]
    path = tmp_path / name
    path.write_text("keep me")
    path.chmod(0o444)
    with pytest.raises(OSError, match=r"read-only \(mode 0444\).*overwrite=True \(on the command line --overwrite\)"):
        write(path)
    assert path.read_text() == "keep me" and stat.S_IMODE(path.stat().st_mode) == 0o444
    write(path, overwrite=True)
    assert path.read_text() != "keep me" and stat.S_IMODE(path.stat().st_mode) == 0o444


@every_writer
def test_any_str_label_is_written_with_its_escape(tmp_path, writer):
    """A label with a lone surrogate ('y\\ud800', which UTF-8 cannot carry) is written: the file is
    valid UTF-8, and a page's JSON parses to text that shows the escape, with no surrogate left."""
    name, write = WRITERS[writer]
    if writer.startswith("chainrule"):
        pytest.skip("the command line's labels are variable names, identifiers that cannot hold a surrogate")
    path = tmp_path / name
    write(path, label="y\ud800")
    text = path.read_bytes().decode("utf-8")
    # the escape as is, as JSON writes it, or as viz writes a backslash for DOT (with a zero-width space)
    assert "y\\ud800" in text or "y\\\\ud800" in text or "y\\\u200bud800" in text
    for block in re.findall(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', text, re.S):
        shown = list(strings(json.loads(block)))
        assert any("y\\ud800" in s for s in shown)
        assert not any(re.search("[\ud800-\udfff]", s) for s in shown)


def strings(data):
    """Every str in a JSON document, keys included."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from strings(item)


def test_nn_save_keeps_a_surrogate_label_exactly(tmp_path):
    """nn.save then nn.load of a model whose parameter label holds a lone surrogate round-trips it."""
    a = model("y\ud800")
    b = model("y\ud800")
    for p in b.parameters():
        p.data = 0.0
    nn.load(b, nn.save(a, tmp_path / "m.json"))
    assert b.state_dict() == a.state_dict()


# nn.load: only a regular file of sane size is read; every failure is a short ValueError naming it.

def unchanged_after_failed_load(path, match):
    """nn.load(model, path) raises ValueError matching ``match`` and naming ``path``; the model keeps its weights."""
    m = model()
    before = m.state_dict()
    with pytest.raises(ValueError, match=match) as caught:
        nn.load(m, path)
    message = str(caught.value)
    assert str(path) in message and message.count("nn.load") == 1, message
    assert len(message) < 300 and "\n" not in message, message
    assert m.state_dict() == before


@posix
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_load_through_a_link_to_a_device_is_refused(tmp_path, device):
    """A weights path that is a link to /dev/zero or /dev/urandom is refused without reading it."""
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    (tmp_path / "w.json").symlink_to(device)
    unchanged_after_failed_load(tmp_path / "w.json", "is a character device, not a regular file")


def test_load_of_a_file_over_the_limit_is_refused_saying_the_limit(tmp_path):
    """A (sparse) file one byte over nn.storage.MAX_LOAD_BYTES, and a 3 GB one behind a link, are
    refused naming the limit, without being read."""
    from nn.storage import MAX_LOAD_BYTES
    for size, name, through_link in ((MAX_LOAD_BYTES + 1, "big.json", False), (3 * 10**9, "huge.json", True)):
        with open(tmp_path / name, "wb") as f:
            f.truncate(size)
        path = tmp_path / name
        if through_link and os.name == "posix":
            path = tmp_path / "link.json"
            path.symlink_to(name)
        unchanged_after_failed_load(path, f"{size:,} bytes; the limit is {MAX_LOAD_BYTES:,} bytes")


def test_the_load_limit_leaves_room_for_a_million_parameters(tmp_path):
    """MAX_LOAD_BYTES is at least twice the file of a 10^6-parameter MLP, estimated per parameter
    from a 1,001-parameter one whose labels are as long as the big model's (L1.N1000.w999)."""
    from nn.storage import MAX_LOAD_BYTES
    m = nn.MLP(1000, [1], seed=0)
    for p in m.parameters():
        p.label = p.label.replace("N1.", "N1000.")
    size = nn.save(m, tmp_path / "m.json").stat().st_size
    assert MAX_LOAD_BYTES >= 2 * size / len(m.parameters()) * 10**6


@posix
def test_load_from_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    """nn.load of a FIFO nobody writes to returns at once with a ValueError (it used to block forever)."""
    fifo = tmp_path / "w.json"
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_catch(nn.load, model(), fifo)), daemon=True)
    reader.start()
    reader.join(60)  # not a speed limit: only a way out of a load that would never return
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # let the stuck reader go
        pytest.fail("nn.load blocked on a FIFO")
    assert outcome and isinstance(outcome[0], ValueError) and "is a FIFO, not a regular file" in str(outcome[0])
    unchanged_after_failed_load(fifo, "is a FIFO")


def _catch(fn, *args):
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001
        return e


@pytest.mark.parametrize("what, match", [("folder", "is a directory, not a regular file"),
                                         ("missing", "does not exist")])
def test_load_of_a_folder_or_a_missing_file_is_a_short_value_error(tmp_path, what, match):
    """A folder, or a path where nothing is, gives a ValueError naming it, not a raw OSError."""
    path = tmp_path / "w.json"
    if what == "folder":
        path.mkdir()
    unchanged_after_failed_load(path, match)


@as_root
def test_load_of_an_unreadable_file_is_a_short_value_error(tmp_path):
    """A file the user may not read gives a ValueError naming it and the reason."""
    shared = Path(tempfile.mkdtemp(dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        shared.chmod(0o755)
        path = nn.save(model(), shared / "w.json")
        path.chmod(0o600)
        as_user(WRITER, unchanged_after_failed_load, path, r"cannot read .*w.json: Permission denied")
    finally:
        shutil.rmtree(shared)


@pytest.mark.parametrize("suffix", ["svg", "dot"])
def test_dot_source_of_any_str_is_drawn(tmp_path, suffix):
    """viz.write_dot of DOT text holding a lone surrogate writes the picture (UTF-8, with the escape
    in its source; DOT itself reads a backslash as an escape, so the picture shows qud800)."""
    path = viz.write_dot('digraph { a [label="q\ud800"] }', tmp_path / f"w.{suffix}")
    assert "ud800" in path.read_text(encoding="utf-8")


@posix
def test_demo_pictures_go_through_the_same_writer(tmp_path):
    """demos.common.save keeps a read-only picture (it writes through autograd.files), closing the
    figure all the same, and writes a new one whole."""
    common = pytest.importorskip("demos.common")
    plt = common.pyplot()
    kept = tmp_path / "kept.png"
    kept.write_text("keep me")
    kept.chmod(0o444)
    with pytest.raises(PermissionError, match="read-only"):
        common.save(plt.figure(figsize=(1, 1)), kept)
    assert kept.read_text() == "keep me" and plt.get_fignums() == []
    assert common.save(plt.figure(figsize=(1, 1)), tmp_path / "new.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(os.listdir(tmp_path)) == ["kept.png", "new.png"]


@posix
def test_the_command_line_reports_a_file_name_utf8_cannot_carry(tmp_path):
    """A --render/--html path with an undecodable byte is written, and the report line shows the
    byte's escape instead of dying on a strict UTF-8 stdout after the file was written."""
    import subprocess
    import sys
    render, page = tmp_path / "g\udcff.dot", tmp_path / "p\udcff.html"
    done = subprocess.run([sys.executable, "-m", "autograd", "x*x", "x=1", "--render", str(render), "--html", str(page)],
                          capture_output=True, env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    assert b"graph written to " + os.fsencode(tmp_path) + b"/g\\udcff.dot" in done.stdout
    assert b"stepper page written to " + os.fsencode(tmp_path) + b"/p\\udcff.html" in done.stdout
    assert sorted(os.listdir(os.fsencode(tmp_path))) == [b"g\xff.dot", b"p\xff.html"]
