"""One-call layer test: ``check_layer(factory, input_shape)``.

Run it inside a test that takes the ``engine`` fixture; it checks, on the
active engine:

1. build + call on seeded random inputs; the output shape matches
   ``compute_output_shape`` (``None`` sizes in the expected shape match anything);
2. ``get_config`` is JSON-safe and ``from_config`` + ``set_weights`` gives a
   layer with the same outputs;
3. ``get_weights``/``set_weights`` round trip, and a wrong count is refused;
4. on differentiable engines, gradients w.r.t. the inputs and every trainable
   weight are finite and not all zero (``check_gradients=False`` to skip, or
   ``zero_grad_ok`` for weights allowed a zero gradient);
5. the outputs equal ``expected_output`` (a NumPy array, e.g. the NumPy
   engine's or Keras 3's numbers) within tolerance when given; with
   ``cross_engine=True`` (default) they also equal the same layer's outputs
   on the NumPy engine, with the same weights, so every engine gives the
   same numbers.

Example:
    >>> def test_dense(engine):
    ...     check_layer(lambda: Dense(3, activation="relu"), (2, 4))
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import polykeras.backends as B
from polykeras import ops

__all__ = ["check_layer", "layer_outputs", "to_numpy_tree"]


def to_numpy_tree(x: Any) -> Any:
    """Nested outputs as NumPy arrays (any engine's tensors)."""
    if isinstance(x, (list, tuple)):
        return [to_numpy_tree(i) for i in x]
    if isinstance(x, dict):
        return {k: to_numpy_tree(v) for k, v in x.items()}
    return np.asarray(ops.to_numpy(x))


def _flat(x: Any) -> list[np.ndarray]:
    if isinstance(x, (list, tuple)):
        return [a for i in x for a in _flat(i)]
    if isinstance(x, dict):
        return [a for k in sorted(x) for a in _flat(x[k])]
    return [x]


def _make_inputs(input_shape: Any, input_dtype: str, seed: int) -> Any:
    rng = np.random.default_rng(seed)

    def one(shape: Sequence[int]) -> np.ndarray:
        if input_dtype.startswith(("int", "uint")):
            return rng.integers(0, 5, size=tuple(shape)).astype(input_dtype)
        if input_dtype == "bool":
            return rng.random(tuple(shape)) > 0.5
        return rng.standard_normal(tuple(shape)).astype(input_dtype)

    if isinstance(input_shape, list):
        return [one(s) for s in input_shape]
    return one(input_shape)


def layer_outputs(layer: Any, inputs: Any, **call_kwargs: Any) -> Any:
    """``layer(inputs)`` on the active engine, as NumPy arrays."""
    converted = ([ops.convert_to_tensor(x) for x in inputs] if isinstance(inputs, list)
                 else ops.convert_to_tensor(inputs))
    return to_numpy_tree(layer(converted, **call_kwargs))


def _assert_close(actual: Any, expected: Any, rtol: float, atol: float, what: str) -> None:
    for i, (a, e) in enumerate(zip(_flat(actual), _flat(expected))):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64),
                                   rtol=rtol, atol=atol, err_msg=f"{what} (output {i})")


def _shape_matches(actual: Sequence[int], expected: Sequence[int | None]) -> bool:
    return len(actual) == len(expected) and all(e is None or a == e for a, e in zip(actual, expected))


def check_layer(
    layer_factory: Callable[[], Any],
    input_shape: Any,
    *,
    input_dtype: str = "float32",
    call_kwargs: dict[str, Any] | None = None,
    expected_output: Any = None,
    expected_output_shape: Any = None,
    check_gradients: bool = True,
    zero_grad_ok: Sequence[str] = (),
    cross_engine: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    seed: int = 0,
) -> Any:
    """Run the standard checks on the layer ``layer_factory()`` makes; returns
    the built layer. ``input_shape`` is a shape tuple or a list of them (a
    multi-input layer). See the module docstring for what is checked."""
    from polykeras.layers import Layer

    call_kwargs = dict(call_kwargs or {})
    engine = B.active()
    inputs = _make_inputs(input_shape, input_dtype, seed)
    layer = layer_factory()
    assert isinstance(layer, Layer), f"layer_factory must return a Layer, returned {type(layer).__name__}"

    # 1. build + call, shapes
    out = layer_outputs(layer, inputs, **call_kwargs)
    assert layer.built, f"layer '{layer.name}' is not built after its first call"
    shape_arg = [tuple(s) for s in input_shape] if isinstance(input_shape, list) else tuple(input_shape)
    predicted = layer.compute_output_shape(shape_arg)
    predicted_flat = _flat_shapes(predicted)
    for i, (o, p) in enumerate(zip(_flat(out), predicted_flat)):
        assert _shape_matches(o.shape, p), (
            f"layer '{layer.name}': output {i} has shape {o.shape}, compute_output_shape says {tuple(p)}"
        )
    if expected_output_shape is not None:
        expected_flat = _flat_shapes(expected_output_shape)
        for o, e in zip(_flat(out), expected_flat):
            assert _shape_matches(o.shape, e), f"layer '{layer.name}': output shape {o.shape}, expected {e}"
    for a in _flat(out):
        if a.dtype.kind == "f":
            assert np.all(np.isfinite(a)), f"layer '{layer.name}' produced non-finite outputs"

    # 2. weights round trip, wrong count refused
    weights = layer.get_weights()
    assert len(weights) == len(layer.weights)
    for w, v in zip(weights, layer.weights):
        assert isinstance(w, np.ndarray) and w.shape == tuple(v.shape), f"get_weights shape for {v.path}"
    layer.set_weights(weights)
    _assert_close(layer_outputs(layer, inputs, **call_kwargs), out, rtol, atol,
                  "outputs after set_weights(get_weights())")
    if weights:
        try:
            layer.set_weights(weights[:-1])
        except ValueError as err:
            assert layer.name in str(err), f"set_weights error does not name the layer: {err}"
        else:
            raise AssertionError(f"layer '{layer.name}': set_weights accepted too few arrays")

    # 3. config round trip
    config = layer.get_config()
    json.dumps(config)
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config or _same_but_name(clone.get_config(), config), (
        f"config round trip changed the config of '{layer.name}':\n{config}\n{clone.get_config()}"
    )
    layer_outputs(clone, inputs, **call_kwargs)  # build the clone
    clone.set_weights(weights)
    _assert_close(layer_outputs(clone, inputs, **call_kwargs), out, rtol, atol,
                  "outputs of from_config(get_config()) clone")

    # 4. gradients
    if check_gradients and engine.differentiable and input_dtype.startswith("float"):
        _check_gradients(layer, inputs, call_kwargs, zero_grad_ok)

    # 5. numbers
    if expected_output is not None:
        _assert_close(out, expected_output, rtol, atol, f"outputs of '{layer.name}' vs expected_output")
    if cross_engine and engine.name != "numpy" and "numpy" in B.installed():
        with B.use("numpy"):
            reference = layer_factory()
            layer_outputs(reference, inputs, **call_kwargs)
            reference.set_weights(weights)
            expected = layer_outputs(reference, inputs, **call_kwargs)
        _assert_close(out, expected, max(rtol, 1e-4), max(atol, 1e-4),
                      f"outputs of '{layer.name}' on {engine.name} vs the numpy engine")
    return layer


def _same_but_name(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "name"} == {k: v for k, v in b.items() if k != "name"}


def _flat_shapes(value: Any) -> list[Any]:
    """A shape, or nested lists/tuples of shapes (a multi-output layer), as a list of shapes."""
    if _is_shape(value):
        return [value]
    return [shape for item in value for shape in _flat_shapes(item)]


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def _check_gradients(layer: Any, inputs: Any, call_kwargs: dict, zero_grad_ok: Sequence[str]) -> None:
    from polykeras.variables import StatelessScope

    trainable = layer.trainable_weights
    inputs_list = inputs if isinstance(inputs, list) else [inputs]
    n_inputs = len(inputs_list)
    rng = np.random.default_rng(1)
    out_probe = layer_outputs(layer, inputs, **call_kwargs)
    projections = [ops.convert_to_tensor(rng.standard_normal(o.shape).astype("float32")) for o in _flat(out_probe)]

    def loss_fn(params: list[Any]) -> Any:
        xs, ws = params[:n_inputs], params[n_inputs:]
        with StatelessScope(list(zip(trainable, ws))):
            y = layer(xs if isinstance(inputs, list) else xs[0], **call_kwargs)
        total = ops.zeros((), "float32")
        for o, p in zip(_flat(y), projections):
            total = ops.add(total, ops.sum(ops.multiply(ops.cast(o, "float32"), p)))
        return total

    params = [ops.convert_to_tensor(x) for x in inputs_list] + [ops.convert_to_tensor(v.numpy()) for v in trainable]
    _, grads = ops.value_and_grad(loss_fn)(params)
    names = [f"input {i}" for i in range(n_inputs)] + [v.path for v in trainable]
    for name, g, v in zip(names, grads, [None] * n_inputs + list(trainable)):
        assert g is not None, f"layer '{layer.name}': no gradient for {name}"
        g = np.asarray(ops.to_numpy(g), dtype=np.float64)
        assert np.all(np.isfinite(g)), f"layer '{layer.name}': non-finite gradient for {name}"
        allowed_zero = v is not None and v.name in zero_grad_ok
        if not allowed_zero and name not in zero_grad_ok:
            assert np.any(g != 0), f"layer '{layer.name}': the gradient for {name} is all zeros"


_KERAS_SCRIPT = """
import json, sys
import numpy as np
import keras
from keras import ops
data = dict(np.load(sys.argv[1], allow_pickle=False))
out = {}
exec(compile(open(sys.argv[2]).read(), "keras_code", "exec"))
arrays = {k: np.asarray(v) for k, v in out.items() if not isinstance(v, (dict, list, str))}
plain = {k: v for k, v in out.items() if isinstance(v, (dict, list, str))}
np.savez(sys.argv[3], **arrays)
open(sys.argv[4], "w").write(json.dumps(plain))
"""


def run_keras(code: str, data: dict[str, np.ndarray] | None = None, backend: str = "jax") -> dict[str, Any]:
    """Run ``code`` with Keras 3 on ``backend`` and return its ``out`` dict:
    arrays come back as NumPy arrays, dicts/lists/strings as JSON. ``data``
    is available to the code as ``data`` (``keras``, ``ops``, ``np``,
    ``json`` and ``sys`` too). Keras fixes its backend at import, so it runs
    in a subprocess, except on NumPy where this process's own Keras runs on
    NumPy (tests/conftest.py) or is not loaded yet: there the code runs here,
    on a fresh Keras session, with the results a subprocess would give and
    without its start-up (several seconds: Python, Keras, often TensorFlow).
    Skips the test when Keras is not installed.

    Example:
        >>> out = run_keras("out['y'] = keras.activations.gelu(data['x'])", {"x": x})
    """
    import importlib.util
    import sys

    import pytest

    if importlib.util.find_spec("keras") is None or importlib.util.find_spec(backend) is None:
        pytest.skip(f"needs keras and {backend}")
    loaded = sys.modules.get("keras")
    if backend == "numpy" and (loaded is None or loaded.backend.backend() == "numpy"):
        return _run_keras_here(code, data or {})
    return _run_keras_subprocess(code, data or {}, backend)


def _run_keras_here(code: str, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """:func:`run_keras` in this process, on Keras' NumPy backend: the name
    counters start afresh as in a new process, and the global state the code
    may set (NumPy's and Python's seeds, Keras' floatx, epsilon and image
    data format) is put back afterwards."""
    import random
    import sys

    import keras

    saved = (np.random.get_state(), random.getstate(), keras.config.floatx(), keras.config.epsilon(),
             keras.config.image_data_format())
    keras.backend.clear_session(free_memory=False)
    scope = {"json": json, "sys": sys, "np": np, "keras": keras, "ops": keras.ops,
             "data": {k: np.array(v) for k, v in data.items()}, "out": {}}
    try:
        exec(compile(code, "keras_code", "exec"), scope)
    except Exception as err:
        raise AssertionError(f"Keras reference failed: {type(err).__name__}: {err}") from err
    finally:
        np.random.set_state(saved[0])
        random.setstate(saved[1])
        keras.config.set_floatx(saved[2])
        keras.config.set_epsilon(saved[3])
        keras.config.set_image_data_format(saved[4])
    out = scope["out"]
    plain = {k: v for k, v in out.items() if isinstance(v, (dict, list, str))}
    return {**{k: np.asarray(v) for k, v in out.items() if k not in plain}, **json.loads(json.dumps(plain))}


def _run_keras_subprocess(code: str, data: dict[str, np.ndarray], backend: str) -> dict[str, Any]:
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, name) for name in ("in.npz", "keras_case.py", "out.npz", "out.json", "run.py")]
        np.savez(paths[0], **data)
        with open(paths[1], "w") as f:
            f.write(code)
        with open(paths[4], "w") as f:
            f.write(_KERAS_SCRIPT)
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        result = subprocess.run([sys.executable, paths[4], *paths[:4]], env=env, capture_output=True, text=True,
                                timeout=300)
        if result.returncode != 0:
            raise AssertionError(f"Keras reference failed:\n{result.stderr[-3000:]}")
        out: dict[str, Any] = dict(np.load(paths[2]))
        with open(paths[3]) as f:
            out.update(json.load(f))
    return out


def keras_numpy(path: str, *args: Any, **kwargs: Any) -> np.ndarray:
    """``keras.<path>(*args, **kwargs)`` computed by Keras 3 on its NumPy
    backend, as a NumPy array (a list of them for a tuple result): in this process when Keras is not loaded yet
    or already runs on NumPy, else (another test loaded it on another
    backend) in a subprocess, arrays travelling as data and other arguments
    as Python literals.

    Example:
        >>> keras_numpy("ops.nn.celu", x, alpha=0.7)
    """
    import functools
    import sys

    import pytest

    loaded = sys.modules.get("keras")
    if loaded is None or loaded.backend.backend() == "numpy":
        keras = pytest.importorskip("keras")
        result = functools.reduce(getattr, path.split("."), keras)(*args, **kwargs)
        return [np.asarray(r) for r in result] if isinstance(result, (tuple, list)) else np.asarray(result)
    data: dict[str, np.ndarray] = {}

    def literal(value: Any, key: str) -> str:
        if isinstance(value, np.ndarray):
            data[key] = value
            return f"data[{key!r}]"
        if isinstance(value, np.generic):
            return repr(value.item())
        if isinstance(value, (tuple, list)):
            items = [literal(v, f"{key}_{i}") for i, v in enumerate(value)]
            return f"({', '.join(items)},)" if isinstance(value, tuple) else f"[{', '.join(items)}]"
        return repr(value)

    call = ", ".join([literal(a, f"a{i}") for i, a in enumerate(args)]
                     + [f"{k}={literal(v, f'k_{k}')}" for k, v in kwargs.items()])
    code = (f"r = keras.{path}({call})\n"
            "if isinstance(r, (tuple, list)):\n"
            "    out.update({f'y{i}': np.asarray(v) for i, v in enumerate(r)}); out['parts'] = np.asarray(len(r))\n"
            "else:\n"
            "    out['y'] = np.asarray(r)\n")
    out = run_keras(code, data, backend="numpy")
    return [out[f"y{i}"] for i in range(int(out["parts"]))] if "parts" in out else out["y"]

