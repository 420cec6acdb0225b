"""The README's examples run and print what it says."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples():
    """Every >>> example in README.md gives the output shown."""
    failures, tried = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried > 5 and failures == 0


def test_readme_test_command_is_what_ci_runs():
    """.ci/run runs the README's test command word for word."""
    command = next(line for line in README.read_text().splitlines() if "pytest" in line and "pip install" in line)
    ci = (README.parent / ".ci" / "run").read_text()
    assert command in ci
