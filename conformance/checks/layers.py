"""The ``layers`` family: one row per built-in layer class of
``polykeras.layers.config.LAYER_CLASSES``, each running every case of
:data:`conformance.checks.layer_cases.CASES` for that class:

1. the same seed gives bit-identical initial weights as on the NumPy engine;
2. with the same (perturbed) weights set via ``set_weights``, the outputs equal
   the NumPy engine's ("layer" tolerance), and so do masks and ``layer.losses``;
3. output shapes equal ``compute_output_shape``;
4. ``from_config(get_config())`` (through JSON) gives the same config and, with
   the same weights, the same outputs;
5. on differentiating engines, gradients w.r.t. the inputs and every trainable
   weight equal central finite differences of the same layer computing in
   float64 on the NumPy engine ("gradient" tolerance).

A registered class without a case is a failing "no conformance case" row.

Example:
    >>> checks = layer_checks()
    >>> [c.name for c in checks][:2]
    ['Activation', 'Add']
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

import polykeras.backends as B
from conformance import reference as ref
from conformance.checks.base import Check, Context
from conformance.checks.layer_cases import CASES, LayerCase
from polykeras import ops

__all__ = ["layer_checks", "registered_layers"]


def registered_layers() -> dict[str, type]:
    """The built-in layer classes (models included), every layer module imported.

    Example: ``"Dense" in registered_layers()`` -> ``True``
    """
    import polykeras.distillation  # noqa: F401 - Distiller is a model; polykeras loads it on first use
    import polykeras.layers  # noqa: F401 - registers the built-in layers
    import polykeras.layers.operation  # noqa: F401 - Operation, the base of a user's weightless op
    import polykeras.models  # noqa: F401 - Sequential, Functional, Model are layers too
    from polykeras.layers.config import LAYER_CLASSES

    return dict(sorted(LAYER_CLASSES.items()))


def _flat(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [a for item in x for a in _flat(item)]
    if isinstance(x, dict):
        return [a for key in sorted(x) for a in _flat(x[key])]
    return [x]


def _inputs(case: LayerCase, rng: np.random.Generator) -> list[np.ndarray]:
    if case.data is not None:
        return case.data(rng)
    shapes = case.input_shape if isinstance(case.input_shape, list) else [case.input_shape]
    if case.int_inputs is not None:
        arrays = [rng.integers(0, case.int_inputs, s).astype("int32") for s in shapes]
    else:
        arrays = [rng.standard_normal(s).astype("float32") for s in shapes]
    return case.prepare(arrays) if case.prepare else arrays


def _masks(case: LayerCase, arrays: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray] | None:
    if not case.mask:
        return None
    out = []
    for a in arrays:
        m = rng.random(a.shape[:2]) > 0.3
        m[:, 0] = True
        out.append(m)
    return out


def _call(layer: Any, case: LayerCase, arrays: Sequence[Any], masks: list[np.ndarray] | None,
          building: bool = False) -> list[Any]:
    """The layer's outputs (a flat list) on the active engine; ``building``
    calls in inference mode (the first call must not move any state)."""
    xs = list(arrays) if case.raw else [ops.convert_to_tensor(a) for a in arrays]
    kwargs = {k: v for k, v in case.call_kwargs.items() if not (building and k == "training")}
    if masks is not None:
        converted = [ops.convert_to_tensor(m) for m in masks]
        kwargs["mask"] = converted if isinstance(case.input_shape, list) else converted[0]
    if case.invoke is not None:
        return _flat(case.invoke(layer, xs, **kwargs))
    return _flat(layer(xs if isinstance(case.input_shape, list) else xs[0], **kwargs))


def _host(xs: list[Any]) -> list[np.ndarray]:
    return [np.asarray(ops.to_numpy(x)) for x in xs]


def _perturb(weights: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Weights moved off their initial values (zeros biases, unit scales), so
    every weight shows in the outputs; all-positive ones stay positive."""
    out = []
    for w in weights:
        if w.dtype.kind != "f":
            out.append(w)
        elif w.size and np.all(w > 0):
            out.append((w * rng.uniform(0.5, 1.5, w.shape)).astype(w.dtype))
        else:
            out.append((w + 0.2 * rng.standard_normal(w.shape)).astype(w.dtype))
    return out


def _same_config(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k != "name"} == {k: v for k, v in b.items() if k != "name"}


def _shape_ok(actual: Sequence[int], expected: Any) -> bool:
    expected = tuple(expected)
    return len(actual) == len(expected) and all(e is None or a == e for a, e in zip(actual, expected))


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


class _Run:
    """One case of one class on one engine."""

    def __init__(self, name: str, cls: type, case: LayerCase, index: int, ctx: Context, draw: int):
        self.name, self.cls, self.case, self.ctx = name, cls, case, ctx
        self.key = (name, index, draw, ctx.seed)
        self.rng = np.random.default_rng((zlib.crc32(f"{name}/{index}".encode()) + ctx.seed + 104729 * draw) % 2**32)
        self.what = f"{name} case {index} {case.kwargs or ''}".rstrip()
        self.arrays = _inputs(case, self.rng)
        self.masks = _masks(case, self.arrays, self.rng)
        self.notes: list[str] = []

    def build(self, dtype: str = "float32") -> tuple[Any, list[Any]]:
        from polykeras import random
        from polykeras.saving.safe_mode import safe_mode

        random.set_seed(self.ctx.seed)
        with safe_mode(False):
            layer = self.case.build(self.cls, dtype)
        arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in self.arrays]
        return layer, _call(layer, self.case, arrays, self.masks, building=True)

    def reference(self) -> dict[str, Any]:
        """The NumPy engine's initial weights, outputs, masks and losses (cached: one per case)."""
        cache = self.ctx.cache
        if ("layer", self.key) not in cache:
            with B.use("numpy"):
                layer, _ = self.build()
                initial = layer.get_weights()
                weights = _perturb(initial, self.rng)
                layer.set_weights(weights)
                outputs = _call(layer, self.case, self.arrays, self.masks)
                cache["layer", self.key] = {
                    "initial": initial, "weights": weights, "outputs": _host(outputs),
                    "masks": [_mask_of(o) for o in outputs], "losses": _losses(layer),
                }
        return cache["layer", self.key]

    def run(self) -> None:
        case, meter = self.case, self.ctx.meter
        if not case.called:
            self.structural()
            return
        if case.engines is not None and self.ctx.engine not in case.engines:
            self.refused()
            return
        expected = self.reference()
        layer, _ = self.build()
        initial = layer.get_weights()
        if len(initial) != len(expected["initial"]):
            raise AssertionError(f"{self.what}: {len(initial)} weights, "
                                 f"the numpy engine has {len(expected['initial'])}")
        for w, r, v in zip(initial, expected["initial"], layer.weights):
            meter.exact(w, r, what=f"{self.what}: initial value of {v.path} (same seed) vs the numpy engine")
        layer.set_weights(expected["weights"])
        outputs = _call(layer, case, self.arrays, self.masks)
        host = _host(outputs)
        if len(host) != len(expected["outputs"]):
            raise AssertionError(f"{self.what}: {len(host)} outputs, the numpy engine gives {len(expected['outputs'])}")
        for i, (o, r) in enumerate(zip(host, expected["outputs"])):
            meter.compare(o, r, "layer", "float32" if o.dtype.kind == "f" else o.dtype.name,
                          what=f"{self.what}: output {i} vs the numpy engine")
        for i, (o, r) in enumerate(zip(outputs, expected["masks"])):
            mine = _mask_of(o)
            if (mine is None) != (r is None):
                raise AssertionError(f"{self.what}: output {i} mask is {'absent' if mine is None else 'present'} "
                                     f"here, {'absent' if r is None else 'present'} on the numpy engine")
            if mine is not None:
                meter.exact(mine, r, what=f"{self.what}: output {i} mask vs the numpy engine")
        mine_losses = _losses(layer)
        meter.compare(np.asarray(mine_losses), np.asarray(expected["losses"]), "layer", "float32",
                      what=f"{self.what}: layer.losses vs the numpy engine")
        self.shapes(layer, host)
        self.config(layer, host, expected["weights"])
        if self.ctx.differentiable:
            self.gradients(layer, expected["weights"])

    def refused(self) -> None:
        """A layer this engine cannot run: building it raises a NotImplementedError naming the class."""
        try:
            self.build()
        except NotImplementedError as error:
            if self.name not in str(error) or repr(self.ctx.engine) not in str(error):
                raise AssertionError(f"{self.what}: the NotImplementedError names neither the layer nor the "
                                     f"{self.ctx.engine!r} engine: {error}") from error
            self.ctx.meter.note(0.0, 0.0)
            self.notes.append(f"runs on {', '.join(self.case.engines or ())} only: NotImplementedError here")
            return
        raise AssertionError(f"{self.what}: expected a NotImplementedError on the {self.ctx.engine} engine "
                             f"(the case runs on {self.case.engines} only); it built")

    def shapes(self, layer: Any, outputs: list[np.ndarray]) -> None:
        if not self.case.check_shape:
            self.notes.append("no compute_output_shape for this call form")
            return
        shapes = [tuple(a.shape) for a in self.arrays]
        if self.case.invoke is not None:
            predicted = layer.compute_output_shape(*shapes)
        else:
            predicted = layer.compute_output_shape(shapes if isinstance(self.case.input_shape, list) else shapes[0])
        flat = [predicted] if _is_shape(predicted) else [p for p in _shape_list(predicted)]
        if len(flat) != len(outputs):
            raise AssertionError(f"{self.what}: compute_output_shape gives {len(flat)} shapes "
                                 f"for {len(outputs)} outputs")
        for i, (o, p) in enumerate(zip(outputs, flat)):
            if not _shape_ok(o.shape, p):
                raise AssertionError(f"{self.what}: output {i} has shape {o.shape}, compute_output_shape says {p}")

    def config(self, layer: Any, outputs: list[np.ndarray], weights: list[np.ndarray]) -> None:
        from polykeras.saving.safe_mode import safe_mode

        config = layer.get_config()
        text = json.dumps(config)
        with safe_mode(not self.case.unsafe):
            clone = type(layer).from_config(json.loads(text))
        if not _same_config(clone.get_config(), config):
            raise AssertionError(f"{self.what}: config round trip changed the config:\n"
                                 f"  {config}\n  {clone.get_config()}")
        _call(clone, self.case, self.arrays, self.masks, building=True)
        clone.set_weights(weights)
        for i, (o, r) in enumerate(zip(_host(_call(clone, self.case, self.arrays, self.masks)), outputs)):
            self.ctx.meter.compare(o, r, "layer", "float32" if o.dtype.kind == "f" else o.dtype.name,
                                   what=f"{self.what}: output {i} of the from_config clone")

    def gradients(self, layer: Any, weights: list[np.ndarray]) -> None:
        from polykeras.variables import StatelessScope

        trainable = layer.trainable_weights
        n_in = len(self.arrays) if self.case.input_grad else 0
        if not n_in and not trainable:
            self.notes.append("nothing to differentiate")
            return
        projections, expected = self.reference_gradients(weights)

        def loss(params: list[Any]) -> Any:
            xs = params[:n_in] + [ops.convert_to_tensor(a) for a in self.arrays[n_in:]]
            with StatelessScope(list(zip(trainable, params[n_in:]))):
                outs = _call(layer, self.case, xs, self.masks)
            total = ops.zeros((), "float32")
            for o, p in zip(outs, projections):
                if ops.dtype(o).startswith("float"):
                    total = ops.add(total, ops.sum(ops.multiply(ops.cast(o, "float32"), ops.convert_to_tensor(p))))
            return total

        params = [ops.convert_to_tensor(a) for a in self.arrays[:n_in]] + [ops.convert_to_tensor(v.numpy())
                                                                          for v in trainable]
        _, grads = ops.value_and_grad(loss)(params)
        names = [f"input {i}" for i in range(n_in)] + [v.path for v in trainable]
        for name, g, want in zip(names, grads, expected):
            self.ctx.meter.compare(np.asarray(ops.to_numpy(g)), want, "gradient", "float32",
                                   what=f"{self.what}: gradient w.r.t. {name} vs finite differences (float64, numpy)")

    def reference_gradients(self, weights: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Projections of the outputs and finite-difference gradients of the
        projected sum, from the layer computing in float64 on the NumPy engine."""
        cache = self.ctx.cache
        if ("grad", self.key) in cache:
            return cache["grad", self.key]
        from polykeras.variables import StatelessScope

        n_in = len(self.arrays) if self.case.input_grad else 0
        with B.use("numpy"):
            layer64, _ = self.build("float64")
            layer64.set_weights([w.astype(np.float64) if w.dtype.kind == "f" else w for w in weights])
            position = {id(v): i for i, v in enumerate(layer64.weights)}
            trainable = layer64.trainable_weights
            start = [np.asarray(weights[position[id(v)]], np.float64) for v in trainable]
            outs = _host(_call(layer64, self.case, self.arrays, self.masks))
            rng = np.random.default_rng(1)
            projections = [rng.standard_normal(o.shape).astype("float32") for o in outs]
            fixed = [a for a in self.arrays[n_in:]]

            def total(*values: np.ndarray) -> float:
                xs = list(values[:n_in]) + fixed
                with StatelessScope(list(zip(trainable, [ops.convert_to_tensor(v) for v in values[n_in:]]))):
                    ys = _host(_call(layer64, self.case, xs, self.masks))
                return float(sum(np.sum(y.astype(np.float64) * p) for y, p in zip(ys, projections)
                                 if y.dtype.kind == "f"))

            expected = ref.numeric_grad(total, [a.astype(np.float64) for a in self.arrays[:n_in]] + start)
        cache["grad", self.key] = (projections, expected)
        return projections, expected

    def structural(self) -> None:
        """Layers never called on tensors: config round trip and the symbolic output."""
        layer = self.case.build(self.cls)
        config = layer.get_config()
        clone = type(layer).from_config(json.loads(json.dumps(config)))
        if not _same_config(clone.get_config(), config):
            raise AssertionError(f"{self.what}: config round trip changed the config: {config} -> {clone.get_config()}")
        output = getattr(layer, "output", None)
        if output is not None and tuple(output.shape)[1:] != tuple(config.get("batch_shape", (None,)))[1:]:
            raise AssertionError(f"{self.what}: symbolic output shape {output.shape}, config {config}")
        self.ctx.meter.note(0.0, 0.0)
        self.notes.append("not called on tensors: config round trip and symbolic output only")


def _shape_list(value: Any) -> list[Any]:
    if _is_shape(value):
        return [value]
    if isinstance(value, dict):
        return [s for k in sorted(value) for s in _shape_list(value[k])]
    return [s for item in value for s in _shape_list(item)]


def _mask_of(x: Any) -> np.ndarray | None:
    from polykeras.layers.masking import get_mask

    mask = get_mask(x)
    return None if mask is None else np.asarray(ops.to_numpy(mask))


def _losses(layer: Any) -> list[float]:
    return [float(np.asarray(ops.to_numpy(loss))) for loss in layer.losses]


def _layer_check(name: str, cls: type | None) -> Any:
    def run(ctx: Context) -> str:
        cases = CASES.get(name)
        if not cases:
            raise AssertionError(f"no conformance case: add an entry for {name} to conformance/checks/layer_cases.py")
        notes: list[str] = []
        for draw in range(ctx.profile.draws):
            for index, case in enumerate(cases):
                one = _Run(name, cls, case, index, ctx, draw)
                one.run()
                notes += [n for n in one.notes if n not in notes]
        if not ctx.differentiable:
            notes.append(f"gradients not checked: the {ctx.engine} engine does not differentiate")
        return "; ".join(notes)
    return run


def layer_checks() -> list[Check]:
    """One row per registered built-in layer class, in name order."""
    from conformance.checks import half_precision

    checks = [Check(name, "layers", _layer_check(name, cls), (name,)) for name, cls in registered_layers().items()]
    return checks + half_precision.layer_checks()  # float16, bfloat16 and the mixed policies
