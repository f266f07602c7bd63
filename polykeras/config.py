"""Global settings, as ``keras.config``: the default float dtype, the fuzz
factor ``epsilon``, the image data format, the engine, and Keras 3's switches
(unsafe deserialization, traceback filtering, interactive logging, flash
attention, epoch and step caps).

Each setting lives in one place and the code that uses it reads it from there:
``floatx`` is :mod:`polykeras.backends.dtypes`'s (``standardize_dtype(None)``,
layers, variables and initializers follow it), ``image_data_format`` is read by
every layer and op whose ``data_format`` is None, and unsafe deserialization
turns off :mod:`polykeras.saving.safe_mode` for the whole process.

This module imports nothing above the engine floor, so ops and layers may read
it.

Example:
    >>> import polykeras
    >>> polykeras.config.set_image_data_format("channels_first")
    >>> polykeras.layers.Conv2D(4, 3).data_format
    'channels_first'
    >>> polykeras.config.set_image_data_format("channels_last")
"""

from __future__ import annotations

from typing import Any

from polykeras import backends
from polykeras.backends.dtypes import floatx, set_floatx

__all__ = [
    "backend", "disable_flash_attention", "dtype_policy", "disable_interactive_logging", "disable_traceback_filtering",
    "enable_flash_attention", "enable_interactive_logging", "enable_traceback_filtering",
    "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format", "is_flash_attention_enabled",
    "is_interactive_logging_enabled", "is_nnx_enabled", "is_traceback_filtering_enabled", "max_epochs",
    "max_steps_per_epoch", "set_backend", "set_dtype_policy", "set_epsilon", "set_floatx", "set_image_data_format",
    "set_max_epochs", "set_max_steps_per_epoch",
]

DATA_FORMATS = ("channels_last", "channels_first")

_settings: dict[str, object] = {
    "epsilon": 1e-7,
    "image_data_format": "channels_last",
    "traceback_filtering": True,
    "interactive_logging": True,
    "flash_attention": None,  # None: let each layer decide, as Keras 3
    "max_epochs": None,
    "max_steps_per_epoch": None,
}


def backend() -> str:
    """The active engine's name. Example: ``polykeras.config.backend()`` -> ``'jax'``"""
    return backends.active().name


def set_backend(backend: str) -> None:
    """Make ``backend`` the engine used outside any ``backends.use`` block.
    Unlike Keras 3 nothing is reloaded: models already built keep their engine's
    variables, and several engines can stay live in one process.

    Example:
        >>> set_backend("numpy")
    """
    if not isinstance(backend, str) or backend not in backends.names():
        raise ValueError(f"set_backend: expected one of {backends.names()}, received {backend!r}.")
    backends.set_default(backend)


def epsilon() -> float:
    """The fuzz factor added to denominators (default ``1e-7``).
    Example: ``polykeras.config.epsilon()`` -> ``1e-07``"""
    return _settings["epsilon"]  # type: ignore[return-value]


def set_epsilon(value: float) -> None:
    """Set the fuzz factor. Example: ``set_epsilon(1e-5)``"""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"set_epsilon: expected a float, received {value!r}.")
    _settings["epsilon"] = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (the default) or ``"channels_first"``: the layout
    layers and ops assume when their ``data_format`` is None.
    Example: ``image_data_format()`` -> ``'channels_last'``"""
    return _settings["image_data_format"]  # type: ignore[return-value]


def set_image_data_format(data_format: str) -> None:
    """Set the default image layout. Example: ``set_image_data_format("channels_first")``"""
    value = data_format.lower() if isinstance(data_format, str) else data_format
    if value not in DATA_FORMATS:
        raise ValueError(f"set_image_data_format: expected one of {DATA_FORMATS}, received {data_format!r}.")
    _settings["image_data_format"] = value


def enable_unsafe_deserialization() -> None:
    """Turn safe mode off for the whole process: loading may then run code a
    file names (``Lambda`` layers). Example: ``enable_unsafe_deserialization()``"""
    from polykeras import safe_mode

    safe_mode.set_global_safe_mode(False)


def enable_traceback_filtering() -> None:
    """Record that tracebacks should be filtered (Keras 3's default). polykeras
    raises its own short errors at the boundary and keeps tracebacks whole, so
    the switch is recorded only. Example: ``enable_traceback_filtering()``"""
    _settings["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """See :func:`enable_traceback_filtering`. Example: ``disable_traceback_filtering()``"""
    _settings["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    """Example: ``is_traceback_filtering_enabled()`` -> ``True``"""
    return bool(_settings["traceback_filtering"])


def enable_interactive_logging() -> None:
    """Progress output goes to stdout (the default). Example: ``enable_interactive_logging()``"""
    _settings["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Progress output should go to logging instead of stdout. Example: ``disable_interactive_logging()``"""
    _settings["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    """Example: ``is_interactive_logging_enabled()`` -> ``True``"""
    return bool(_settings["interactive_logging"])


def enable_flash_attention() -> None:
    """Ask attention layers for a fused kernel where the engine has one.
    Example: ``enable_flash_attention()``"""
    _settings["flash_attention"] = True


def disable_flash_attention() -> None:
    """Example: ``disable_flash_attention()``"""
    _settings["flash_attention"] = False


def is_flash_attention_enabled() -> bool | None:
    """None (the default: layers decide), True or False. Example: ``is_flash_attention_enabled()``"""
    return _settings["flash_attention"]  # type: ignore[return-value]


def is_nnx_enabled() -> bool:
    """Always False: Flax NNX variables are not used. Example: ``is_nnx_enabled()`` -> ``False``"""
    return False


def _cap(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"set_{name}: expected a positive int or None, received {value!r}.")
    _settings[name] = value


def max_epochs() -> int | None:
    """The cap on ``fit``'s epochs, or None. Example: ``max_epochs()`` -> ``None``"""
    return _settings["max_epochs"]  # type: ignore[return-value]


def set_max_epochs(max_epochs: int | None) -> None:
    """Cap ``fit``'s epochs (None: no cap). Example: ``set_max_epochs(2)``"""
    _cap("max_epochs", max_epochs)


def max_steps_per_epoch() -> int | None:
    """The cap on steps per epoch, or None. Example: ``max_steps_per_epoch()`` -> ``None``"""
    return _settings["max_steps_per_epoch"]  # type: ignore[return-value]


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Cap the steps of each epoch (None: no cap). Example: ``set_max_steps_per_epoch(10)``"""
    _cap("max_steps_per_epoch", max_steps_per_epoch)


def dtype_policy() -> Any:
    """The global dtype policy (``DTypePolicy``): what layers made without
    ``dtype=`` take. Example: ``polykeras.config.dtype_policy().name`` -> ``'float32'``"""
    from polykeras.dtype_policies import policy

    return policy.dtype_policy()


def set_dtype_policy(policy: Any) -> None:
    """Set the global dtype policy (a name such as ``"mixed_bfloat16"`` or a
    ``DTypePolicy``). Example: ``polykeras.config.set_dtype_policy("mixed_float16")``"""
    from polykeras.dtype_policies import policy as policies

    policies.set_dtype_policy(policy)
