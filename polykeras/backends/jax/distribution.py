"""JAX data parallelism: a 1-D ``Mesh`` with a ``"batch"`` axis.

Variables are replicated (``NamedSharding(mesh, P())``), every batch leaf is
sharded on axis 0 (``P("batch")``); the trainer's jitted step then runs SPMD and
XLA inserts the cross-device reductions, so means over the batch (the loss,
BatchNormalization's moments, metrics) are over the global batch already.

Sharded (``FullyShardedDataParallel``): the trainable float variables and the
optimizer slots (``synchronization="on_write"``) whose first dimension the
device count divides are placed ``NamedSharding(mesh, P("batch"))``, split on
axis 0, each device storing its rows; the rest (metric state, moving
statistics, step counters, scalars, indivisible first dimensions) stays
replicated. One function, :meth:`_Layout.target`, says where each variable
lies. The same jitted step then runs on the split values: XLA's SPMD
partitioner inserts the collectives (gathering a weight where the step needs
it whole), so the numbers are the data-parallel ones up to float rounding.
XLA chooses the layout of the step's outputs; a variable that came back
otherwise (a moving statistic may come back split) is re-placed after the
step, the others are left alone. Across
processes a split variable spans processes: reading it (``numpy()``,
``get_weights()``) all-gathers it, a collective that every process must make.

Across processes (after :meth:`JaxDistribution.distribution_initialize`) the
mesh spans every process's devices. Every process holds the same global batch
and gives each of its devices that device's rows; a batch whose size the
device count does not divide runs replicated (every device computes the whole
batch, so the numbers are the same). Predict's sharded outputs are gathered so
that every process gets all rows. On CPU the cross-process reductions use
JAX's gloo collectives.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend.backend
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec

#: In a multi-process run, wait for every ``SYNC_EVERY``-th step: JAX on CPU can
#: stall a cross-process rendezvous when hundreds of steps are queued unwaited.
SYNC_EVERY = 8


class _Layout:
    """Where a run's batches and variables lie: a mesh (1-D ``("batch",)`` for
    data parallelism), batches split on ``batch_axis``, and variables
    replicated, split on axis 0 (``shard_variables``), or laid out as
    ``variable_axes(variable)`` says (model parallelism)."""

    def __init__(self, devices: Any, shard_variables: bool = False, axis_names: Sequence[str] = ("batch",),
                 batch_axis: str = "batch",
                 variable_axes: Callable[[Any], Sequence[str | None] | None] | None = None):
        grid = np.empty(np.shape(devices), dtype=object)
        for index, device in np.ndenumerate(np.asarray(devices, dtype=object)):
            grid[index] = device
        self.mesh = Mesh(grid, tuple(axis_names))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.sharded = NamedSharding(self.mesh, PartitionSpec(batch_axis))
        self.size = int(self.mesh.shape[batch_axis])
        self.multi_process = len({d.process_index for d in grid.flat}) > 1
        self.shard_variables = shard_variables
        self.variable_axes = variable_axes
        #: Whether variables the step returned elsewhere are placed back after each step.
        self.keep_layout = shard_variables or variable_axes is not None
        self._gather: Callable[[Any], Any] | None = None

    def put(self, value: Any, sharding: NamedSharding) -> jax.Array:
        """``value`` (the same on every process) as a global array with ``sharding``."""
        if not self.multi_process:
            return jax.device_put(value, sharding)
        if isinstance(value, jax.Array) and not value.is_fully_addressable:
            return jax.device_put(value, sharding)  # a global array, resharded
        host = np.asarray(value)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    def target(self, variable: Any) -> NamedSharding:
        """Where ``variable`` lies on the mesh: split on axis 0 (``P("batch")``)
        when the variables are sharded and it is a trainable float variable or
        an optimizer slot (``synchronization="on_write"``) whose first
        dimension the mesh size divides; else replicated (metric state, moving
        statistics, step counters, scalars). Under model parallelism,
        ``variable_axes(variable)`` (None: replicated)."""
        if self.variable_axes is not None:
            axes = self.variable_axes(variable)
            if axes is None or not any(axes):
                return self.replicated
            _check_divisible(tuple(variable.shape), tuple(axes), self.mesh, f"variable {variable.path!r}")
            return NamedSharding(self.mesh, PartitionSpec(*axes))
        if not self.shard_variables or variable.ndim == 0 or variable.shape[0] % self.size:
            return self.replicated
        if variable.synchronization == "on_write" or (
                variable.trainable and variable.dtype.startswith(("float", "bfloat"))):
            return self.sharded
        return self.replicated

    def place(self, variables: list[Any]) -> None:
        """Place every variable as :meth:`target` says (those already there
        are left alone: a step's outputs usually are). Across processes, a
        variable holding a process-local value takes process 0's value (the
        replicas start from the same state, as torch's engine does)."""
        stale = [(v, s) for v in variables if not _placed(v.value, s := self.target(v))]
        if not stale:
            return
        values = [v.value for v, _ in stale]
        if self.multi_process:
            local = [i for i, value in enumerate(values) if _is_local(value)]
            for i, value in zip(local, multihost_utils.broadcast_one_to_all([np.asarray(values[i]) for i in local])):
                values[i] = value
        shardings = [sharding for _, sharding in stale]
        placed = ([self.put(value, sharding) for value, sharding in zip(values, shardings)] if self.multi_process
                  else jax.device_put(values, shardings))  # one call for all
        for (variable, _), value in zip(stale, placed):
            variable.assign(value)

    def gather(self, tree: Any) -> Any:
        """``tree``'s arrays replicated on every device (an all-gather across processes)."""
        if self._gather is None:
            self._gather = jax.jit(lambda t: t, out_shardings=self.replicated)
        return self._gather(tree)


def _placed(value: Any, sharding: NamedSharding) -> bool:
    """True when ``value`` already lies as ``sharding`` says."""
    current = getattr(value, "sharding", None)
    return current == sharding or (current is not None and current.is_equivalent_to(sharding, value.ndim))


def _is_local(value: Any) -> bool:
    """True for a value only this process holds (not an array spanning processes)."""
    return not isinstance(value, jax.Array) or value.is_fully_addressable


def _device_name(device: Any) -> str:
    return f"{device.platform}:{device.id}"


def _devices_by_name() -> dict[str, Any]:
    """Every device of the default platform and the CPU, by ``platform:id``."""
    return {_device_name(d): d for platform in dict.fromkeys([jax.default_backend(), "cpu"])
            for d in jax.devices(platform)}


def _mesh_devices(devices: Any, what: str) -> np.ndarray:
    """The device names of a mesh as JAX devices, in the mesh's shape."""
    by_name = _devices_by_name()
    names = np.asarray(devices, dtype=object)
    unknown = [str(d) for d in names.flat if str(d) not in by_name]
    if unknown:
        raise ValueError(f"{what}: expected devices among {sorted(by_name)}, received {unknown}.")
    grid = np.empty(names.shape, dtype=object)
    for index, name in np.ndenumerate(names):
        grid[index] = by_name[str(name)]
    return grid


def _check_divisible(shape: tuple[int, ...], axes: tuple[str | None, ...], mesh: Mesh | AbstractMesh,
                     what: str) -> None:
    """A clear error where a mesh axis does not divide the dimension laid on it."""
    if len(axes) > len(shape):
        raise ValueError(f"{what}: expected a layout of at most {len(shape)} axes for shape {shape}, "
                         f"received axes={axes}.")
    for dim, (size, axis) in enumerate(zip(shape, axes)):
        if axis is not None and size % int(mesh.shape[axis]):
            raise ValueError(f"{what}: expected dimension {dim} (size {size}) to split evenly over mesh axis "
                             f"{axis!r} of {int(mesh.shape[axis])} devices, received shape {shape} with "
                             f"axes={axes}.")


class JaxDistribution:
    """The ``DistributionHooks`` of the JAX engine."""

    _layout: _Layout | None = None

    def distribution_devices(self, device_type: str | None = None) -> list[str]:
        try:
            devices = jax.devices(device_type.lower()) if device_type else jax.devices()
        except RuntimeError:  # a platform JAX has no backend for: none of its devices
            return []
        return [_device_name(d) for d in devices]

    def native_mesh(self, devices: np.ndarray, axis_names: Sequence[str]) -> Mesh:
        return Mesh(_mesh_devices(devices, "DeviceMesh"), tuple(axis_names))

    def native_layout(self, devices: np.ndarray, axis_names: Sequence[str],
                      axes: Sequence[str | None]) -> NamedSharding:
        return NamedSharding(self.native_mesh(devices, axis_names), PartitionSpec(*axes))

    def distribute_tensor(self, value: Any, devices: np.ndarray, axis_names: Sequence[str],
                          axes: Sequence[str | None]) -> Any:
        """``jax.device_put`` with a ``NamedSharding`` (a global array built
        from this process's copy where the mesh spans processes); inside a
        traced function, ``jax.lax.with_sharding_constraint``."""
        sharding = self.native_layout(devices, axis_names, axes)
        _check_divisible(tuple(np.shape(value)), tuple(axes), sharding.mesh, "distribute_tensor")
        if isinstance(value, jax.core.Tracer):
            return jax.lax.with_sharding_constraint(value, sharding)
        if isinstance(value, jax.Array) and _placed(value, sharding):
            return value
        if not sharding.is_fully_addressable and _is_local(value):
            host = np.asarray(value)
            return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
        return jax.device_put(self.convert_to_tensor(value), sharding)  # type: ignore[attr-defined]

    def enter_model_parallel(self, devices: np.ndarray, axis_names: Sequence[str], batch_axis: str,
                             variable_axes: Callable[[Any], Sequence[str | None] | None]) -> Any:
        grid = _mesh_devices(devices, "ModelParallel")
        previous = self._layout
        self._layout = _Layout(grid, axis_names=axis_names, batch_axis=batch_axis, variable_axes=variable_axes)
        return previous

    def distribution_initialize(self, coordinator_address: str, num_processes: int, process_id: int,
                                timeout: float, job_addresses: Sequence[str] | None = None) -> None:
        """A bounded rendezvous of every process on the coordinator's port
        (JAX aborts the process when a peer is missing, so it is checked
        first), then ``jax.distributed.initialize``. Call it before any array
        is made: arrays made before belong to the single-process client it
        replaces."""
        if jax.distributed.is_initialized():
            raise RuntimeError(f"initialize: expected one call per process, received a second one (this process "
                               f"already joined a run as process {jax.process_index()} of {jax.process_count()}).")
        # jax.config's flags are attributes made at run time, absent from its type stubs.
        if jax.config.jax_cpu_collectives_implementation is None:  # type: ignore[attr-defined]
            jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU cross-process reductions
        where = f"the run at {coordinator_address} as process {process_id} of {num_processes}"
        end = time.monotonic() + timeout
        _rendezvous(coordinator_address, num_processes, process_id, end, where, timeout)
        seconds = max(1, int(round(end - time.monotonic())))
        try:
            if not jax.distributed.is_initialized():
                # Work before initialize() made a single-process client; the run needs a new one.
                jax.extend.backend.clear_backends()
            jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                                       process_id=process_id, initialization_timeout=seconds)
            count = len({d.process_index for d in jax.devices()})
        except Exception as error:  # noqa: BLE001 - re-raised with the context the user needs
            _leave()
            raise RuntimeError(f"initialize: the jax engine could not join {where} within {timeout:g}s: "
                               f"{error}") from error
        if count != num_processes:
            _leave()
            raise RuntimeError(f"initialize: expected devices of {num_processes} processes at "
                               f"{coordinator_address}, received devices of {count}.")

    def distribution_shutdown(self) -> None:
        _leave()

    def distribution_barrier(self) -> None:
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices("polykeras.distribution.barrier")

    def process_index(self) -> int:
        return jax.process_index()

    def process_count(self) -> int:
        return jax.process_count()

    def enter_data_parallel(self, devices: Sequence[str], sharded: bool = False) -> Any:
        what = "FullyShardedDataParallel" if sharded else "DataParallel"
        by_name = {_device_name(d): d for d in jax.devices()}
        unknown = [d for d in devices if d not in by_name]
        if unknown:
            raise ValueError(f"{what}: expected devices among {sorted(by_name)}, received {unknown}.")
        chosen = [by_name[d] for d in devices]
        if jax.process_count() > 1 and not any(d.process_index == jax.process_index() for d in chosen):
            raise ValueError(f"{what}: expected at least one device of process {jax.process_index()} "
                             f"(its devices: {[_device_name(d) for d in jax.local_devices()]}), "
                             f"received {list(devices)}.")
        previous = self._layout
        self._layout = _Layout(chosen, shard_variables=sharded)
        return previous

    def exit_data_parallel(self, token: Any) -> None:
        self._layout = token

    def holds_part(self, value: Any) -> bool:
        """True for an array split over several processes' devices."""
        return isinstance(value, jax.Array) and not (value.is_fully_addressable or value.is_fully_replicated)

    def gather_whole(self, values: list[Any]) -> list[Any]:
        return [self.to_numpy(v) for v in values]  # type: ignore[attr-defined]

    def distribute_batch(self, batch: Any) -> Any:
        """The global batch placed on the active mesh (sharded on axis 0 where
        the device count divides it, else replicated). In a multi-process run
        every process passes the same global batch."""
        layout = self._layout
        if layout is None:
            return batch

        def place(leaf: Any) -> Any:
            if leaf is None or not hasattr(leaf, "shape"):
                return leaf
            even = len(leaf.shape) > 0 and leaf.shape[0] % layout.size == 0
            return layout.put(leaf, layout.sharded if even else layout.replicated)

        return jax.tree_util.tree_map(place, batch)

    def distribute_step(self, fn: Callable[[Any], Any], state: Sequence[Any],
                        refresh_logs: Callable[[Any], Any] | None = None,
                        gather_outputs: bool = False) -> Callable[[Any], Any]:
        state = list(state)
        calls = [0]

        def run(batch: Any) -> Any:
            layout = self._layout
            if layout is None:
                return fn(batch)
            layout.place(state)  # values set outside a step (set_weights, a metric's reset)
            out = fn(self.distribute_batch(batch))
            if layout.keep_layout:
                layout.place(state)  # XLA chose the outputs' layout: give back any that strayed
            if not layout.multi_process:
                return out  # sharded outputs are addressable here: NumPy conversion gathers them
            if gather_outputs:
                out = layout.gather(out)
            calls[0] += 1
            if calls[0] % SYNC_EVERY == 0:
                jax.block_until_ready(out)
            return out

        return run


def _leave() -> None:
    """Leave the multi-process run, if joined (failures ignored: used on error paths too)."""
    try:
        jax.distributed.shutdown()
    except Exception:  # noqa: BLE001, S110 - nothing more to undo
        pass


def _rendezvous(address: str, num_processes: int, process_id: int, end: float, where: str,
                timeout: float) -> None:
    """Return once every process reached it, or raise ``RuntimeError`` at
    ``end`` (``time.monotonic()``). Process 0 listens on the coordinator's
    port, the others connect and say who they are, process 0 answers all
    once everyone arrived; then the port is free for JAX's coordination
    service. A peer with another world size, or a repeated process id, fails
    the run at once."""
    host, _, port_text = address.rpartition(":")
    host, port = host.strip("[]"), int(port_text)

    def fail(reason: str) -> RuntimeError:
        return RuntimeError(f"initialize: the jax engine could not join {where} within {timeout:g}s: {reason}.")

    if process_id == 0:
        _gather_peers(port, num_processes, end, fail)
    else:
        _announce(host, port, num_processes, process_id, end, fail)


def _gather_peers(port: int, num_processes: int, end: float, fail: Callable[[str], RuntimeError]) -> None:
    try:
        family = socket.AF_INET6 if socket.has_dualstack_ipv6() else socket.AF_INET
        listener = socket.create_server(("", port), family=family, dualstack_ipv6=family == socket.AF_INET6)
    except OSError as error:
        raise fail(f"process 0 could not listen on port {port} ({error})") from error
    peers: dict[int, socket.socket] = {}
    try:
        while len(peers) < num_processes - 1:
            left = end - time.monotonic()
            if left <= 0:
                missing = [i for i in range(1, num_processes) if i not in peers]
                raise fail(f"processes {missing} did not arrive")
            listener.settimeout(left)
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(max(0.1, min(5.0, end - time.monotonic())))  # a peer speaks at once
            try:
                hello = json.loads(conn.makefile("rb").readline())
                peer, world = int(hello["process_id"]), int(hello["num_processes"])
            except (OSError, ValueError, KeyError, TypeError):
                conn.close()  # not a peer of this run
                continue
            problem = (f"process {peer} expected a world of {world} processes, process 0 of {num_processes}"
                       if world != num_processes else
                       f"process id {peer} arrived twice" if peer in peers else
                       f"process id {peer} is outside [1, {num_processes})" if not 0 < peer < num_processes else "")
            if problem:
                for other in [*peers.values(), conn]:
                    _send(other, {"error": problem})
                raise fail(problem)
            peers[peer] = conn
        for conn in peers.values():
            _send(conn, {"ok": True})
        for conn in peers.values():  # let the peers close first (their side keeps TIME_WAIT)
            conn.settimeout(max(0.1, min(5.0, end - time.monotonic())))
            try:
                conn.recv(1)
            except OSError:
                pass
    finally:
        for conn in peers.values():
            conn.close()
        listener.close()


def _announce(host: str, port: int, num_processes: int, process_id: int, end: float,
              fail: Callable[[str], RuntimeError]) -> None:
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise fail(f"process 0 did not answer at {host}:{port}")
        try:
            conn = socket.create_connection((host, port), timeout=left)
            break
        except OSError:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
    with conn:
        try:
            _send(conn, {"process_id": process_id, "num_processes": num_processes})
            conn.settimeout(max(0.1, end - time.monotonic()))
            line = conn.makefile("rb").readline()
        except OSError as error:
            raise fail(f"process 0 did not answer: {error}") from error
        try:
            answer = json.loads(line)
        except ValueError:
            raise fail(f"process 0 did not answer (received {line[:80]!r})") from None
        if not answer.get("ok"):
            raise fail(answer.get("error", f"process 0 answered {answer!r}"))


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass
