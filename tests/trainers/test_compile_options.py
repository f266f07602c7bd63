"""``compile(steps_per_execution=..., jit_compile=...)`` act, as in Keras 3:
N steps run in one compiled call with the callbacks fed every N-th step, the
engine's compiler is chosen by ``jit_compile``, and a step's logs stay on the
device until a callback or the epoch's end reads them."""

from __future__ import annotations

import numpy as np
import pytest

import polykeras
from polykeras import callbacks, layers

from layers.helpers import run_keras  # tests/ is on sys.path (no __init__.py)


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"x": rng.standard_normal((40, 6)).astype("float32"), "y": rng.integers(0, 3, 40).astype("int32")}


def _model(dropout: float = 0.2) -> polykeras.Model:
    polykeras.random.set_seed(0)
    return polykeras.Sequential([polykeras.Input((6,)), layers.Dense(8, activation="relu"), layers.Dropout(dropout),
                                 layers.Dense(3)])


class _Steps(callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append(("begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(("end", batch))
        assert isinstance(logs["loss"], float)

    def on_test_batch_end(self, batch, logs=None):
        self.seen.append(("test_end", batch))


def _fit(engine, steps_per_execution: int, jit_compile="auto", dropout: float = 0.2):
    data = _data()
    model = _model(dropout)
    model.compile(polykeras.optimizers.Adam(0.01), polykeras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    seen = _Steps()
    history = model.fit(data["x"], data["y"], batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[seen],
                        validation_data=(data["x"][:12], data["y"][:12]))
    return model, history, seen


def test_steps_per_execution_trains_as_single_steps(diff_engine):
    single, history1, _ = _fit(diff_engine, 1)
    grouped, history3, _ = _fit(diff_engine, 3)
    for a, b in zip(single.get_weights(), grouped.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key in history1.history:
        np.testing.assert_allclose(history1.history[key], history3.history[key], rtol=1e-5, atol=1e-6)
    x = _data()["x"]
    np.testing.assert_allclose(grouped.predict(x, batch_size=4, verbose=0), single.predict(x, batch_size=4, verbose=0),
                               rtol=1e-5, atol=1e-6)
    y = _data()["y"]
    np.testing.assert_allclose(grouped.evaluate(x, y, batch_size=4, verbose=0),
                               single.evaluate(x, y, batch_size=4, verbose=0), rtol=1e-5)


KERAS_STEPS = """
class Steps(keras.callbacks.Callback):
    seen = []
    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append(["begin", batch])
    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(["end", batch])
    def on_test_batch_end(self, batch, logs=None):
        self.seen.append(["test_end", batch])

model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=3)
model.fit(data["x"], data["y"], batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[Steps()],
          validation_data=(data["x"][:12], data["y"][:12]))
out["seen"] = Steps.seen
"""


def test_steps_per_execution_feeds_callbacks_as_keras(diff_engine):
    data = _data()
    model = polykeras.Sequential([polykeras.Input((6,)), layers.Dense(3)])
    model.compile("adam", polykeras.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=3)
    seen = _Steps()
    model.fit(data["x"], data["y"], batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[seen],
              validation_data=(data["x"][:12], data["y"][:12]))
    # Keras 3 refuses steps_per_execution > 1 on torch; there polykeras runs the steps in a Python loop.
    keras_seen = run_keras(KERAS_STEPS, data, backend="jax" if diff_engine.name == "torch" else diff_engine.name)
    # 10 batches in groups of 3: the hooks see the first and last step of each group. The last group
    # holds one batch: polykeras reports step 9, the epoch's last; Keras reports 11, as if it were full.
    assert keras_seen["seen"][7] == ["end", 11]
    keras_seen["seen"][7] = ["end", 9]
    assert [list(item) for item in seen.seen] == keras_seen["seen"]
    assert [b for kind, b in seen.seen if kind == "end"] == [2, 5, 8, 9]


@pytest.mark.parametrize("jit_compile", [True, False])
def test_jit_compile_choices_train_alike(diff_engine, jit_compile):
    data = _data()
    # No dropout: XLA's Philox on CPU draws other numbers than TensorFlow's own kernel from the same key.
    reference, _, _ = _fit(diff_engine, 1, dropout=0.0)
    model, history, _ = _fit(diff_engine, 2, jit_compile=jit_compile, dropout=0.0)
    assert model.jit_compile is jit_compile
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    assert model.get_compile_config()["jit_compile"] is jit_compile
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(data["x"], verbose=0).shape == (40, 3)


def test_logs_stay_on_device_until_read(diff_engine, monkeypatch):
    from polykeras.trainers import trainer

    reads = []
    original = trainer._to_float
    monkeypatch.setattr(trainer, "_to_float", lambda value: reads.append(1) or original(value))
    data = _data()
    model = _model()
    model.compile("adam", polykeras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(data["x"], data["y"], batch_size=4, epochs=2, verbose=0)
    # two logs (loss, accuracy) read once per epoch, not once per step (10 steps an epoch)
    assert len(reads) == 2 * 2


def test_steps_per_execution_in_evaluate_and_predict(engine):
    """Every engine, the inference-only NumPy one included."""
    data = _data()
    model = _model()
    model.compile("adam", polykeras.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=4)
    expected = polykeras.ops.to_numpy(model(data["x"]))
    np.testing.assert_allclose(model.predict(data["x"], batch_size=3, verbose=0), expected, rtol=1e-5, atol=1e-6)
    seen = _Steps()
    model.evaluate(data["x"], data["y"], batch_size=3, verbose=0, callbacks=[seen])
    assert seen.seen == [("test_end", 3), ("test_end", 7), ("test_end", 11), ("test_end", 13)]


@pytest.mark.parametrize("bad, message", [
    ({"steps_per_execution": 0}, "steps_per_execution to be an integer >= 1, received 0"),
    ({"steps_per_execution": 2.5}, "steps_per_execution to be an integer >= 1, received 2.5"),
    ({"jit_compile": "xla"}, "jit_compile to be True, False or 'auto', received 'xla'"),
])
def test_bad_compile_options(engine, bad, message):
    model = _model()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        model.compile("adam", "mse", **bad)
