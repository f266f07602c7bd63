"""The conformance matrix is complete: every public op (``polykeras.ops`` and
its ``nn``/``numpy``/``core``/``linalg``/``random`` modules) has a forward test
here, and a gradient case or a stated reason not to have one.

Each test module declares the ops it covers in ``COVERED`` (built from its
parametrisation tables where it has them); this test unions them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from conformance.checks.ops_gradients import NOT_DIFFERENTIABLE
from polykeras import ops
from polykeras.ops import core, image, linalg, nn, random
from polykeras.ops import numpy as numpy_ops


_PREFIXED = {linalg: "linalg.", random: "random.", image: "image."}


def public_ops() -> set[str]:
    """Every public op name; ``linalg.*`` and ``random.*`` carry their module."""
    names = set()
    for name in ops.__all__:
        value = getattr(ops, name)
        if callable(value) and not inspect.isclass(value) and not inspect.ismodule(value):
            key = getattr(value, "op_key", name)  # ops.inv is linalg.inv, re-exported as Keras 3 does
            names.add(key if key.startswith("linalg.") else name)
    for module in (core, nn, numpy_ops, linalg, random, image):
        prefix = _PREFIXED.get(module, "")
        for name, value in vars(module).items():
            if (not name.startswith("_") and inspect.isfunction(value)
                    and getattr(value, "__module__", None) == module.__name__):
                names.add(prefix + name)
    return names


def _covered(attribute: str) -> set[str]:
    covered: set[str] = set()
    package = __name__.rpartition(".")[0]
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("test_") and info.name != "test_coverage":
            module = importlib.import_module(f"{package}.{info.name}")
            covered |= set(getattr(module, attribute, ()))
    return covered


def test_every_public_op_has_a_forward_test():
    missing = public_ops() - _covered("COVERED")
    assert not missing, f"public ops with no test in tests/ops (add them to a COVERED table): {sorted(missing)}"


def test_every_differentiable_op_has_a_gradient_test():
    missing = public_ops() - _covered("COVERED_GRADIENTS") - set(NOT_DIFFERENTIABLE)
    assert not missing, (f"public ops with no gradient case in conformance/checks/ops_gradients.py and not listed in "
                         f"NOT_DIFFERENTIABLE: {sorted(missing)}")


def test_coverage_names_are_real_ops():
    unknown = (_covered("COVERED") | _covered("COVERED_GRADIENTS") | set(NOT_DIFFERENTIABLE)) - public_ops()
    assert not unknown, f"tests claim to cover names that are not public ops: {sorted(unknown)}"


def test_every_public_op_is_exported():
    """Functions defined in the op modules appear in ``polykeras.ops``."""
    exported = set(ops.__all__)
    for module in (core, nn, numpy_ops):
        for name, value in vars(module).items():
            if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == module.__name__:
                assert name in exported, (
                    f"polykeras.ops.{module.__name__.rpartition('.')[2]}.{name} is not in ops.__all__")
