"""One fixture runs every test on every installed engine.

``engine`` is parametrised over ``polykeras.backends.installed()`` (narrowed by
``--engines torch,jax`` or ``POLYKERAS_TEST_ENGINES``) and makes that engine the
active one for the test.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if "KERAS_BACKEND" not in os.environ and "POLYKERAS_BACKEND" not in os.environ:
    # polykeras falls back to KERAS_BACKEND: the line below picks Keras's reference engine only, so
    # polykeras's default (outside the engine fixture, and in subprocesses) stays what it was.
    from polykeras.backends import default_name

    os.environ["POLYKERAS_BACKEND"] = default_name()
# Keras 3, the reference some tests compare with, runs in this process on its NumPy backend: chosen before
# anything imports TensorFlow (which imports Keras, on TensorFlow's backend unless told otherwise).
os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import polykeras.backends as B  # noqa: E402
from conformance import load_profile  # noqa: E402

load_profile()  # hypothesis: the "quick" profile unless HYPOTHESIS_PROFILE says otherwise


def pytest_addoption(parser):
    parser.addoption("--engines", default=None, help="comma-separated engine names to test (default: all installed)")


def _engine_names(config) -> list[str]:
    chosen = config.getoption("--engines") or os.environ.get("POLYKERAS_TEST_ENGINES")
    return chosen.split(",") if chosen else B.installed()


def pytest_generate_tests(metafunc):
    names = _engine_names(metafunc.config)
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", names, indirect=True)
    if "diff_engine" in metafunc.fixturenames:
        diff = [n for n in names if B.get(n).differentiable]
        metafunc.parametrize("diff_engine", diff, indirect=True)


@pytest.fixture
def engine(request):
    """The engine under test, active for the whole test."""
    with B.use(request.param) as active:
        yield active


@pytest.fixture
def diff_engine(request):
    """Like ``engine``, over the engines that differentiate and compile."""
    with B.use(request.param) as active:
        yield active


@pytest.fixture(autouse=True)
def _fresh_names():
    """Auto names (``dense``, ``adam``) count from scratch in every test, as
    after ``clear_session``: what a test sees does not hang on what ran before."""
    from polykeras.layers.config import reset_names

    reset_names()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
