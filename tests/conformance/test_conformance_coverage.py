"""Coverage is checked, not hoped for: every public op, built-in layer class,
optimizer, loss and metric has a conformance case, and a class without one
shows as a failing row rather than vanishing from the matrix."""

from __future__ import annotations

from conformance.checks import PROFILES, Context, execute
from conformance.checks import layer_cases, losses, ops as op_checks, optimizers
from conformance.checks.layers import layer_checks, registered_layers
from conformance.checks.ops_gradients import NOT_DIFFERENTIABLE


def test_every_public_op_has_a_forward_check():
    missing = op_checks.public_ops() - op_checks.covered_forward()
    assert not missing, f"public ops with no forward case in conformance/checks/ops_*.py: {sorted(missing)}"


def test_every_public_op_has_a_gradient_check_or_a_reason():
    missing = op_checks.public_ops() - op_checks.covered_gradients()
    assert not missing, (f"public ops with neither a gradient case (conformance/checks/ops_gradients.py) nor a "
                         f"reason in NOT_DIFFERENTIABLE: {sorted(missing)}")


def test_op_tables_name_only_real_ops():
    stale = (op_checks.covered_forward() | op_checks.covered_gradients()) - op_checks.public_ops()
    assert not stale, f"conformance cases for names that are not public ops: {sorted(stale)}"


def test_no_op_is_both_differentiated_and_excused():
    from conformance.checks.ops_gradients import CASES

    overlap = {case.op for case in CASES.values()} & set(NOT_DIFFERENTIABLE)
    assert not overlap, f"ops with a gradient case and a reason not to have one: {sorted(overlap)}"


def test_every_op_check_is_in_the_matrix():
    covered = {name for check in op_checks.op_checks() for name in check.covers}
    assert op_checks.public_ops() <= covered


def test_every_builtin_layer_class_has_a_case():
    missing = sorted(set(registered_layers()) - set(layer_cases.CASES))
    assert not missing, f"built-in layer classes with no case in conformance/checks/layer_cases.py: {missing}"


def test_every_layer_class_is_a_row():
    # ``<Layer>@half`` rows (conformance/checks/half_precision.py) come on top of one row per class.
    assert {c.name for c in layer_checks() if not c.name.endswith("@half")} == set(registered_layers())


def test_a_layer_without_a_case_is_a_failing_row(monkeypatch):
    from polykeras.layers import Layer
    from polykeras.layers.config import LAYER_CLASSES

    class Unlisted(Layer):
        def call(self, x):
            return x

    monkeypatch.setitem(LAYER_CLASSES, "Unlisted", Unlisted)
    check = next(c for c in layer_checks() if c.name == "Unlisted")
    result = execute(check, Context("numpy", PROFILES["quick"]))
    assert result.status == "fail" and "no conformance case" in result.message


def test_every_optimizer_loss_and_metric_has_a_case():
    from polykeras import losses as loss_module
    from polykeras import metrics, optimizers as optimizer_module

    assert set(optimizer_module.BUILTINS) <= {cls for cls, _ in optimizers.OPTIMIZER_CASES.values()}
    loss_names = {c.__name__ for c in loss_module.LOSS_CLASSES} | {f.__name__ for f in loss_module.LOSS_FUNCTIONS}
    metric_names = {c.__name__ for c in metrics.METRIC_CLASSES} | {f.__name__ for f in metrics.METRIC_FUNCTIONS}
    assert not loss_names - set(losses.LOSS_CASES), sorted(loss_names - set(losses.LOSS_CASES))
    assert not metric_names - set(losses.METRIC_CASES), sorted(metric_names - set(losses.METRIC_CASES))
