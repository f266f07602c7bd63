"""``compile``/``fit``/``evaluate``/``predict``: one training loop for every
engine.

The step is written once, with ``ops`` and :class:`~polykeras.Variable` reads
and assigns (``train_step``); :mod:`polykeras.trainers.step` compiles it the
engine's best way. Users may override ``train_step``/``test_step``/
``predict_step``; they run compiled the same way.

Example:
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> history = model.fit(x, y, batch_size=64, epochs=5, validation_split=0.1)
    >>> model.evaluate(x_test, y_test, return_dict=True)["accuracy"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from polykeras import backends
from polykeras import losses as losses_module
from polykeras import metrics as metrics_module
from polykeras import ops
from polykeras import optimizers as optimizers_module
from polykeras import tree as tree_module
from polykeras.symbolic import STRING, flatten, map_structure
from polykeras.trainers import data as data_module
from polykeras.trainers.compile_utils import CompileLoss, CompileMetrics, align
from polykeras.trainers.step import compile_step
from polykeras.variables import StatelessScope


if TYPE_CHECKING:  # the Layer a Trainer is mixed into (Model)
    from polykeras.layers.layer import Layer as _Host
else:
    _Host = object


def _to_float(value: Any) -> float:
    return float(np.asarray(ops.to_numpy(value)))


def _logs_to_floats(logs: dict[str, Any]) -> dict[str, float]:
    return {key: _to_float(value) for key, value in logs.items()}


class Trainer(_Host):
    """The training half of :class:`~polykeras.Model` (see the module docstring)."""

    compiled = False
    steps_per_execution = 1
    loss: Any = None  #: what compile() was given as ``loss`` (as Keras 3 keeps it)

    # ------------------------------------------------------------- compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Choose the optimizer, loss(es) and metrics.

        ``loss``/``metrics`` may be one value (every output), a list (by
        output position) or a dict (by output name: the output layer's name,
        or the key of a dict of outputs); the total loss is the
        ``loss_weights``-weighted sum plus the model's own losses
        (regularizers, ``add_loss``). Any callable ``fn(y_true, y_pred)`` is a
        loss or metric; only saving needs it registered
        (``@register_serializable``). ``metrics`` ignore sample and class
        weights; ``weighted_metrics`` apply them (as Keras 3: ``weighted_<name>``
        where both sets name a metric). ``run_eagerly=True`` skips compilation
        (for debugging). ``jit_compile`` picks the engine's compiler:
        ``True`` is XLA on TensorFlow, ``torch.compile`` on torch and
        ``jax.jit`` on JAX; ``False`` the engine's plain step (``tf.function``
        without XLA, eager torch, op-by-op JAX); ``"auto"`` the engine's
        fastest default (``jax.jit``, ``tf.function``, eager torch).
        ``steps_per_execution=N`` runs N steps in one compiled call; the
        callbacks' batch hooks and the progress bar then see every N-th step.
        ``auto_scale_loss=True`` wraps the optimizer in a
        ``LossScaleOptimizer`` when the model's dtype policy is
        ``mixed_float16`` (as Keras 3 does).

        Example: ``model.compile("adam", "mse", metrics=["mae"])``
        """
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int) \
                or steps_per_execution < 1:
            raise ValueError(f"Model {self.name!r}.compile: expected steps_per_execution to be an integer >= 1, "
                             f"received {steps_per_execution!r}.")
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"Model {self.name!r}.compile: expected jit_compile to be True, False or 'auto', "
                             f"received {jit_compile!r}.")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss
        policy = getattr(self, "dtype_policy", None)
        if auto_scale_loss and policy is not None and policy.name == "mixed_float16" \
                and not isinstance(self.optimizer, optimizers_module.LossScaleOptimizer):
            # float16 gradients underflow without loss scaling (Keras 3 wraps the same way).
            self.optimizer = optimizers_module.LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
        names = self._output_names()
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics, names,
                                               self._compile_loss or CompileLoss(None, None, names))
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._part_trackers: dict[str, Any] | None = None  # per-output losses, made by the first batch
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        self.steps_per_execution = steps_per_execution
        self.auto_scale_loss = auto_scale_loss
        # Serialized when asked (saving): an unregistered function is a fine loss until then.
        self._compile_args = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                              "weighted_metrics": weighted_metrics, "run_eagerly": run_eagerly,
                              "steps_per_execution": steps_per_execution, "jit_compile": jit_compile}
        self.compiled = True
        self._functions: dict[str, Any] = {}
        self.stop_training = False
        self._prepared_outputs = self._train_ready = False
        self.__dict__.pop("_sparse_label_ranges", None)

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """``compile`` with what :meth:`get_compile_config` returned (used by
        ``load_model``). Example: ``model.compile_from_config(config)``"""
        self.compile(optimizer=optimizers_module.get(config["optimizer"]),
                     loss=_deserialize_structure(config.get("loss"), losses_module.get),
                     loss_weights=config.get("loss_weights"),
                     metrics=_deserialize_structure(config.get("metrics"), metrics_module.get),
                     weighted_metrics=_deserialize_structure(config.get("weighted_metrics"), metrics_module.get),
                     run_eagerly=config.get("run_eagerly", False),
                     steps_per_execution=config.get("steps_per_execution", 1),
                     jit_compile=config.get("jit_compile", "auto"))

    def _output_names(self) -> list[str]:
        outputs = getattr(self, "outputs", None) or []
        if not outputs:
            return ["output"]
        names = [t.node.layer.name if t.node is not None else t.name for t in outputs]
        struct = getattr(self, "_outputs_struct", None)
        if isinstance(struct, dict):
            by_tensor = {id(t): key for key, t in struct.items()}
            names = [by_tensor.get(id(t), n) for t, n in zip(outputs, names)]
        return names

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"Model {self.name!r}: call compile() before {what}().")

    # ----------------------------------------------------------- the steps
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """Total loss: compiled losses plus the model's own (``self.losses``).
        Override it for a custom loss; ``train_step`` and ``test_step`` use it.

        Example: ``loss = model.compute_loss(x, y, model(x), None)``
        """
        return self._loss_and_parts(y, y_pred, sample_weight)[0]

    def _loss_and_parts(self, y: Any, y_pred: Any, sample_weight: Any) -> tuple[Any, dict[str, Any]]:
        """(total loss, per-output losses) from the compiled losses and ``self.losses``."""
        total: Any = None
        parts: dict[str, Any] = {}
        if self._compile_loss is not None and y is not None:
            total, parts = self._compile_loss(y, y_pred, sample_weight)
        for extra in self.losses:
            total = extra if total is None else ops.add(total, extra)
        if total is None:
            raise ValueError(f"Model {self.name!r}: no loss to minimise: compile() got no loss and the model "
                             "adds none.")
        return total, parts

    def _step_loss(self, x: Any, y: Any, y_pred: Any, sample_weight: Any, training: bool) -> tuple[Any, dict]:
        # A user's compute_loss wins; the per-output parts come only from the built-in one.
        if type(self).compute_loss is not Trainer.compute_loss:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training), {}
        return self._loss_and_parts(y, y_pred, sample_weight)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, Any]:
        """Update the compiled metrics and return every metric's result."""
        if y is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    @property
    def metrics(self) -> list[Any]:
        """Every metric the model tracks, as Keras 3 lists them: the loss
        tracker, the compiled metrics (when compile named any), the per-output
        loss trackers (after the first batch), then each ``Metric`` held as an
        attribute of the model or its layers. Override it to add trackers of
        your own: their results join the logs and they reset each epoch.

        Example: ``[m.name for m in model.metrics]`` -> ``['loss', 'compile_metrics', 'penalty']``
        """
        found: list[Any] = []
        if self.compiled:
            found.append(self._loss_tracker)
            if self._compile_metrics.specified:
                found.append(self._compile_metrics)
            found += (self._part_trackers or {}).values()
        found += super().metrics  # each Metric held by the model or its layers
        return list({id(m): m for m in found}.values())

    @property
    def metrics_names(self) -> list[str]:
        """The names of :attr:`metrics`. Example: ``model.metrics_names`` -> ``['loss', 'compile_metrics']``"""
        return [m.name for m in self.metrics]

    def get_metrics_result(self) -> dict[str, Any]:
        """Every metric's current result (the compiled metrics by their own
        names). Raises ``ValueError`` before the compiled metrics are built
        (the first batch builds them), as Keras 3 does.

        Example: ``model.get_metrics_result()`` -> ``{'loss': ..., 'mae': ...}``
        """
        logs: dict[str, Any] = {}
        for metric in self.metrics:
            result = metric.results() if hasattr(metric, "results") else metric.result()
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[metric.name] = result
        return logs

    def stateless_compute_loss(self, trainable_variables: list[Any], non_trainable_variables: list[Any],
                               metrics_variables: list[Any], x: Any = None, y: Any = None, y_pred: Any = None,
                               sample_weight: Any = None, training: bool = True) -> tuple[Any, tuple[list, list, list]]:
        """:meth:`compute_loss` with the given values in place of the model's
        variables (in the orders of ``trainable_variables``,
        ``non_trainable_variables`` and :attr:`metrics_variables`), for a pure
        custom step; returns ``(loss, (trainable, non_trainable, metrics))``,
        the last two as ``compute_loss`` left them.

        Example: ``loss, (tv, ntv, mv) = model.stateless_compute_loss(tv, ntv, mv, x, y, y_pred)``
        """
        groups = (("trainable_variables", self.trainable_variables, trainable_variables),
                  ("non_trainable_variables", self.non_trainable_variables, non_trainable_variables),
                  ("metrics_variables", self.metrics_variables, metrics_variables))
        for name, variables, values in groups:
            if len(values) != len(variables):
                raise ValueError(f"Model {self.name!r}.stateless_compute_loss: expected {len(variables)} "
                                 f"{name} values, received {len(values)}.")
        with StatelessScope([pair for _, variables, values in groups for pair in zip(variables, values)]) as scope:
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return loss, (list(trainable_variables), [scope.get_current_value(v) for v in self.non_trainable_variables],
                      [scope.get_current_value(v) for v in self.metrics_variables])

    def get_state_tree(self, value_format: str = "backend_tensor") -> dict[str, Any]:
        """Every variable's value as nested dicts by variable path, under
        ``trainable_variables``, ``non_trainable_variables``,
        ``optimizer_variables`` (once compiled) and ``metrics_variables``.
        ``value_format`` is ``"backend_tensor"`` (the engine's tensors) or
        ``"numpy_array"``.

        Example: ``model.get_state_tree("numpy_array")["trainable_variables"]["dense"]["kernel"]``
        """
        if value_format not in ("backend_tensor", "numpy_array"):
            raise ValueError(f"Model {self.name!r}.get_state_tree: expected value_format 'backend_tensor' or "
                             f"'numpy_array', received {value_format!r}.")
        read = ops.to_numpy if value_format == "numpy_array" else (lambda value: value)
        tree: dict[str, Any] = {}
        for group, variables in self._state_groups().items():
            branch = tree[group] = {}
            for variable in variables:
                *parents, leaf = variable.path.split("/")
                node = branch
                for part in parents:
                    node = node.setdefault(part, {})
                node[leaf] = read(variable.value)
        return tree

    def set_state_tree(self, state_tree: dict[str, Any]) -> None:
        """Assign the values of a (partial) tree shaped as :meth:`get_state_tree`'s.
        A group or path that names no variable is refused, naming it.

        Example: ``model.set_state_tree({"trainable_variables": tree["trainable_variables"]})``
        """
        groups = self._state_groups()
        writes = []  # every entry checked before any is written: a bad tree changes nothing
        for group, branch in state_tree.items():
            if group not in groups:
                raise ValueError(f"Model {self.name!r}.set_state_tree: expected groups among {sorted(groups)}, "
                                 f"received {group!r}.")
            by_path = {v.path: v for v in groups[group]}
            for keys, value in tree_module.flatten_with_path(branch):
                path = "/".join(map(str, keys))
                variable = by_path.get(path)
                if variable is None:
                    raise ValueError(f"Model {self.name!r}.set_state_tree: {group} has no variable {path!r}.")
                if tuple(np.shape(value)) != tuple(variable.shape):
                    raise ValueError(f"Model {self.name!r}.set_state_tree: {group} {path!r} expected shape "
                                     f"{tuple(variable.shape)}, received {tuple(np.shape(value))}.")
                writes.append((variable, value))
        for variable, value in writes:
            variable.assign(value)

    def _state_groups(self) -> dict[str, list[Any]]:
        groups = {"trainable_variables": self.trainable_variables,
                  "non_trainable_variables": self.non_trainable_variables}
        if self.compiled:
            groups["optimizer_variables"] = self.optimizer.variables
        groups["metrics_variables"] = self.metrics_variables
        return groups

    def train_step(self, data: Any) -> dict[str, Any]:
        """One optimisation step on a batch; returns the logs (tensors).

        Written with ``ops`` and variable assigns only, so it runs on every
        engine, compiled or eager. Override it for a custom step.
        """
        x, y, sample_weight = data_module.unpack(data)
        trainable = self.trainable_variables

        def loss_fn(values: list[Any]) -> tuple[Any, tuple[Any, Any, list[tuple[Any, Any]], dict[str, Any]]]:
            with StatelessScope(zip(trainable, values)) as scope:
                y_pred = self(x, training=True)
                loss, parts = self._step_loss(x, y, y_pred, sample_weight, training=True)
            # Differentiated scaled (loss_scale_factor, LossScaleOptimizer); logged unscaled.
            return self.optimizer.scale_loss(loss), (loss, y_pred, scope.updates, parts)

        (_, (loss, y_pred, updates, parts)), grads = ops.value_and_grad(loss_fn, has_aux=True)(
            [v.value for v in trainable])
        for variable, value in updates:
            variable.assign(value)
        self._track_losses(loss, parts, x)
        logs = self.compute_metrics(x, y, y_pred, sample_weight)
        # Identity unless data-parallel; there, the state updated above can be
        # reduced across replicas with the gradients.
        grads = backends.active().all_reduce_gradients(grads)
        self.optimizer.apply(grads, trainable)
        return logs

    def test_step(self, data: Any) -> dict[str, Any]:
        """One evaluation step; returns the logs (tensors)."""
        x, y, sample_weight = data_module.unpack(data)
        y_pred = self(x, training=False)
        loss, parts = self._step_loss(x, y, y_pred, sample_weight, training=False)
        self._track_losses(loss, parts, x)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's output for one batch."""
        x, _, _ = data_module.unpack(data)
        return self(x, training=False)

    # ------------------------------------------------------------ plumbing
    def _prepare(self, batch: Any, training: bool) -> None:
        """Build everything that owns variables before the first compiled
        step: the model, the optimizer slots, the metrics."""
        x, y, _ = data_module.unpack(batch)
        if not self.built or not getattr(self, "_prepared_outputs", False):
            y_pred = self(x, training=False)
            self._prepared_outputs = True
            if y is not None:
                if self._compile_loss is not None and self._compile_loss.losses is None:
                    self._compile_loss.build(y, y_pred)
                if self._compile_metrics.metrics is None:
                    self._compile_metrics.build(y, y_pred)
                    _check_labels(self, y, y_pred)
        if self._compile_metrics.metrics is None:
            self._compile_metrics.metrics = [([], []) for _ in self._compile_metrics.output_names]
        if self._part_trackers is None:
            names = self._compile_loss.output_names if self._compile_loss is not None else []
            self._part_trackers = {f"{n}_loss": metrics_module.Mean(name=f"{n}_loss")
                                   for n in names} if len(names) > 1 else {}
        if training and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def _reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def reset_metrics(self) -> None:
        """Reset the loss tracker and every compiled metric."""
        if self.compiled:
            self._reset_metrics()

    def _function(self, kind: str) -> Any:
        fn = self._functions.get(kind)
        if fn is None:
            step = {"train": self.train_step, "test": self.test_step, "predict": self.predict_step}[kind]
            if self.steps_per_execution > 1:
                step = _in_sequence(step, gather=kind == "predict")
            state = [*self.trainable_variables, *self.non_trainable_variables]
            if kind != "predict":
                state += self.metrics_variables
            if kind == "train":
                state += self.optimizer.variables
            fn = compile_step(step, state, eager=self.run_eagerly, jit_compile=self.jit_compile,
                              refresh_logs=None if kind == "predict" else self._replica_logs,
                              gather_outputs=kind == "predict")
            fn = _staging_on_host(self._input_graph(), fn, self.steps_per_execution > 1, kind == "train")
            if getattr(type(self), f"{kind}_step") is getattr(Trainer, f"{kind}_step"):
                # The built-in steps call the model on the batch's x; a custom step may not.
                fn = _checking_inputs(self, fn, grouped=self.steps_per_execution > 1)
            self._functions[kind] = fn
        return fn

    def _check_batch_inputs(self, batch: Any) -> None:
        """Check a batch's inputs against the model's declared input shapes,
        every known size, on the concrete tensors before the compiled step
        runs: inside a retraced step (TensorFlow relaxes the shapes it saw to
        unknown sizes, even unknown ranks) a wrong input would pass the
        model's own check and fail later with an error that never names it.
        Each distinct set of shapes is checked once."""
        graph = self._input_graph()
        if graph is None or not getattr(graph, "inputs", None):
            return
        x = data_module.unpack(batch)[0]
        leaves = flatten(x) if isinstance(x, (list, tuple, dict)) else [x]
        key = tuple(None if leaf is None else np.shape(leaf) if isinstance(leaf, np.ndarray) else
                    tuple(ops.shape(leaf)) for leaf in leaves)
        checked = self.__dict__.setdefault("_checked_input_shapes", set())
        if key in checked:
            return
        for spec, value in zip(graph.inputs, graph._flat_inputs(x)):
            graph._check_input(spec, value)
        checked.add(key)

    def _input_graph(self) -> Any:
        """The graph whose inputs a batch feeds (a functional model itself, a
        Sequential's graph), or None (subclassed models)."""
        graph = self if hasattr(self, "_check_input") else getattr(self, "_graph", None)
        return graph if hasattr(graph, "_check_input") else None

    def _track_losses(self, loss: Any, parts: dict[str, Any], x: Any) -> None:
        # As Keras 3, each batch's mean loss weighs by its rows, so an epoch's
        # loss is the mean over samples (a short last batch counts less). A
        # data-parallel replica sees its own rows: its share of the global batch.
        leaves = [leaf for leaf in flatten(x) if leaf is not None]
        weight = ops.shape(leaves[0])[0] if leaves and len(ops.shape(leaves[0])) else None
        self._loss_tracker.update_state(loss, sample_weight=weight)
        trackers = self._part_trackers or {}
        for name, value in parts.items():
            trackers[name].update_state(value, sample_weight=weight)

    def _replica_logs(self, logs: Any) -> Any:
        """``logs`` with every metric re-read (after data-parallel replicas
        reduced their metric state)."""
        if not isinstance(logs, dict):
            return logs
        fresh = self.get_metrics_result()
        return {key: fresh.get(key, value) for key, value in logs.items()}

    def _adapt(self, x: Any, y: Any, sample_weight: Any, batch_size: int | None, shuffle: bool,
               steps: int | None, class_weight: dict[int, float] | None = None) -> Any:
        if class_weight is not None:
            if y is None or isinstance(y, (dict, list, tuple)) and len(flatten(y)) > 1:
                raise ValueError("fit: class_weight needs a single array y.")
            weights = data_module.class_weights_to_sample_weights(y, class_weight)
            sample_weight = weights if sample_weight is None else np.asarray(sample_weight) * weights
        inputs = getattr(self, "inputs", None) or []
        names = [getattr(t, "name", None) for t in inputs]
        strings = any(getattr(t, "dtype", None) == STRING for t in inputs)
        data = data_module.adapt(x, y, sample_weight, batch_size, shuffle, steps, names or None, strings)
        if isinstance(data, data_module.ArrayData) and data.y is not None:
            _check_label_values(self, data.y)  # whole arrays, once: cheap next to an epoch
        return data

    # ----------------------------------------------------------------- fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1, verbose: Any = "auto",
            callbacks: list[Any] | None = None, validation_split: float = 0.0, validation_data: Any = None,
            shuffle: bool = True, class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None, validation_steps: int | None = None,
            validation_batch_size: int | None = None, validation_freq: int = 1) -> Any:
        """Train for ``epochs`` epochs; returns the :class:`~polykeras.callbacks.History`.

        Example: ``model.fit(x, y, batch_size=32, epochs=10, validation_split=0.2)``
        """
        from polykeras.callbacks import CallbackList

        self._require_compiled("fit")
        data = self._adapt(x, y, sample_weight, batch_size, shuffle, steps_per_epoch, class_weight)
        data_module.reset(data)
        if validation_split and validation_data is None:
            if not isinstance(data, data_module.ArrayData):
                raise ValueError("fit: validation_split needs arrays; give validation_data for datasets.")
            data, validation = data.split(validation_split)
            validation.shuffle = False
        elif validation_data is not None:
            vx, vy, vsw = data_module.unpack(tuple(validation_data) if isinstance(validation_data, list)
                                             else validation_data)
            validation = self._adapt(vx, vy, vsw, validation_batch_size or batch_size, False, validation_steps)
        else:
            validation = None
        verbose = 1 if verbose == "auto" else verbose
        steps = getattr(data, "steps", None)
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        callback_list.on_train_begin()
        initial_epoch = max(initial_epoch, getattr(self, "_resume_epoch", 0) or 0)
        self._resume_epoch = 0
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            raw: Any = {}  # the logs stay on the device until a callback or the epoch's end reads them
            for first, last, batch in _grouped(data.epoch(), self.steps_per_execution):
                if first == 0 and not getattr(self, "_train_ready", False):
                    self._prepare(batch[0] if self.steps_per_execution > 1 else batch, training=True)
                    self._train_ready = True
                callback_list.on_train_batch_begin(first)
                raw = self._function("train")(batch)
                callback_list.on_train_batch_end(last, raw)
                if self.stop_training:
                    break
            logs = _logs_to_floats(raw)
            if validation is not None and (epoch + 1) % validation_freq == 0 and not self.stop_training:
                # As Keras 3: validation drives the fit's callbacks' test hooks.
                callback_list.on_test_begin()
                val_logs = self._evaluate_data(validation, callback_list)
                callback_list.on_test_end(val_logs)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        if epochs > 0 and getattr(self.optimizer, "built", False):
            # Keras 3's end-of-training hook: with use_ema, the weights become their averages.
            self.optimizer.finalize_variable_values(self.trainable_variables)
        callback_list.on_train_end(logs)
        return self.history

    # ----------------------------------------------------------- evaluate
    def _evaluate_data(self, data: Any, callback_list: Any) -> dict[str, float]:
        self.reset_metrics()
        raw: Any = {}
        for first, last, batch in _grouped(data.epoch(), self.steps_per_execution):
            if first == 0:
                self._prepare(batch[0] if self.steps_per_execution > 1 else batch, training=False)
            if callback_list is not None:
                callback_list.on_test_batch_begin(first)
            raw = self._function("test")(batch)
            if callback_list is not None:
                callback_list.on_test_batch_end(last, raw)
        return _logs_to_floats(raw)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: list[Any] | None = None,
                 return_dict: bool = False, **kwargs: Any) -> Any:
        """Loss and metrics on data: a list (``loss`` first) or a dict.

        Example: ``loss, accuracy = model.evaluate(x_test, y_test)``
        """
        from polykeras.callbacks import CallbackList

        if kwargs:
            raise ValueError(f"evaluate: arguments not recognized: {kwargs}")
        self._require_compiled("evaluate")
        data = self._adapt(x, y, sample_weight, batch_size, False, steps)
        data_module.reset(data)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=getattr(data, "steps", None))
        callback_list.on_test_begin()
        logs = self._evaluate_data(data, callback_list)
        callback_list.on_test_end(logs)
        return logs if return_dict else (list(logs.values()) if len(logs) > 1 else logs["loss"])

    # ------------------------------------------------------------ predict
    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: list[Any] | None = None) -> Any:
        """The model's outputs for ``x``, batched, as NumPy arrays.

        Example: ``probabilities = model.predict(x_test, batch_size=256)``
        """
        from polykeras.callbacks import CallbackList

        data = self._adapt(x, None, None, batch_size, False, steps)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=getattr(data, "steps", None))
        callback_list.on_predict_begin()
        outputs: list[Any] = []
        grouped = self.steps_per_execution > 1
        for first, last, batch in _grouped(data.epoch(), self.steps_per_execution):
            callback_list.on_predict_batch_begin(first)
            if not self.built:
                self(data_module.unpack(batch[0] if grouped else batch)[0], training=False)
            predicted = self._predict_function()(batch)
            outputs.extend(map_structure(ops.to_numpy, one) for one in (predicted if grouped else (predicted,)))
            callback_list.on_predict_batch_end(last, {"outputs": outputs[-1]})
        callback_list.on_predict_end()
        return _concat(outputs)

    def _predict_function(self) -> Any:
        if not hasattr(self, "_functions"):
            self._functions = {}
            self.run_eagerly, self.jit_compile = False, "auto"
        return self._function("predict")

    # ------------------------------------------------ the compiled steps
    def make_train_function(self, force: bool = False) -> Any:
        """The compiled step ``fit`` runs, made now unless :attr:`train_function`
        holds one (``force`` makes it anew), as Keras 3's ``make_train_function``.
        One call takes one batch as ``fit`` feeds it, ``(x, y, sample_weight)``
        (``steps_per_execution`` batches stacked on a new first axis when above
        1), updates the model and returns the logs.

        Example: ``logs = model.make_train_function()((x, y, None))``
        """
        self._require_compiled("make_train_function")
        return self._make_function("train", force)

    def make_test_function(self, force: bool = False) -> Any:
        """The compiled step ``evaluate`` runs (see :meth:`make_train_function`).

        Example: ``logs = model.make_test_function()((x, y, None))``
        """
        self._require_compiled("make_test_function")
        return self._make_function("test", force)

    def make_predict_function(self, force: bool = False) -> Any:
        """The compiled step ``predict`` runs; one call takes ``(x,)`` and
        returns the outputs (see :meth:`make_train_function`).

        Example: ``y = model.make_predict_function()((x,))``
        """
        if force and hasattr(self, "_functions"):
            self._functions.pop("predict", None)
        return self._predict_function()

    def _make_function(self, kind: str, force: bool) -> Any:
        if force:
            self._functions.pop(kind, None)
        fn = self._function(kind)
        if getattr(fn, "prepares", False):
            return fn
        compiled = fn
        ready: list[bool] = []

        def step(batch: Any) -> Any:
            # what fit and evaluate do before their first step: the loss and
            # metric trackers and the optimizer slots, made from the batch
            if not ready:
                self._prepare(batch[0] if self.steps_per_execution > 1 else batch, training=kind == "train")
                ready.append(True)
            return compiled(batch)

        step.prepares = True  # type: ignore[attr-defined]
        self._functions[kind] = step
        return step

    def _step_function(kind: str) -> property:  # type: ignore[misc]  # noqa: N805 - builds class attributes
        def get(self: Trainer) -> Any:
            return getattr(self, "_functions", {}).get(kind)

        def set_(self: Trainer, fn: Any) -> None:
            if not hasattr(self, "_functions"):
                self._functions = {}
            if fn is None:
                self._functions.pop(kind, None)
            else:
                self._functions[kind] = fn

        return property(get, set_, doc=f"The compiled {kind} step once made (None before); set it to None "
                                       f"to have the next call make it anew, as Keras 3's ``{kind}_function``.")

    train_function = _step_function("train")
    test_function = _step_function("test")
    predict_function = _step_function("predict")
    del _step_function

    # ---------------------------------------------------------- on batches
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One step on one batch. Example: ``loss = model.train_on_batch(x, y)``"""
        self._require_compiled("train_on_batch")
        batch = next(self._adapt(x, y, sample_weight, _batch_len(x), False, None, class_weight).epoch())
        self._prepare(batch, training=True)
        self.reset_metrics()
        logs = _logs_to_floats(self._function("train")(batch))
        return logs if return_dict else (list(logs.values()) if len(logs) > 1 else logs["loss"])

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss and metrics on one batch. Example: ``model.test_on_batch(x, y)``"""
        self._require_compiled("test_on_batch")
        batch = next(self._adapt(x, y, sample_weight, _batch_len(x), False, None).epoch())
        self._prepare(batch, training=False)
        self.reset_metrics()
        logs = _logs_to_floats(self._function("test")(batch))
        return logs if return_dict else (list(logs.values()) if len(logs) > 1 else logs["loss"])

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch, as NumPy. Example: ``model.predict_on_batch(x)``"""
        batch = next(self._adapt(x, None, None, _batch_len(x), False, None).epoch())
        if not self.built:
            self(data_module.unpack(batch)[0], training=False)
        return map_structure(ops.to_numpy, self._predict_function()(batch))

    def get_compile_config(self) -> dict[str, Any] | None:
        """What ``compile`` was given, as JSON-safe data (for saving). A loss or
        metric that is a plain function must be registered
        (``@register_serializable``); the error names it.

        Example: ``model.get_compile_config()["loss"]`` -> ``'mse'``
        """
        args = getattr(self, "_compile_args", None)
        if not self.compiled or args is None:
            return None
        return {"optimizer": optimizers_module.serialize(self.optimizer),
                "loss": _serialize_structure(args["loss"], losses_module.serialize),
                "loss_weights": args["loss_weights"],
                "metrics": _serialize_structure(args["metrics"], metrics_module.serialize),
                "weighted_metrics": _serialize_structure(args["weighted_metrics"], metrics_module.serialize),
                "run_eagerly": args["run_eagerly"], "steps_per_execution": args["steps_per_execution"],
                "jit_compile": args["jit_compile"]}


def _serialize_structure(value: Any, serialize: Any) -> Any:
    """Losses or metrics (one, a list, a dict) as JSON-safe data; names stay names."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _serialize_structure(v, serialize) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_structure(v, serialize) for v in value]
    return serialize(value)


def _deserialize_structure(value: Any, get: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_structure(v, get) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_structure(v, get) for v in value]
    return get(value)


def _batch_len(x: Any) -> int:
    return max(1, data_module.num_samples(x, "x"))


def _checking_inputs(model: Any, fn: Any, grouped: bool = False) -> Any:
    """``fn`` (a compiled step, of a batch or with ``grouped`` of a tuple of
    batches) preceded by ``model._check_batch_inputs`` of each batch."""

    def run(batch: Any) -> Any:
        for one in batch if grouped else (batch,):
            model._check_batch_inputs(one)
        return fn(batch)

    return run


def _staging_on_host(graph: Any, fn: Any, grouped: bool, training: bool) -> Any:
    """``fn`` given batches whose ``x`` went through the graph's host stage
    first (its string layers, :mod:`polykeras.models.host_stage`); ``fn``
    itself when the graph has none."""
    plan = None if graph is None else graph._host_plan()
    if plan is None:
        return fn
    if training:
        trained = [node.layer.name for node in plan.host if getattr(node.layer, "trainable_weights", None)]
        if trained:
            raise ValueError(f"Model {graph.name!r}: layers {trained} run on the host, before the compiled step "
                             "(they are fed strings or feed a string layer), so their trainable weights would "
                             "receive no gradient; expected only weightless preprocessing there (freeze them "
                             "with trainable=False, or move them after the string lookups).")

    def stage(batch: Any) -> Any:
        if isinstance(batch, tuple):
            return (graph._stage_on_host(batch[0], training), *batch[1:])
        return graph._stage_on_host(batch, training)

    def run(batch: Any) -> Any:
        return fn(tuple(stage(one) for one in batch) if grouped else stage(batch))

    return run


def _in_sequence(step: Any, gather: bool) -> Any:
    """A step over a tuple of batches that runs ``step`` on each in turn
    (``steps_per_execution``): compiled, the loop is unrolled into one
    program. Returns the last logs, or with ``gather`` every batch's output."""

    def steps(batches: tuple[Any, ...]) -> Any:
        results = [step(batch) for batch in batches]
        return tuple(results) if gather else results[-1]

    return steps


def _grouped(batches: Any, size: int) -> Any:
    """``(first step, last step, batches)``: one batch at a time for
    ``size`` 1, else tuples of up to ``size`` batches (the last may be
    shorter), as ``steps_per_execution`` runs them."""
    if size == 1:
        for step, batch in enumerate(batches):
            yield step, step, batch
        return
    group: list[Any] = []
    first = 0
    for step, batch in enumerate(batches):
        group.append(batch)
        if len(group) == size:
            yield first, step, tuple(group)
            first, group = step + 1, []
    if group:
        yield first, first + len(group) - 1, tuple(group)


def _concat(batches: list[Any]) -> Any:
    if not batches:
        raise ValueError("predict: the data gave no batches.")
    first = batches[0]
    if isinstance(first, dict):
        return {k: np.concatenate([b[k] for b in batches]) for k in first}
    if isinstance(first, (list, tuple)):
        return [np.concatenate([b[i] for b in batches]) for i in range(len(first))]
    return np.concatenate(batches)


def _check_labels(model: Any, y: Any, y_pred: Any) -> None:
    """Sparse labels must lie in [0, classes): stop a bad fit before its first
    step. What each output accepts is remembered, so later arrays given to
    ``fit``/``evaluate`` (known before they run) are checked too."""
    model._sparse_label_ranges = None
    if model._compile_loss is None or not model._compile_loss.losses:
        return
    per_output = []
    for loss, p in zip(model._compile_loss.losses, flatten(y_pred)):
        sparse = getattr(getattr(loss, "fn", None), "__name__", "") == "sparse_categorical_crossentropy"
        ignore = (getattr(loss, "fn_kwargs", None) or {}).get("ignore_class")
        per_output.append(((None, *tuple(ops.shape(p))[1:]), ignore) if sparse else None)
    model._sparse_label_ranges = ({k: None for k in y_pred} if isinstance(y_pred, dict) else None, per_output)
    _check_label_values(model, y)


def _check_label_values(model: Any, y: Any) -> None:
    """``y`` (arrays) against the label ranges :func:`_check_labels` found."""
    found = getattr(model, "_sparse_label_ranges", None)
    if not found or model._compile_loss is None:
        return
    keys, per_output = found
    targets = align(y, keys if keys is not None else [], model._compile_loss.output_names)
    for spec, t in zip(per_output, targets):
        if spec is None or t is None:
            continue
        shape, ignore = spec
        classes = shape[-1]
        labels = np.asarray(t if isinstance(t, np.ndarray) else ops.to_numpy(t))
        bad = labels[(labels < 0) | (labels >= classes)]
        if ignore is not None:
            bad = bad[bad != ignore]
        if bad.size:
            raise ValueError(f"Model {model.name!r}: expected sparse labels in [0, {classes}) for output of shape "
                             f"{shape}, received label {bad.flat[0]}.")


__all__ = ["Trainer"]
