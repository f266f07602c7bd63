"""Keras 3's lowercase spellings in ``initializers``, ``regularizers`` and
``constraints``, and the ``saving`` registry under Keras' names: every name
``dir(keras.X)`` lists exists here with Keras' signature, and behaves the same."""

from __future__ import annotations

import numpy as np
import pytest

from polykeras import constraints, initializers, layers, ops, regularizers, saving

from _keras_api import assert_same_api, public_names
from layers.keras_reference import import_keras

# STFT initializers are not built (no polykeras twin yet).
_SKIP = {"STFT", "STFTInitializer", "stft"}


@pytest.mark.parametrize("family", ["initializers", "regularizers", "constraints"])
def test_every_keras_name_exists_with_its_signature(engine, family):
    keras = import_keras()
    ours, theirs = {"initializers": initializers, "regularizers": regularizers, "constraints": constraints}[family], \
        getattr(keras, family)
    assert_same_api(ours, theirs, skip=_SKIP)
    for name in public_names(theirs):
        if name[0].islower() and isinstance(getattr(theirs, name), type) and name not in _SKIP:
            ours_cls = getattr(ours, name)
            assert ours_cls.__name__ == getattr(theirs, name).__name__, (family, name)


def test_lowercase_spellings_build_the_same_objects(engine):
    assert regularizers.l1_l2(l1=0.1, l2=0.2).get_config() == regularizers.L1L2(l1=0.1, l2=0.2).get_config()
    np.testing.assert_array_equal(ops.to_numpy(initializers.he_normal(seed=3)((4, 4))),
                                  ops.to_numpy(initializers.HeNormal(seed=3)((4, 4))))
    w = ops.convert_to_tensor(np.array([[3.0, 0.0], [4.0, -1.0]], np.float32))
    np.testing.assert_allclose(ops.to_numpy(constraints.max_norm(2.0)(w)), ops.to_numpy(constraints.MaxNorm(2.0)(w)))
    dense = layers.Dense(2, kernel_regularizer=regularizers.l2(0.01), kernel_constraint=constraints.non_neg())
    assert isinstance(dense.kernel_regularizer, regularizers.L2)


def test_saving_has_keras_registry_names(engine):
    keras = import_keras()
    assert_same_api(saving, keras.saving, ["register_keras_serializable", "get_registered_name",
                                           "get_registered_object", "serialize_keras_object",
                                           "deserialize_keras_object", "custom_object_scope", "CustomObjectScope",
                                           "get_custom_objects"])


def test_registered_objects_round_trip_and_custom_objects_are_live(engine):
    @saving.register_keras_serializable(package="aliases_test")
    class Scale(layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return ops.multiply(x, self.factor)

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    assert saving.get_registered_name(Scale) == "aliases_test>Scale"
    assert saving.get_custom_objects()["aliases_test>Scale"] is Scale
    config = saving.serialize_keras_object(Scale(3.0, name="scale"))
    assert config["registered_name"] == "aliases_test>Scale"
    clone = saving.deserialize_keras_object(config)
    assert isinstance(clone, Scale) and clone.factor == 3.0 and clone.name == "scale"

    def cube(x):
        return ops.power(x, 3.0)

    saving.get_custom_objects()["aliases_cube"] = cube  # the Keras idiom: adding a name registers it
    try:
        assert saving.get_registered_object("aliases_cube") is cube
        y = layers.Activation("aliases_cube")(ops.convert_to_tensor(np.array([2.0], np.float32)))
        assert ops.to_numpy(y).tolist() == [8.0]
    finally:
        del saving.get_custom_objects()["aliases_cube"]
    with saving.CustomObjectScope({"Tripled": Scale}):
        assert saving.get_registered_object("Tripled") is Scale
        assert "Tripled" not in saving.get_custom_objects()
