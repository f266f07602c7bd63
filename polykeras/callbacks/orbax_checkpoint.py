"""``OrbaxCheckpoint`` (Keras 3.15): the model's state saved with Orbax.

The state goes to Orbax as a tree of NumPy arrays nested by variable path
(``trainable_variables``, ``non_trainable_variables``,
``optimizer_variables``, ``metrics_variables``, as Keras 3's state tree), so
one code path serves every engine: Orbax's NumPy handlers write it, and no
engine tensor crosses. Orbax (``orbax-checkpoint``, the optional extra
``polykeras[orbax]``) imports JAX, so JAX must be installed even when the
model trains on another engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polykeras import ops
from polykeras.callbacks._utils import is_chief, print_msg
from polykeras.callbacks.callback import Logs
from polykeras.callbacks.monitor_callback import MonitorCallback


def _import_orbax() -> Any:
    try:
        import orbax.checkpoint as ocp
    except ImportError as exc:
        raise ImportError("OrbaxCheckpoint needs the `orbax-checkpoint` package (and JAX, which it imports): "
                          "pip install orbax-checkpoint, or the extra polykeras[orbax].") from exc
    return ocp


def _nested(variables: Any) -> dict[str, Any]:
    """``{component: {...: array}}`` from the variables' paths."""
    tree: dict[str, Any] = {}
    for variable in variables:
        *parents, leaf = variable.path.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = np.array(ops.convert_to_numpy(variable.value))
    return tree


def state_tree(model: Any) -> dict[str, Any]:
    """The model's state as Keras 3's state tree of NumPy arrays.

    Example: ``state_tree(model)["trainable_variables"]["dense"]["kernel"].shape``
    """
    tree = {"trainable_variables": _nested(model.trainable_variables),
            "non_trainable_variables": _nested(model.non_trainable_variables)}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        tree["optimizer_variables"] = _nested(optimizer.variables)
    metrics = [v for m in getattr(model, "metrics", []) for v in getattr(m, "variables", [])]
    if metrics:
        tree["metrics_variables"] = _nested(metrics)
    return tree


class OrbaxCheckpoint(MonitorCallback):
    """Save the model's state (weights, optimizer and metric variables, and
    the model config) with Orbax every epoch or every ``save_freq`` batches,
    in the background by default; Orbax keeps the ``max_to_keep`` latest.

    Args:
        directory: the checkpoint directory (one sub-directory per step:
            the epoch, or the number of batches seen).
        monitor, mode, initial_value_threshold: with ``save_best_only``, the
            log value that must improve (as ``ModelCheckpoint``).
        verbose: print a line per save.
        save_best_only: save only when ``monitor`` improves.
        save_freq: ``"epoch"`` or an int number of batches.
        max_to_keep: how many checkpoints Orbax keeps (None: all).
        save_on_background: save asynchronously (call :meth:`wait_until_finished`
            before reading; ``fit`` waits at its end).
        save_weights_only: save only the model's variables, not the optimizer
            and metric variables nor the config.

    Example:
        >>> model.fit(x, y, epochs=3, callbacks=[OrbaxCheckpoint("/tmp/ckpt", max_to_keep=2)])
    """

    def __init__(self, directory: str, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 mode: str = "auto", save_freq: Any = "epoch", initial_value_threshold: float | None = None,
                 max_to_keep: int | None = 1, save_on_background: bool = True,
                 save_weights_only: bool = False) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and not isinstance(save_freq, bool)
                                         and save_freq > 0):
            raise ValueError(f"OrbaxCheckpoint: expected save_freq to be 'epoch' or a positive int, received "
                             f"save_freq={save_freq!r}.")
        ocp = _import_orbax()
        self.directory = str(directory)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_freq = save_freq
        self.max_to_keep = max_to_keep
        self.save_on_background = save_on_background
        self.save_weights_only = save_weights_only
        self._ocp = ocp
        self._batches_since_save = 0
        self._total_batches_seen = 0
        self.checkpointer = ocp.CheckpointManager(
            self.directory, options=ocp.CheckpointManagerOptions(
                max_to_keep=max_to_keep, enable_async_checkpointing=save_on_background))

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", False):
            self._total_batches_seen = int(np.asarray(ops.convert_to_numpy(optimizer.iterations)))

    def _save(self, step: int, logs: Logs | None) -> None:
        if self.save_best_only:
            current = self._monitor_value(logs, "saving the best model only")
            if current is None or not self._is_improvement(float(current), self.best):
                return
            self.best = float(current)
        if not is_chief():
            return
        ocp = self._ocp
        tree = state_tree(self.model)
        if self.save_weights_only:
            tree = {k: tree[k] for k in ("trainable_variables", "non_trainable_variables")}
        items: dict[str, Any] = {"state": ocp.args.StandardSave(tree)}
        if not self.save_weights_only:
            items["model_config"] = ocp.args.JsonSave({"config": self.model.to_json()})
        self.checkpointer.save(step, args=ocp.args.Composite(**items), force=True)
        if self.verbose:
            print_msg(f"OrbaxCheckpoint: saved step {step} to {self.directory}")

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._total_batches_seen += 1
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._total_batches_seen, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def on_train_end(self, logs: Logs | None = None) -> None:
        self.wait_until_finished()

    def wait_until_finished(self) -> None:
        """Block until the background saves have been written.

        Example: ``checkpoint.wait_until_finished()``
        """
        self.checkpointer.wait_until_finished()

    def restore(self, step: int | None = None) -> dict[str, Any]:
        """The saved state tree (and ``model_config``) of ``step`` (default:
        the latest), as NumPy arrays.

        Example: ``checkpoint.restore()["state"]["trainable_variables"]``
        """
        ocp = self._ocp
        self.wait_until_finished()
        step = self.checkpointer.latest_step() if step is None else step
        if step is None:
            raise ValueError(f"OrbaxCheckpoint.restore: expected a saved checkpoint in {self.directory!r}, "
                             "received an empty directory.")
        items = {"state": ocp.args.StandardRestore()}
        if "model_config" in self.checkpointer.item_metadata(step):
            items["model_config"] = ocp.args.JsonRestore()
        restored = self.checkpointer.restore(step, args=ocp.args.Composite(**items))
        return {key: restored[key] for key in items}
