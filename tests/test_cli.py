"""The command line's edges: warnings for non-finite results, messages that say what is wrong,
and output files that are refused in one plain line rather than clobbered or made up."""

import os
import stat

import pytest

import autograd.viz
from autograd.__main__ import MAX_DEPTH
from autograd.__main__ import main as cli


def run(capsys, *args):
    code = cli(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_error(capsys, *args) -> str:
    code, _, err = run(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("chainrule: error: "), err
    return err


def test_a_non_finite_value_is_printed_with_a_one_line_warning_naming_its_node(capsys):
    """x*y at x=1e308, y=10 prints value = inf, exits 0, and warns once on stderr naming the mul node."""
    code, out, err = run(capsys, "x*y", "x=1e308", "y=10")
    assert code == 0 and "value = inf" in out
    assert err.count("\n") == 1 and err.startswith("chainrule: warning: ") and "= mul(" in err, err


def test_a_non_finite_gradient_is_warned_about_too(capsys):
    """sqrt(x) at 0 has a finite value but an infinite derivative: the warning names sqrt_backward."""
    code, out, err = run(capsys, "sqrt(x)", "x=0")
    assert code == 0 and "d/dx = inf" in out
    assert err.count("\n") == 1 and "backward" in err and "sqrt_backward" in err, err


def test_finite_results_print_no_warning(capsys):
    """An ordinary expression writes nothing on stderr."""
    assert run(capsys, "x*y + tanh(x)", "x=0.5", "y=-2")[2] == ""


@pytest.mark.parametrize("args, words", [
    pytest.param(["x\udcff", "x=1"], "not valid UTF-8 (an undecodable byte at column 2)", id="bad UTF-8"),
    pytest.param(["x**2 +", "x=1"], "syntax error at the end", id="ends early"),
    pytest.param(["x +* 2", "x=1"], "syntax error at column 4", id="column"),
    pytest.param(["x", "x=1", "--bogus"], "unknown option --bogus", id="unknown option"),
    pytest.param(["--bogus=1", "x", "x=1"], "unknown option --bogus", id="unknown option="),
    pytest.param([], "an expression is required", id="nothing"),
    pytest.param(["(-8)**(1/3)"], "pow: negative base -8.0 with non-integer exponent", id="numbers only"),
    pytest.param(["x", "x=1", "--render", ""], "--render needs a file name", id="empty render"),
    pytest.param(["x", "x=1", "--html="], "--html needs a file name", id="empty html"),
    pytest.param(["x", "x=1", "--render", "g.jpg"], "--render: cannot tell the format from 'g.jpg'", id="render suffix"),
    pytest.param(["x", "x=1", "--html", "p.svg"], "--html: the page is HTML, so its file name must end in .html or "
                 ".htm; 'p.svg' ends in .svg", id="html suffix"),
    pytest.param(["x", "x=1", "--html", "p.html", "--lr", "-1"], "give a positive number", id="negative lr"),
    pytest.param(["x", "x=1", "--lr", "0.1"], "--lr needs --html FILE", id="lr without html"),
    pytest.param(["log(x)", "x=-1", "--html", "p.html", "--lr", "0"], "(got 0.0)", id="lr before the work"),
    pytest.param(["x+(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), "x=1"], f"more than {MAX_DEPTH} levels",
                 id="deep"),
])
def test_bad_input_gets_the_message_that_fits(capsys, args, words):
    """Each of these is one error line that says what is actually wrong."""
    code, out, err = run(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("chainrule: error: "), err
    assert words in err and "is a Value" not in err and out == "", err  # refused before any result


def test_a_flat_sum_counts_as_one_level_however_long(capsys):
    """A run of 61 (or 400) terms joined by + and - is not nesting: it is evaluated."""
    for n in (MAX_DEPTH + 1, 400):
        code, out, err = run(capsys, "-".join(["x*x"] * n), "x=1")
        assert code == 0 and f"value = {2.0 - n}" in out, err


def test_an_expression_that_looks_like_an_option_goes_after_a_double_dash(capsys):
    """chainrule -- --x x=2 evaluates --x (that is, x), so nothing written as an expression is lost."""
    code, out, _ = run(capsys, "--", "--x", "x=2")
    assert code == 0 and "value = 2.0" in out


def test_dot_needs_no_renderer_but_pictures_say_how_to_get_one(capsys, tmp_path, monkeypatch):
    """With no Graphviz renderer, --render g.dot is written; --render g.svg and --html are refused
    before any work with the install command in both forms."""
    pytest.importorskip("graphviz")

    def missing():
        raise autograd.viz.RendererNotFound("no renderer")

    monkeypatch.setattr(autograd.viz, "find_renderer", missing)
    code, out, err = run(capsys, "x*x", "x=2", "--render", str(tmp_path / "g.dot"))
    assert code == 0 and (tmp_path / "g.dot").read_text().startswith("digraph"), err
    for args in (["--render", str(tmp_path / "g.svg")], ["--html", str(tmp_path / "p.html")]):
        err = one_error(capsys, "x*x", "x=2", *args)
        assert 'pip install "chainrule[viz]"' in err and 'pip install -e ".[viz]"' in err, err
    assert os.listdir(tmp_path) == ["g.dot"]


@pytest.mark.parametrize("option", ["--render", "--html"])
def test_a_missing_folder_is_refused_not_made(capsys, tmp_path, option):
    """--render/--html into a folder that does not exist is one plain line, and no folder appears."""
    path = tmp_path / "no" / "such" / "g.svg"
    err = one_error(capsys, "x", "x=1", option, str(path))
    assert "the folder" in err and "does not exist" in err and str(path) in err, err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("option", ["--render", "--html"])
@pytest.mark.parametrize("kind", ["directory", "FIFO"])
def test_a_directory_or_fifo_is_refused_in_one_plain_line(capsys, tmp_path, option, kind):
    """--render/--html naming a directory or a FIFO: one line naming the path and what it is, with no
    temporary file name or exception class, and the thing is left as it was."""
    if kind == "FIFO" and os.name != "posix":
        pytest.skip("FIFOs are POSIX")
    path = tmp_path / "out.svg"
    os.mkfifo(path) if kind == "FIFO" else path.mkdir()
    err = one_error(capsys, "x", "x=1", option, str(path))
    assert f"{option}: cannot write {str(path)!r}: it is a {kind}" in err, err
    assert "tmp" not in err.replace(str(tmp_path), "") and "Error" not in err, err
    assert os.listdir(tmp_path) == ["out.svg"]
    assert stat.S_ISFIFO(path.stat().st_mode) if kind == "FIFO" else path.is_dir()


@pytest.mark.parametrize("option, file", [("--render", "g.svg"), ("--render", "g.dot"), ("--html", "p.html")])
def test_a_long_sum_of_one_variable_is_refused_in_one_line_before_drawing(capsys, tmp_path, monkeypatch, option, file):
    """x + x + ... + x of 1,000 terms (the longest expression taken) is refused in one line naming
    the bends or the nodes, with nothing drawn and no file written."""
    pytest.importorskip("graphviz")

    def never(*_):
        raise AssertionError("the renderer was started")

    monkeypatch.setattr(autograd.viz, "_run", never)
    err = one_error(capsys, "+".join(["x"] * 1000), "x=1.5", option, str(tmp_path / file))
    assert "bends" in err or "1,000 nodes" in err
    assert not (tmp_path / file).exists()
