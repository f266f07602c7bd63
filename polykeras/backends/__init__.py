"""Engine registry and selection.

Engines are found lazily: the built-ins below, plus any package that registers a
:class:`~polykeras.backends.base.Backend` subclass under the entry-point group
``polykeras.backends``. Nothing imports a framework until its engine is asked
for. The active engine is a scoped value (a ``ContextVar``):

* the default engine is polykeras's own choice, else Keras 3's, else the
  first installed of tensorflow, torch, jax, numpy (see :func:`default_name`):
  ``POLYKERAS_BACKEND``; the ``"backend"`` key of
  ``$POLYKERAS_HOME/polykeras.json`` (``~/.polykeras`` by default);
  ``KERAS_BACKEND``; the ``"backend"`` key of ``$KERAS_HOME/keras.json``
  (``~/.keras`` by default), so a Keras 3 program configured for Keras runs
  on the same engine with ``import polykeras as keras``.
* ``with polykeras.backends.use("jax"): ...`` switches engine for a block;
  several engines can be live in one process.

Example:
    >>> import polykeras.backends as B
    >>> with B.use("numpy"):
    ...     B.active().name
    'numpy'
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.metadata
import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from polykeras.backends.base import Backend, composite_names, primitive_names

__all__ = [
    "Backend",
    "BackendUnavailableError",
    "active",
    "available",
    "composite",
    "default_name",
    "get",
    "installed",
    "names",
    "set_default",
    "use",
]

#: name -> (module:class, the framework module it needs, the pip extra).
BUILTINS: dict[str, tuple[str, str | None, str | None]] = {
    "tensorflow": ("polykeras.backends.tensorflow:TensorflowBackend", "tensorflow", "tensorflow"),
    "torch": ("polykeras.backends.torch:TorchBackend", "torch", "torch"),
    "jax": ("polykeras.backends.jax:JaxBackend", "jax", "jax"),
    "numpy": ("polykeras.backends.numpy:NumpyBackend", None, None),
}
DEFAULT_ORDER = ("tensorflow", "torch", "jax", "numpy")
ENTRY_POINT_GROUP = "polykeras.backends"


class BackendUnavailableError(ImportError):
    """The named engine exists but its framework is not installed."""


_engines: dict[str, Backend] = {}
_active: contextvars.ContextVar[Backend | None] = contextvars.ContextVar("polykeras_backend", default=None)
_default: Backend | None = None


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def names() -> list[str]:
    """Every known engine name, built-in or registered, installed or not.

    Example: ``names()`` -> ``['tensorflow', 'torch', 'jax', 'numpy', ...]``
    """
    return list(BUILTINS) + sorted(set(_entry_points()) - set(BUILTINS))


def installed() -> list[str]:
    """Engine names whose framework is importable (checked without importing).

    Example: ``installed()`` -> ``['torch', 'numpy']``
    """
    out = []
    for name in names():
        spec = BUILTINS.get(name)
        if spec is None or spec[1] is None or importlib.util.find_spec(spec[1]) is not None:
            out.append(name)
    return out


def available() -> list[str]:
    """Alias of :func:`installed`, in the default-preference order."""
    return installed()


def _load_class(name: str) -> type[Backend]:
    if name in BUILTINS:
        target, framework, extra = BUILTINS[name]
        if framework is not None and importlib.util.find_spec(framework) is None:
            raise BackendUnavailableError(
                f"The {name!r} engine needs the {framework!r} package, which is not installed. "
                f"Install it with: pip install 'polykeras[{extra}]'"
            )
        module_name, _, class_name = target.partition(":")
        return getattr(importlib.import_module(module_name), class_name)
    entry_points = _entry_points()
    if name in entry_points:
        return entry_points[name].load()
    raise ValueError(f"Unknown engine {name!r}. Expected one of: {', '.join(names())}.")


def get(name: str) -> Backend:
    """The engine instance called ``name``, imported and created on first use.

    Example:
        >>> get("numpy").name
        'numpy'
    """
    if not isinstance(name, str):
        raise TypeError(f"Engine name must be a string, received {name!r}.")
    engine = _engines.get(name)
    if engine is None:
        cls = _load_class(name)
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        if missing:
            raise TypeError(
                f"Engine {name!r} ({cls.__module__}.{cls.__qualname__}) does not implement "
                f"the backend protocol; missing: {', '.join(missing)}."
            )
        engine = cls()
        engine.name = name
        _engines[name] = engine
    return engine


def _home() -> Path:
    return Path(os.environ.get("POLYKERAS_HOME") or Path.home() / ".polykeras")


def _keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def _file_choice(config: Path, strict: bool = True) -> str | None:
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text()).get("backend")
    except (OSError, ValueError, AttributeError) as err:
        if not strict:  # as Keras 3, which reads an unreadable keras.json as empty
            return None
        raise ValueError(f"Could not read the engine from {config}: {err}") from err


def default_name() -> str:
    """The engine used when none is chosen with :func:`use`: the first of

    1. ``POLYKERAS_BACKEND``;
    2. ``"backend"`` in ``$POLYKERAS_HOME/polykeras.json``;
    3. ``KERAS_BACKEND`` (what a Keras 3 program is run with);
    4. ``"backend"`` in ``$KERAS_HOME/keras.json`` (``~/.keras/keras.json``), as
       Keras 3 reads it; since Keras writes that file itself on its first
       import (``"tensorflow"``), an engine named there that polykeras does not
       have or that is not installed is passed over rather than refused, and
       an unreadable file is read as empty (as Keras does);
    5. the first installed of ``DEFAULT_ORDER``.

    polykeras's own settings win over Keras's, and a variable over a file.
    Any other unknown name is an error naming where it came from.

    Example:
        >>> os.environ["KERAS_BACKEND"] = "jax"      # POLYKERAS_BACKEND unset
        >>> default_name()
        'jax'
    """
    keras_file = _keras_home() / "keras.json"
    choices = (
        (lambda: os.environ.get("POLYKERAS_BACKEND"), "POLYKERAS_BACKEND", True),
        (lambda: _file_choice(_home() / "polykeras.json"), str(_home() / "polykeras.json"), True),
        (lambda: os.environ.get("KERAS_BACKEND"), "KERAS_BACKEND", True),
        (lambda: _file_choice(keras_file, strict=False), str(keras_file), False),
    )
    for read, source, strict in choices:
        chosen = read()
        if not chosen:
            continue
        if not strict:
            if chosen in installed():
                return chosen
            continue
        if chosen not in names():
            hint = " (set POLYKERAS_BACKEND to choose polykeras's engine)" if source == "KERAS_BACKEND" else ""
            raise ValueError(f"Unknown engine {chosen!r} (from {source}){hint}. "
                             f"Expected one of: {', '.join(names())}.")
        return chosen
    present = installed()
    return next(name for name in DEFAULT_ORDER if name in present)


def set_default(name: str) -> None:
    """Make ``name`` the engine used outside any :func:`use` block."""
    global _default
    _default = get(name)


def active() -> Backend:
    """The engine ops dispatch to now.

    Example: ``active().name`` -> ``'torch'``
    """
    engine = _active.get()
    if engine is not None:
        return engine
    if _default is None:
        set_default(default_name())
    return _default  # type: ignore[return-value]


@contextlib.contextmanager
def use(name: str | Backend) -> Iterator[Backend]:
    """Run a block on another engine.

    Example:
        >>> with use("numpy") as engine:
        ...     engine.name
        'numpy'
    """
    engine = name if isinstance(name, Backend) else get(name)
    token = _active.set(engine)
    try:
        yield engine
    finally:
        _active.reset(token)


class _CompositeView:
    """The active engine with its native overrides of composites hidden."""

    def __init__(self, engine: Backend):
        self._engine = engine
        self.name = engine.name

    def __getattr__(self, attr: str) -> Any:
        if attr in _COMPOSITES:
            return getattr(Backend, attr).__get__(self)
        return getattr(self._engine, attr)


_COMPOSITES = frozenset(composite_names())


@contextlib.contextmanager
def composite(name: str | None = None) -> Iterator[Backend]:
    """Run a block with every composite op in its portable definition (from
    :class:`Backend`) instead of the engine's native kernel.

    Example:
        >>> with composite("numpy"):
        ...     pass
    """
    engine = get(name) if name else active()
    token = _active.set(_CompositeView(engine))  # type: ignore[arg-type]
    try:
        yield engine
    finally:
        _active.reset(token)


def protocol() -> dict[str, list[str]]:
    """The protocol's method names: ``{"primitives": [...], "composites": [...]}``."""
    return {"primitives": primitive_names(), "composites": composite_names()}
