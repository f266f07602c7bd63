"""Distributions: ``DataParallel`` (replicate the model, split every batch),
``FullyShardedDataParallel`` (the same, each replica storing a shard of the
weights) and ``ModelParallel`` (variables laid out over a device mesh by a
``LayoutMap``)."""

from __future__ import annotations

import contextvars
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from polykeras import backends
from polykeras.distribution.layout import DEFAULT_BATCH_DIM_NAME, DeviceMesh, LayoutMap, TensorLayout

_current: contextvars.ContextVar[Distribution | None] = contextvars.ContextVar("polykeras_distribution",
                                                                              default=None)
_global: list[Distribution | None] = [None]


class Distribution:
    """What every distribution has: a :class:`DeviceMesh`, the mesh axis that
    splits the batch, and the layouts of data, variables and tensors. Use it
    as a scope (``with distribution.scope():`` or ``with distribution:``), or
    make it the default with :func:`set_distribution`.

    Every process is given the *global* data (the same arrays, datasets or
    batches); the engine splits each batch over the replicas itself, so
    ``auto_shard_dataset=True`` (Keras 3's default) is how polykeras always
    works, and :meth:`distribute_dataset` returns the dataset unchanged.

    Example:
        >>> with DataParallel().scope():
        ...     model.fit(x, y, batch_size=64)     # 64 = the global batch
    """

    _global_token: Any = None

    def __init__(self, device_mesh: DeviceMesh, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True):
        self.engine = backends.active()
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_processes = self.engine.process_count()
        self._process_id = self.engine.process_index()
        self._tokens: list[tuple[Any, contextvars.Token]] = []

    # ---------------------------------------------------------- properties
    @property
    def device_mesh(self) -> DeviceMesh:
        """The devices the distribution runs on."""
        return self._device_mesh

    @property
    def devices(self) -> list[str]:
        """The mesh's device names, flat."""
        return [str(d) for d in np.ravel(self._device_mesh.devices)]

    @property
    def batch_dim_name(self) -> str | None:
        """The mesh axis that splits every batch."""
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self) -> bool:
        """Whether each process is given the global data (polykeras's way)."""
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value: bool) -> None:
        self._auto_shard_dataset = value

    @property
    def num_processes(self) -> int:
        """The processes of the run (1 when alone)."""
        return self._num_processes

    @property
    def num_model_replicas(self) -> int:
        """How many copies of the model compute on parts of a batch."""
        raise NotImplementedError(f"{type(self).__name__}.num_model_replicas")

    @property
    def data_shard_id(self) -> int:
        """Which part of the data this process's replicas compute on."""
        replicas = self.num_model_replicas
        if replicas >= self._num_processes:
            return self._process_id
        return self._process_id // (self._num_processes // replicas)

    # ------------------------------------------------------------- layouts
    def get_data_layout(self, data_shape: Sequence[int]) -> TensorLayout:
        """The layout of a batch of ``data_shape``: rows split over the batch axis."""
        return TensorLayout([self._batch_dim_name] + [None] * (len(data_shape) - 1), self._device_mesh)

    def get_variable_layout(self, variable: Any) -> TensorLayout:
        """The layout of ``variable``: its own ``_layout`` if set, else replicated."""
        layout = getattr(variable, "_layout", None)
        return layout if layout is not None else TensorLayout([None] * len(variable.shape), self._device_mesh)

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        """The layout of the intermediate tensor at ``path`` (None: as computed)."""
        return None

    def distribute_dataset(self, dataset: Any) -> Any:
        """``dataset`` for this process: unchanged, since every process is
        given the global data and the engine splits each batch."""
        return dataset

    # --------------------------------------------------------------- scope
    def _activate(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} cannot be entered")

    def _start(self) -> Any:
        """Check what the engine cannot do, then :meth:`_activate`; returns its token."""
        if not self._auto_shard_dataset and self.engine.process_count() > 1:
            raise NotImplementedError(
                f"{type(self).__name__}(auto_shard_dataset=False): polykeras gives every process the global "
                "data and splits each batch itself; data already sharded per process is not supported.")
        return self._activate()

    def _deactivate(self, token: Any) -> None:
        self.engine.exit_data_parallel(token)

    def __enter__(self) -> Distribution:
        token = self._start()
        self._tokens.append((token, _current.set(self)))
        return self

    def __exit__(self, *exc: Any) -> None:
        token, var_token = self._tokens.pop()
        _current.reset(var_token)
        self._deactivate(token)

    def scope(self) -> Distribution:
        """The distribution as a context manager: ``with distribution.scope(): ...``."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} device_mesh={self._device_mesh}, engine={self.engine.name!r}>"


class DataParallel(Distribution):
    """Data-parallel training on the active engine: every replica holds the
    whole model and computes on its part of each (global) batch.

    Give a 1-D ``device_mesh`` or a list of ``devices`` (not both); by default
    every device of :func:`~polykeras.distribution.list_devices`. A mesh of
    several axes warns and splits the batch over all its devices (Keras 3
    splits over its first axis; the numbers are the same). In a
    multi-process run (after :func:`~polykeras.distribution.initialize`)
    every process is a replica.

    Example:
        >>> with DataParallel(devices=list_devices("cpu")).scope():
        ...     model.fit(x, y, batch_size=128)   # 128 = the global batch
    """

    #: Whether each replica keeps only its shard of the trainable variables
    #: and optimizer state (see :class:`FullyShardedDataParallel`).
    sharded = False

    def __init__(self, device_mesh: DeviceMesh | None = None, devices: Sequence[str] | None = None,
                 auto_shard_dataset: bool = True):
        what = type(self).__name__
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(f"{what}: expected device_mesh to be a DeviceMesh, received {device_mesh!r} "
                                 f"of type {type(device_mesh).__name__} (a list of devices goes to devices=).")
            if device_mesh.devices.ndim != 1:
                warnings.warn(f"{what}: expected a 1-D device mesh, received one of shape {device_mesh.shape}; "
                              "every device of it is a data-parallel replica.", stacklevel=2)
            batch_dim_name = device_mesh.axis_names[0]
        else:
            if devices is None or len(devices) == 0:
                devices = backends.active().distribution_devices()
            if not devices:
                raise ValueError(f"{what}: expected at least one device, received devices={devices!r}.")
            devices = [str(d) for d in np.ravel(np.asarray(devices))]
            device_mesh = DeviceMesh((len(devices),), [DEFAULT_BATCH_DIM_NAME], devices)
            batch_dim_name = DEFAULT_BATCH_DIM_NAME
        super().__init__(device_mesh, batch_dim_name, auto_shard_dataset)

    @property
    def num_model_replicas(self) -> int:
        return int(self._device_mesh.devices.size)

    def _activate(self) -> Any:
        return self.engine.enter_data_parallel(self.devices, sharded=self.sharded)


class FullyShardedDataParallel(DataParallel):
    """Data parallelism for models whose weights and optimizer state do not
    fit one device: each replica stores only its shard (rows on axis 0) of
    every trainable variable and optimizer slot.

    It means what :class:`DataParallel` means (the global batch, the loss
    averaged over it, reduced metrics, one chief writing) and trains to the
    same numbers. A layer's weights are gathered whole only while it runs:
    torch gathers them at the layer's call (``torch.distributed.tensor``
    ``DTensor`` shards, ``Shard(0)`` on a 1-D mesh) and reduce-scatters their
    gradients, as ``fully_shard`` does; JAX places them with a
    ``NamedSharding`` over the batch axis and XLA gathers them. TensorFlow has
    no fully sharded strategy and raises ``NotImplementedError``.

    Reading a sharded variable outside a step (``get_weights``, ``save``)
    gathers it from every replica: in a multi-process run, every process
    makes the same reads (the checkpoint callbacks do; only the chief writes).

    Example:
        >>> dist.initialize()                        # torchrun's environment
        >>> with dist.FullyShardedDataParallel():
        ...     model = make_model()
        ...     model.compile("adam", "mse")
        ...     model.fit(x, y, batch_size=256)      # 256 = the global batch
    """

    sharded = True

    def get_variable_layout(self, variable: Any) -> TensorLayout:
        """Rows split over the batch axis for a trainable float variable or
        an optimizer slot whose first dimension the replicas divide; else
        replicated (what the jax engine places)."""
        layout = getattr(variable, "_layout", None)
        if layout is not None:
            return layout
        shape = tuple(variable.shape)
        split = (len(shape) > 0 and shape[0] % self.num_model_replicas == 0
                 and (variable.synchronization == "on_write"
                      or (variable.trainable and str(variable.dtype).startswith(("float", "bfloat")))))
        axes = [self._batch_dim_name if split else None] + [None] * (len(shape) - 1)
        return TensorLayout(axes[:len(shape)], self._device_mesh)


class ModelParallel(Distribution):
    """Model parallelism: variables laid out over a device mesh as a
    :class:`LayoutMap` says (by variable path; those it does not name are
    replicated, an optimizer slot follows its variable), every batch split
    over ``batch_dim_name`` (default: the mesh's first axis).

    The jax engine runs it: each variable placed with a ``NamedSharding``,
    the compiled step partitioned by XLA, so the numbers are those of one
    device. Other engines run a mesh of one device and raise
    ``NotImplementedError`` for more. Layouts of intermediate tensors in the
    map (``get_tensor_layout``) are not applied: XLA chooses them.

    Example:
        >>> mesh = DeviceMesh((2, 2), ["batch", "model"], devices=list_devices())
        >>> layout_map = LayoutMap(mesh)
        >>> layout_map[".*dense.*kernel"] = (None, "model")
        >>> layout_map[".*dense.*bias"] = ("model",)
        >>> with ModelParallel(layout_map=layout_map, batch_dim_name="batch").scope():
        ...     model.fit(x, y, batch_size=64)
    """

    def __init__(self, *, layout_map: LayoutMap | None = None, batch_dim_name: str | None = None,
                 auto_shard_dataset: bool = True, **kwargs: Any):
        kwargs.pop("device_mesh", None)  # Keras 3 takes the mesh from the layout map too
        if kwargs:
            raise TypeError(f"ModelParallel: unexpected arguments {sorted(kwargs)}.")
        if layout_map is None:
            raise ValueError("ModelParallel: expected a layout_map (a LayoutMap), received None.")
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(f"ModelParallel: expected layout_map to be a LayoutMap, received {layout_map!r} "
                             f"of type {type(layout_map).__name__}.")
        mesh = layout_map.device_mesh
        batch_dim_name = batch_dim_name or mesh.axis_names[0]
        if batch_dim_name not in mesh.axis_names:
            raise ValueError(f"ModelParallel: expected batch_dim_name among the mesh's axis names "
                             f"{list(mesh.axis_names)}, received {batch_dim_name!r}.")
        super().__init__(mesh, batch_dim_name, auto_shard_dataset)
        self._batch_axis: str = batch_dim_name
        self._layout_map = layout_map
        replicas = self.num_model_replicas
        if self._num_processes > replicas and self._num_processes % replicas:
            raise ValueError(f"ModelParallel: expected the processes ({self._num_processes}) to be a multiple of "
                             f"the model replicas ({replicas}) when there are more of them.")

    @property
    def num_model_replicas(self) -> int:
        return int(self._device_mesh.shape[list(self._device_mesh.axis_names).index(self._batch_axis)])

    def get_variable_layout(self, variable: Any) -> TensorLayout:
        """Its own ``_layout`` if set, else the map's layout for its path (an
        optimizer slot: its variable's), else replicated."""
        layout = self._mapped_layout(variable)
        return layout if layout is not None else TensorLayout([None] * len(variable.shape), self._device_mesh)

    def get_tensor_layout(self, path: str) -> TensorLayout | None:
        return self._layout_map[path]

    def _mapped_layout(self, variable: Any) -> TensorLayout | None:
        layout = getattr(variable, "_layout", None)
        if layout is not None:
            return layout
        reference = getattr(variable, "_reference_path", None)
        if reference is not None:  # an optimizer slot lies as its variable does
            layout = self._layout_map[reference]
            if layout is not None and len(layout.axes) <= len(variable.shape):
                return layout
        return self._layout_map[variable.path]

    def _variable_axes(self, variable: Any) -> tuple[str | None, ...] | None:
        layout = self._mapped_layout(variable)
        return None if layout is None else layout.axes

    def _activate(self) -> Any:
        devices = self._device_mesh.devices
        if devices.size == 1:  # one device: every layout is the whole value there; nothing to lay out
            known = self.engine.list_devices()
            if str(devices.flat[0]) not in known:
                raise ValueError(f"ModelParallel: expected devices among {known}, received "
                                 f"{[str(devices.flat[0])]}.")
            return _ONE_DEVICE
        return self.engine.enter_model_parallel(devices, tuple(self._device_mesh.axis_names),
                                                self._batch_axis, self._variable_axes)

    def _deactivate(self, token: Any) -> None:
        if token is not _ONE_DEVICE:
            self.engine.exit_data_parallel(token)


_ONE_DEVICE = object()


def set_distribution(value: Distribution | None) -> None:
    """Make ``value`` the distribution outside any ``with`` scope (None: none).

    Example: ``set_distribution(DataParallel()); model.fit(x, y, batch_size=64)``
    """
    previous = _global[0]
    if previous is not None:
        previous._deactivate(previous._global_token)
        _global[0] = None
    if value is not None:
        value._global_token = value._start()
        _global[0] = value


def distribution() -> Distribution | None:
    """The active distribution: the innermost scope, else the default, else None.

    Example: ``with DataParallel() as dp: assert distribution() is dp``
    """
    return _current.get() or _global[0]
