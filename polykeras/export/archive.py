"""``ExportArchive`` and ``Model.export``: a model out of polykeras, from any engine.

The weights move to the engine that writes the format (see
:mod:`polykeras.export.formats`) the way every stateless step moves them: each
tracked variable's value is copied to the host and handed to that engine, and
the endpoint runs inside a :class:`~polykeras.variables.StatelessScope` that
makes the variables read those values. So a model trained on torch runs its
own layers on TensorFlow ops for a SavedModel, on JAX for StableHLO, with no
copy of the model and nothing changed in it. The engine traces the function
with its framework's own exporter (``tf.saved_model``, ``torch.export``,
``torch.onnx``, ``jax.export``) into a hidden path beside the target, which
is renamed into place only once complete.

Example:
    >>> archive = ExportArchive()
    >>> archive.track(model)
    >>> archive.add_endpoint("serve", model.__call__, input_signature=[InputSpec(shape=(None, 8))])
    >>> archive.write_out("exported_model")
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polykeras import backends
from polykeras.backends.exporting import ExportEndpoint, ExportWeight
from polykeras.export.formats import check_installed, lookup
from polykeras.export.signature import check_against_model, default_signature, signature
from polykeras.variables import StatelessScope, Variable

__all__ = ["ExportArchive", "export_model"]

_RESERVED = frozenset({"variables", "trainable_variables", "non_trainable_variables"})


@dataclass
class _Endpoint:
    fn: Callable[..., Any]
    signature: list[Any]
    names: list[str] | None = None
    kwargs: dict[str, Any] | None = None


@contextlib.contextmanager
def _staged(target: Path, folder: bool) -> Iterator[Path]:
    """A hidden path beside ``target`` that replaces it on success (a folder
    moved in whole, a previous one kept until then) and is removed on failure."""
    if not folder:
        from polykeras.saving.atomic import atomic_path

        with atomic_path(target) as temp:
            yield temp
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        yield temp
        if os.path.lexists(target):
            backup = target.parent / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.bak"
            os.replace(target, backup)
            try:
                os.replace(temp, target)
            except BaseException:
                os.replace(backup, target)
                raise
            if backup.is_dir():
                shutil.rmtree(backup, ignore_errors=True)
            else:
                backup.unlink(missing_ok=True)
        else:
            os.replace(temp, target)
    finally:
        if temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        elif os.path.lexists(temp):
            temp.unlink()


class ExportArchive:
    """Keras 3's ``keras.export.ExportArchive``: an artifact with the
    endpoints you choose, written as a TensorFlow SavedModel from a model on
    any engine. ``track`` the layers and models whose variables the endpoints
    read, ``add_endpoint`` each function with its input signature, then
    ``write_out``. The SavedModel also lists ``variables``,
    ``trainable_variables``, ``non_trainable_variables`` and each collection
    added with ``add_variable_collection``.

    Example:
        >>> archive = ExportArchive()
        >>> archive.track(model)
        >>> archive.add_endpoint("serve", model.__call__, input_signature=[InputSpec(shape=(None, 8))])
        >>> archive.write_out("exported_model")            # tf.saved_model.load("exported_model").serve(x)
    """

    def __init__(self, format: str = "saved_model", **kwargs: Any) -> None:
        if format not in ("saved_model", "tf_saved_model"):
            raise ValueError(f"ExportArchive: expected format 'saved_model', received {format!r}"
                             f"{' (a Keras 3 format polykeras does not write)' if format == 'neptune_model' else ''}"
                             ". Other formats: Model.export(format=...).")
        if kwargs:
            raise TypeError(f"ExportArchive: unexpected keyword arguments {sorted(kwargs)}.")
        self._variables: list[Variable] = []
        self._index: dict[int, int] = {}
        self._tracked: list[Any] = []
        self._endpoints: dict[str, _Endpoint] = {}
        self._collections: dict[str, list[int]] = {}

    @property
    def variables(self) -> list[Variable]:
        """Every variable the archive holds, tracked or in a collection."""
        return list(self._variables)

    def _add_variables(self, variables: Sequence[Any], where: str) -> list[int]:
        indices = []
        for v in variables:
            if not isinstance(v, Variable):
                raise TypeError(f"{where}: expected polykeras Variables, received {type(v).__name__}: {v!r}.")
            if id(v) not in self._index:
                self._index[id(v)] = len(self._variables)
                self._variables.append(v)
            indices.append(self._index[id(v)])
        return indices

    def _check_name(self, name: Any, where: str, taken: Any) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{where}: expected a name that is a Python identifier, received {name!r}.")
        if name in _RESERVED or name in taken:
            raise ValueError(f"{where}: the name {name!r} is already used by the archive "
                             f"({sorted(_RESERVED | set(taken))}); choose another.")

    def track(self, resource: Any) -> None:
        """Keep ``resource``'s variables (a built layer or model) in the
        archive, so endpoints may read them. Example: ``archive.track(model)``"""
        from polykeras.layers.layer import Layer

        if not isinstance(resource, Layer):
            raise TypeError(f"ExportArchive.track: expected a polykeras Layer or Model, received "
                            f"{type(resource).__name__}: {resource!r}.")
        if not resource.built:
            raise ValueError(f"ExportArchive.track: expected a built layer (its weights created), received "
                             f"the unbuilt {resource.name!r}. Call it on data or build() it first.")
        self._add_variables(resource.variables, "ExportArchive.track")
        self._tracked.append(resource)

    def add_endpoint(self, name: str, fn: Callable[..., Any], input_signature: Any = None,
                     **kwargs: Any) -> Callable[..., Any]:
        """Export ``fn`` as endpoint ``name`` taking inputs as
        ``input_signature`` says (a list, one nest of InputSpec / tensor
        specs / shapes per positional argument; the batch axis stays
        dynamic). Returns ``fn``. Example:
        ``archive.add_endpoint("serve", model.__call__, [InputSpec(shape=(None, 8))])``"""
        where = f"ExportArchive.add_endpoint({name!r})"
        self._check_name(name, where, set(self._endpoints) | set(self._collections))
        if not callable(fn):
            raise TypeError(f"{where}: expected a callable fn, received {type(fn).__name__}: {fn!r}.")
        if input_signature is None:
            raise ValueError(f"{where}: expected an input_signature (a list of InputSpec or shapes, one per "
                             "argument of fn), received None.")
        if kwargs:
            raise TypeError(f"{where}: unexpected keyword arguments {sorted(kwargs)}.")
        self._endpoints[name] = _Endpoint(fn, signature(input_signature, where))
        return fn

    def track_and_add_endpoint(self, name: str, resource: Any, input_signature: Any,
                               **kwargs: Any) -> Callable[..., Any]:
        """``track(resource)`` then ``add_endpoint(name, resource.__call__, input_signature)``.
        Example: ``archive.track_and_add_endpoint("serve", model, [InputSpec(shape=(None, 8))])``"""
        self.track(resource)
        return self.add_endpoint(name, resource.__call__, input_signature, **kwargs)

    def add_variable_collection(self, name: str, variables: Sequence[Any]) -> None:
        """Save ``variables`` as a list attribute ``name`` of the artifact
        (``tf.saved_model.load(path).name``). Example:
        ``archive.add_variable_collection("kernels", [layer.kernel])``"""
        where = f"ExportArchive.add_variable_collection({name!r})"
        self._check_name(name, where, set(self._endpoints) | set(self._collections))
        if not isinstance(variables, (list, tuple)):
            raise TypeError(f"{where}: expected a list of Variables, received {type(variables).__name__}.")
        self._collections[name] = self._add_variables(variables, where)

    def write_out(self, filepath: Any, options: Any = None, verbose: bool | None = True) -> None:
        """Write the archive as a TensorFlow SavedModel at ``filepath``
        (atomically: a previous artifact stays until the new one is whole).
        ``options``: a ``tf.saved_model.SaveOptions``.
        Example: ``archive.write_out("exported_model")``"""
        self._write("tf_saved_model", filepath, {"options": options}, verbose)

    def _on_engine(self, engine: str, what: str) -> tuple[list[Variable], dict[str, _Endpoint]]:
        """The variables and endpoints with every tracked model that lives on
        another engine moved to ``engine`` (``Model.to_backend``: config,
        weights, nothing of the original touched); an endpoint that is a
        bound method of a moved model or of one of its layers is bound to
        the moved copy."""
        moved: dict[int, Any] = {}
        renamed: dict[int, Variable] = {}
        for resource in self._tracked:
            if all(v.engine.name == engine for v in resource.variables):
                continue
            if not hasattr(resource, "to_backend"):
                raise ValueError(f"{what}: layer {resource.name!r} lives on engine "
                                 f"{resource.variables[0].engine.name!r}, but this format is written by the "
                                 f"{engine!r} engine; track the model that holds it (a model moves, a bare "
                                 "layer does not), or make the layer on that engine.")
            try:
                copy = resource.to_backend(engine)
            except Exception as err:  # noqa: BLE001 - re-raised saying why the model had to move
                raise ValueError(f"{what}: this format is written by the {engine!r} engine, and moving "
                                 f"{resource.name!r} there failed: {err}") from err
            for old_layer, new_layer in zip(resource._flatten_layers(include_self=True, recursive=True),
                                            copy._flatten_layers(include_self=True, recursive=True)):
                moved[id(old_layer)] = new_layer
            for old, new in zip(resource.variables, copy.variables):
                renamed[id(old)] = new
        variables = [renamed.get(id(v), v) for v in self._variables]
        elsewhere = [v.path for v in variables if v.engine.name != engine]
        if elsewhere:
            raise ValueError(f"{what}: variables {elsewhere} live on another engine than {engine!r}, which writes "
                             "this format; track the model that holds them so it moves along.")
        endpoints = {}
        for name, endpoint in self._endpoints.items():
            fn = endpoint.fn
            owner = getattr(fn, "__self__", None)
            if owner is not None and id(owner) in moved:
                fn = getattr(moved[id(owner)], fn.__name__)
            endpoints[name] = _Endpoint(fn, endpoint.signature, endpoint.names, endpoint.kwargs)
        return variables, endpoints

    def _write(self, format: str, filepath: Any, options: dict[str, Any], verbose: bool | None,
               what: str = "ExportArchive export") -> None:
        fmt = lookup(format)
        check_installed(fmt)
        if not self._endpoints:
            raise ValueError(f"{what}: expected at least one endpoint (add_endpoint), received none.")
        variables, chosen = self._on_engine(fmt.engine, what)
        weights = [ExportWeight(v.path, v.numpy(), v.trainable) for v in variables]

        def pure(endpoint: _Endpoint) -> Callable[..., Any]:
            fn, kwargs = endpoint.fn, endpoint.kwargs or {}

            def run(values: Sequence[Any], *args: Any) -> Any:
                with StatelessScope(list(zip(variables, values))):
                    return fn(*args, **kwargs)
            return run

        endpoints = [ExportEndpoint(name, pure(e), e.signature, e.names) for name, e in chosen.items()]
        target = Path(os.fspath(filepath))
        engine = backends.get(fmt.engine)
        collections = {name: list(indices) for name, indices in self._collections.items()}
        with backends.use(engine), _staged(target, fmt.folder) as temp:
            try:
                engine.export_program(fmt.name, endpoints, weights, collections, str(temp), options)
            except (ImportError, NotImplementedError, OSError):
                raise
            except Exception as err:  # noqa: BLE001 - re-raised naming the format
                raise ValueError(f"{what} to format {fmt.name!r} failed: {err}") from err
        if verbose or verbose is None:
            names = ", ".join(f"{n}({_describe(e.signature)})" for n, e in self._endpoints.items())
            print(f"Saved artifact at '{target}' (format {fmt.name!r}, endpoints: {names}); load it with "
                  f"{fmt.loader}.")


def _describe(specs: Any) -> str:
    from polykeras import tree

    return ", ".join(f"{s.dtype}{list(s.shape)}" for s in tree.flatten(specs))


def export_model(model: Any, filepath: Any, format: str = "tf_saved_model", verbose: bool | None = None,
                 input_signature: Any = None, **kwargs: Any) -> None:
    """Export ``model`` for inference in ``format`` ("tf_saved_model", "onnx",
    "torch", "jax") from whatever engine trained it; see :meth:`Model.export`.

    Example: ``export_model(model, "model.onnx", format="onnx")``
    """
    fmt = lookup(format)
    what = f"export of model {model.name!r}"
    if not model.built:
        raise ValueError(f"{what}: expected a built model (its weights created), received an unbuilt one. "
                         "Call it on data or build() it first.")
    unknown = sorted(set(kwargs) - set(fmt.options))
    if unknown:
        raise TypeError(f"{what}: format {fmt.name!r} takes the keyword arguments {list(fmt.options)}, "
                        f"received {unknown}.")
    check_installed(fmt)
    if input_signature is None:
        specs, names = default_signature(model)
    else:
        specs, names = signature(input_signature, what), None
    check_against_model(model, specs)

    archive = ExportArchive()
    archive.track(model)
    archive._endpoints["serve"] = _Endpoint(model.__call__, specs, names, {"training": False})
    archive._write(fmt.name, filepath, kwargs, verbose, what)
