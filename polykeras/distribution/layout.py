"""Keras 3's description of *where* tensors lie: ``DeviceMesh`` (devices
arranged on named axes), ``TensorLayout`` (which mesh axis splits each
dimension of a tensor), ``LayoutMap`` (layouts by variable path, the keys
regular expressions) and :func:`distribute_tensor`.

They are plain data: an engine turns them into its own objects only when asked
(``backend_mesh``, ``backend_layout``, :func:`distribute_tensor`), through the
``DistributionHooks`` of ``polykeras/backends/base.py``.
"""

from __future__ import annotations

import collections.abc
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from polykeras import backends

#: The mesh axis that splits the batch when none is named.
DEFAULT_BATCH_DIM_NAME = "batch"


class DeviceMesh:
    """Devices arranged on named axes: ``(8,)`` for data parallelism, ``(2, 4)``
    for 2-way data times 4-way model parallelism.

    ``devices`` (default: :func:`~polykeras.distribution.list_devices`) are
    device names such as ``"cpu:0"``, reshaped to ``shape``.

    Example:
        >>> mesh = DeviceMesh((2, 2), ["batch", "model"], devices=list_devices())
        >>> mesh.devices
        array([['cpu:0', 'cpu:1'], ['cpu:2', 'cpu:3']], dtype='<U5')
    """

    def __init__(self, shape: Sequence[int], axis_names: Sequence[str], devices: Any = None):
        if not shape or not axis_names:
            raise ValueError(f"DeviceMesh: expected a non-empty shape and axis_names, received shape={shape!r}, "
                             f"axis_names={axis_names!r}.")
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: expected one axis name per dimension of shape, received "
                             f"shape={shape!r}, axis_names={axis_names!r}.")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh: expected distinct axis names, received axis_names={axis_names!r}.")
        if devices is None:
            from polykeras.distribution.launch import list_devices

            devices = list_devices()
        devices = np.array(devices)
        if math.prod(shape) != devices.size:
            raise ValueError(f"DeviceMesh: expected {math.prod(shape)} devices for shape {tuple(shape)}, "
                             f"received {devices.size} (devices.shape={devices.shape}).")
        self._shape = shape
        self._axis_names = axis_names
        self._devices = np.reshape(devices, shape)
        self._backend_mesh: Any = None

    @property
    def shape(self) -> Sequence[int]:
        """The mesh's shape, as given."""
        return self._shape

    @property
    def axis_names(self) -> Sequence[str]:
        """One name per mesh axis, as given."""
        return self._axis_names

    @property
    def devices(self) -> np.ndarray:
        """The device names, shaped as the mesh."""
        return self._devices

    @property
    def backend_mesh(self) -> Any:
        """The active engine's own mesh (JAX: ``jax.sharding.Mesh``)."""
        if self._backend_mesh is None:
            self._backend_mesh = backends.active().native_mesh(self._devices, tuple(self._axis_names))
        return self._backend_mesh

    def __repr__(self) -> str:
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """Which mesh axis splits each dimension of a tensor (None: not split,
    every device of that axis holds it whole).

    Example:
        >>> layout = TensorLayout(("batch", None), device_mesh=mesh)   # rows split over "batch"
        >>> x = distribute_tensor(np.zeros((8, 3)), layout)
    """

    def __init__(self, axes: Sequence[str | None], device_mesh: DeviceMesh | None = None):
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._backend_layout: Any = None
        self._validate_axes()

    @property
    def axes(self) -> tuple[str | None, ...]:
        """One mesh axis name (or None) per tensor dimension."""
        return self._axes

    @property
    def device_mesh(self) -> DeviceMesh | None:
        """The mesh the axes refer to; settable once when None."""
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh: DeviceMesh) -> None:
        if self._device_mesh is not None:
            raise ValueError(f"TensorLayout: the device mesh is set already ({self._device_mesh}); "
                             "it cannot be replaced.")
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def backend_layout(self) -> Any:
        """The active engine's own sharding (JAX: ``NamedSharding``)."""
        if self._backend_layout is None:
            mesh = self._require_mesh("TensorLayout.backend_layout")
            self._backend_layout = backends.active().native_layout(mesh.devices, tuple(mesh.axis_names),
                                                                   self._axes)
        return self._backend_layout

    def _require_mesh(self, what: str) -> DeviceMesh:
        if self._device_mesh is None:
            raise ValueError(f"{what}: expected a TensorLayout with a device mesh, received {self!r} "
                             "(give device_mesh=, or put it in a LayoutMap).")
        return self._device_mesh

    def _validate_axes(self) -> None:
        if self._device_mesh is None:
            return
        named = [a for a in self._axes if a is not None]
        unknown = sorted(set(named) - set(self._device_mesh.axis_names))
        if unknown:
            raise ValueError(f"TensorLayout: expected axes among the mesh's axis names "
                             f"{list(self._device_mesh.axis_names)} or None, received {unknown}.")
        if len(set(named)) != len(named):
            raise ValueError(f"TensorLayout: expected each mesh axis at most once, received axes={self._axes}.")

    def __repr__(self) -> str:
        return f"<TensorLayout axes={self.axes}, device_mesh={self.device_mesh}>"


class LayoutMap(collections.abc.MutableMapping):
    """Layouts by variable path. A lookup takes the exact key, else the one key
    that, read as a regular expression, matches the whole path (several
    matching keys are an error; none gives None). A tuple of axis names is
    taken as a ``TensorLayout`` on the map's mesh.

    Example:
        >>> layout_map = LayoutMap(mesh)
        >>> layout_map[".*dense.*kernel"] = (None, "model")
        >>> layout_map["dense_1/kernel"].axes
        (None, 'model')
    """

    def __init__(self, device_mesh: DeviceMesh):
        self._layouts: collections.OrderedDict[str, TensorLayout] = collections.OrderedDict()
        self._device_mesh = device_mesh

    @property
    def device_mesh(self) -> DeviceMesh:
        """The mesh every layout of the map refers to."""
        return self._device_mesh

    def __getitem__(self, key: str) -> TensorLayout | None:
        if key in self._layouts:
            return self._layouts[key]
        matches = [pattern for pattern in self._layouts if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"LayoutMap: expected the path {key!r} to match at most one key, received the "
                             f"matching keys {matches}.")
        return self._layouts[matches[0]] if matches else None

    def __setitem__(self, key: str, layout: TensorLayout | tuple[str | None, ...]) -> None:
        if key in self._layouts:
            raise ValueError(f"LayoutMap: expected a new key, received {key!r}, which maps to "
                             f"{self._layouts[key]} already.")
        if isinstance(layout, tuple):
            layout = TensorLayout(layout)
        if not isinstance(layout, TensorLayout):
            raise ValueError(f"LayoutMap: expected a TensorLayout or a tuple of axis names for {key!r}, "
                             f"received {layout!r} of type {type(layout).__name__}.")
        if layout.device_mesh is None and self._device_mesh is not None:
            layout.device_mesh = self._device_mesh
        self._layouts[key] = layout

    def __delitem__(self, key: str) -> None:
        del self._layouts[key]

    def __len__(self) -> int:
        return len(self._layouts)

    def __iter__(self) -> Iterator[str]:
        return iter(self._layouts)


def distribute_tensor(tensor: Any, layout: TensorLayout) -> Any:
    """``tensor`` laid out over ``layout``'s mesh (inside a compiled function,
    a constraint on its layout). A symbolic tensor is returned as it is. On a
    mesh of one device every engine places it there; a mesh of several needs
    an engine that shards tensors (jax).

    Example:
        >>> mesh = DeviceMesh((4,), ["batch"])
        >>> x = distribute_tensor(np.ones((8, 2)), TensorLayout(("batch", None), mesh))
        >>> x.sharding.shard_shape(x.shape)        # jax: each device holds 2 rows
        (2, 2)
    """
    from polykeras.symbolic import SymbolicTensor

    if isinstance(tensor, SymbolicTensor):
        return tensor
    if not isinstance(layout, TensorLayout):
        raise TypeError(f"distribute_tensor: expected a TensorLayout, received {layout!r} of type "
                        f"{type(layout).__name__}.")
    mesh = layout._require_mesh("distribute_tensor")
    rank = len(np.shape(tensor))
    if len(layout.axes) > rank:
        raise ValueError(f"distribute_tensor: expected a layout of at most {rank} axes for a tensor of shape "
                         f"{tuple(np.shape(tensor))}, received axes={layout.axes}.")
    return backends.active().distribute_tensor(tensor, mesh.devices, tuple(mesh.axis_names), layout.axes)
