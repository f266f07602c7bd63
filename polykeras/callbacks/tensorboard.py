"""``TensorBoard`` (Keras 3.15): event files TensorBoard reads, written on any
engine without TensorFlow.

The event files are written by ``tensorboardX``'s ``FileWriter`` (the optional
extra ``polykeras[tensorboard]``): a maintained writer of TensorBoard's record
format with the protobufs bundled, which needs neither TensorFlow nor the
``tensorboard`` server package. Tags, directories and steps follow Keras:
``log_dir/train`` and ``log_dir/validation``; ``epoch_<metric>`` per epoch
(the learning rate as ``epoch_learning_rate``), ``batch_<metric>`` every
``update_freq`` batches, ``evaluation_<metric>_vs_iterations`` after each
evaluation, ``<weight path>/histogram`` (and ``/image``) every
``histogram_freq`` epochs, and the model's config under ``keras`` (what
TensorBoard's graph dashboard draws as the conceptual graph).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from typing import Any

import numpy as np

from polykeras import backends, ops
from polykeras.callbacks._utils import is_chief, to_float
from polykeras.callbacks.callback import Callback, Logs


def import_tensorboardx() -> Any:
    """The ``tensorboardX`` module, imported without letting it import torch
    (it does so only to accept torch tensors, which polykeras never hands it):
    a TensorBoard callback on JAX must not load a second framework.

    Example: ``SummaryWriter = import_tensorboardx().SummaryWriter``
    """
    if "tensorboardX" in sys.modules:
        return sys.modules["tensorboardX"]
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import tensorboardX
    except ImportError as exc:
        raise ImportError("TensorBoard: writing event files needs the `tensorboardX` package (the extra "
                          "polykeras[tensorboard]): pip install tensorboardX.") from exc
    finally:
        if blocked and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return tensorboardX


class TensorBoard(Callback):
    """Write TensorBoard logs: scalars per epoch (and every ``update_freq``
    batches), weight histograms and images, the model's graph, embeddings
    checkpoints and, where the engine has a profiler, a profile.

    Args:
        log_dir: directory of the ``train`` and ``validation`` event files.
        histogram_freq: write weight histograms every that many epochs (0: never).
        write_graph: write the model's config (TensorBoard's conceptual graph)
            for functional and Sequential models.
        write_images: with ``histogram_freq``, also write 1-D, 2-D and 3-D
            weights as images.
        write_steps_per_second: also log the training speed.
        update_freq: ``"epoch"``, ``"batch"`` (= 1) or an int n: write
            ``batch_<metric>`` every n batches.
        profile_batch: an int or ``(start, stop)`` of batches to profile;
            engines without a profiler raise NotImplementedError.
        embeddings_freq: every that many epochs, save the weights for the
            projector (``train/keras_embedding.ckpt-<epoch>.weights.h5``).
        embeddings_metadata: a metadata file path, or a dict of Embedding
            layer name -> path.

    Example:
        >>> model.fit(x, y, epochs=5, callbacks=[TensorBoard("logs", histogram_freq=1, update_freq=10)])
    """

    def __init__(self, log_dir: str = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: Any = "epoch",
                 profile_batch: Any = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None) -> None:
        super().__init__()
        if update_freq != "epoch" and update_freq != "batch" and not (
                isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0):
            raise ValueError(f"TensorBoard: expected update_freq to be 'epoch', 'batch' or a positive int, "
                             f"received update_freq={update_freq!r}.")
        self.log_dir = str(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        if self._start_batch:
            backends.active().check_profiler("TensorBoard(profile_batch=...)")
        self._profiling = False
        self._global_train_batch = 0
        self._writers: dict[str, Any] = {}
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0.0
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")

    # ----------------------------------------------------------------- writers
    def _writer(self, which: str) -> Any:
        if which not in self._writers:
            directory = self._train_dir if which == "train" else self._val_dir
            os.makedirs(directory, exist_ok=True)
            self._writers[which] = import_tensorboardx().FileWriter(directory)
        return self._writers[which]

    def _scalar(self, which: str, tag: str, value: Any, step: int) -> None:
        from tensorboardX.summary import scalar

        self._writer(which).add_summary(scalar(tag, to_float(value)), int(step))

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ------------------------------------------------------------------- hooks
    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._close_writers()
        if self.write_graph and is_chief():
            self._write_model_config()
        if self.embeddings_freq and is_chief():
            self._write_projector_config()

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._global_train_batch = 0

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self._profiling:
            self._stop_profile()
        self._close_writers()

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()
        if self._start_batch and self._global_train_batch == self._start_batch and not self._profiling:
            backends.active().start_profiler(self._train_dir)
            self._profiling = True

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        step = self._global_train_batch
        if self._profiling and step >= self._stop_batch:
            self._stop_profile()
        if self.update_freq == "epoch" or step % self.update_freq or not is_chief():
            return
        if self.write_steps_per_second:
            self._scalar("train", "batch_steps_per_second", 1.0 / max(time.time() - self._batch_start_time, 1e-9),
                         step)
        for name, value in (logs or {}).items():
            self._scalar("train", f"batch_{name}", value, step)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if self.write_steps_per_second:
            self._epoch_start_time = time.time()
            self._epoch_start_iterations = to_float(self.model.optimizer.iterations)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if not is_chief():
            return
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        train.update(self._learning_rates())
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._epoch_start_time, 1e-9)
            train["steps_per_second"] = (to_float(self.model.optimizer.iterations)
                                         - self._epoch_start_iterations) / elapsed
        for name, value in train.items():
            self._scalar("train", f"epoch_{name}", value, epoch)
        for name, value in logs.items():
            if name.startswith("val_"):
                self._scalar("validation", f"epoch_{name[4:]}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self.model.save_weights(os.path.join(self._train_dir, f"keras_embedding.ckpt-{epoch}.weights.h5"))
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs: Logs | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not is_chief():
            return
        step = int(to_float(optimizer.iterations))
        for name, value in (logs or {}).items():
            self._scalar("validation", f"evaluation_{name}_vs_iterations", value, step)

    # ------------------------------------------------------------------ pieces
    def _learning_rates(self) -> dict[str, float]:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return {}
        if hasattr(optimizer, "optimizers"):
            return {f"learning_rate_{o.name}": to_float(o.learning_rate) for o in optimizer.optimizers}
        return {"learning_rate": to_float(optimizer.learning_rate)}

    def _log_weights(self, epoch: int) -> None:
        from tensorboardX.summary import histogram, image

        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                values = np.asarray(ops.convert_to_numpy(weight.value), dtype="float64")
                writer.add_summary(histogram(f"{name}/histogram", values, 30), epoch)  # 30 buckets, as tf.summary
                picture = _weight_image(values) if self.write_images else None
                if picture is not None:
                    for i, frame in enumerate(picture):
                        tag = f"{name}/image" if len(picture) == 1 else f"{name}/image/{i}"
                        writer.add_summary(image(tag, frame, dataformats="HWC"), epoch)
        writer.flush()

    def _write_model_config(self) -> None:
        if type(self.model).__name__ not in ("Functional", "Sequential"):
            return
        try:
            config = self.model.to_json()
        except Exception as exc:  # noqa: BLE001 - as Keras: a model that cannot serialize is skipped
            warnings.warn(f"TensorBoard: the model's config could not be written as JSON ({exc}).", stacklevel=2)
            return
        tbx = import_tensorboardx()
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

        del tbx
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model",
                                                                          content=b"1"))
        tensor = TensorProto(dtype="DT_STRING", string_val=[config.encode()], tensor_shape=TensorShapeProto())
        summary = Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        self._writer("train").add_summary(summary, 0)

    def _write_projector_config(self) -> None:
        metadata = self.embeddings_metadata
        per_layer = dict(metadata) if isinstance(metadata, dict) else {}
        lines = []
        for layer in self.model.layers:
            if type(layer).__name__ != "Embedding":
                continue
            lines += ["embeddings {", '  tensor_name: "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"']
            path = metadata if isinstance(metadata, str) else per_layer.pop(layer.name, None)
            if path is not None:
                lines.append(f"  metadata_path: {json.dumps(str(path))}")
            lines.append("}")
        if per_layer:
            raise ValueError(f"TensorBoard: expected embeddings_metadata keys naming Embedding layers of the model, "
                             f"received unknown names {sorted(per_layer)}.")
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w") as f:
            f.write("\n".join(lines) + ("\n" if lines else ""))

    def _stop_profile(self) -> None:
        backends.active().stop_profiler()
        self._profiling = False


def _profile_range(profile_batch: Any) -> tuple[int, int]:
    """``profile_batch`` as ``(start, stop)`` (``(0, 0)``: off), Keras's rules."""
    error = ("TensorBoard: expected profile_batch to be a non-negative int or a pair (start, stop) with "
             f"0 < start <= stop (or a string 'start,stop'), received profile_batch={profile_batch!r}.")
    value = profile_batch
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, (list, tuple)):
        try:
            start, stop = (int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(error) from None
    elif isinstance(value, int) and not isinstance(value, bool):
        start = stop = value
    else:
        raise ValueError(error)
    if start < 0 or stop < start:
        raise ValueError(error)
    return start, stop


def _weight_image(values: np.ndarray) -> list[np.ndarray] | None:
    """A weight as one or more HWC grey images scaled to [0, 1], as Keras
    draws them (a bias as a row, a kernel wider than tall, one frame per
    output channel of a 1-D conv kernel); None for what it cannot draw."""
    w = np.squeeze(values)
    if w.ndim == 1:
        frames = [w.reshape(1, -1)]
    elif w.ndim == 2:
        frames = [w.T if w.shape[0] > w.shape[1] else w]
    elif w.ndim == 3:
        frames = [w[:, :, i] for i in range(w.shape[2])]
    else:
        return None
    out = []
    for frame in frames:
        low, high = float(frame.min()), float(frame.max())
        scaled = (frame - low) / (high - low) if high > low else np.zeros_like(frame)
        out.append(scaled[:, :, None].astype("float32"))
    return out
