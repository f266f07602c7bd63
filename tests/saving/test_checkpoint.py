"""ModelCheckpoint writes polykeras archives (``.pkeras``, ``.keras``) and
weights files through fit; the checkpoints load and resume."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerances import assert_close
from polykeras import callbacks
from polykeras.saving import load_model

from ._models import compiled, data, weights


@pytest.mark.parametrize("suffix", [".pkeras", ".keras"])
def test_model_checkpoint_archives_load_and_resume(diff_engine, tmp_path, suffix):
    x, y = data("sequential", n=8)
    model = compiled("sequential")
    path = tmp_path / f"ckpt-{{epoch}}{suffix}"
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(path, monitor="loss")])
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"ckpt-1{suffix}", f"ckpt-2{suffix}"]
    last = load_model(tmp_path / f"ckpt-2{suffix}")
    for a, b in zip(weights(last), weights(model)):
        np.testing.assert_array_equal(a, b)
    resumed = load_model(tmp_path / f"ckpt-1{suffix}")
    resumed.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(weights(resumed), weights(model)):
        assert_close(a, b, "model")


def test_model_checkpoint_weights_only(diff_engine, tmp_path):
    x, y = data("sequential", n=8)
    model = compiled("sequential")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(tmp_path / "w.weights.h5", monitor="loss",
                                                   save_weights_only=True)])
    other = compiled("sequential", seed=7)
    other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(weights(other), weights(model)):
        np.testing.assert_array_equal(a, b)
