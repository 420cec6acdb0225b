"""Hypothesis profiles. Under CI=true hypothesis' built-in ``ci`` profile is in charge; set
HYPOTHESIS_PROFILE=dev (quick) or HYPOTHESIS_PROFILE=thorough (hunting) to pick one of ours.
Otherwise ``local``: hypothesis' defaults without the per-example deadline, which on a shared,
loaded machine is a timed assertion (it failed examples that take 2 ms on a quiet one)."""

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

from autograd import define_op
from autograd.ops import OPS, RULES

settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])

settings.register_profile("local", deadline=None)

if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif not os.environ.get("CI"):
    settings.load_profile("local")


@pytest.fixture
def user_op():
    """define_op for one test: the ops it defines leave the table when the test ends."""
    made = []

    def define(name, forward, backward, **kw):
        made.append(name)
        return define_op(name, forward, backward, **kw)

    yield define
    for name in made:
        OPS.pop(name, None)
        RULES.pop(name, None)


ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one test module (skipped where Playwright, Chromium or graphviz is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not path:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    pytest.importorskip("graphviz")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()
