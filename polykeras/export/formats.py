"""The export formats: which engine writes each, and what it needs installed.

A model leaves in a format by moving its weights to the engine that writes
it (whatever engine trained it): ``tf_saved_model`` is written by the
tensorflow engine, ``torch`` and ``onnx`` by the torch engine, ``jax`` by the
jax engine. A format whose framework or converter is missing is refused
with the pip extra that brings it.

Example:
    >>> FORMATS["onnx"].engine
    'torch'
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

__all__ = ["FORMATS", "ExportFormat", "check_installed", "lookup"]


@dataclass(frozen=True)
class ExportFormat:
    """A format: the engine that writes it, the modules it needs, the pip
    extras that install them, and whether the artifact is a folder.

    Example: ``ExportFormat("jax", "jax", ("jax",), "jax", False)``
    """

    name: str
    engine: str
    modules: tuple[str, ...]
    extras: str
    folder: bool
    #: How the artifact is loaded, for messages and docs.
    loader: str = ""
    #: The keyword arguments ``export`` takes for this format (Keras 3's
    #: ``is_static``/``jax2tf_kwargs`` are accepted and have nothing to do here).
    options: tuple[str, ...] = ()


FORMATS: dict[str, ExportFormat] = {
    "tf_saved_model": ExportFormat("tf_saved_model", "tensorflow", ("tensorflow",), "tensorflow", True,
                                   "tf.saved_model.load(path).serve(x)", ("options", "is_static", "jax2tf_kwargs")),
    "onnx": ExportFormat("onnx", "torch", ("torch", "onnx", "onnxscript"), "torch,export", False,
                         "onnxruntime.InferenceSession(path).run(None, {name: x})", ("opset_version",)),
    "torch": ExportFormat("torch", "torch", ("torch",), "torch", False,
                          "torch.export.load(path).module()(x)"),
    "jax": ExportFormat("jax", "jax", ("jax",), "jax", False,
                        "jax.export.deserialize(data).call(x)", ("platforms",)),
}

#: Formats Keras 3 names that polykeras does not write.
NOT_WRITTEN = ("openvino", "litert")


def lookup(format: str) -> ExportFormat:
    """The format named ``format``; a clear error for any other name.

    Example: ``lookup("onnx").engine`` -> ``'torch'``
    """
    if format in FORMATS:
        return FORMATS[format]
    extra = f" ({', '.join(NOT_WRITTEN)} are Keras 3 formats polykeras does not write)" \
        if format in NOT_WRITTEN else ""
    raise ValueError(f"export: expected format to be one of {sorted(FORMATS)}, received {format!r}{extra}.")


def check_installed(fmt: ExportFormat) -> None:
    """Raise ``ImportError`` naming the missing modules and the pip extra
    when ``fmt`` cannot be written here. Example: ``check_installed(FORMATS["onnx"])``"""
    missing = [m for m in fmt.modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(f"export to {fmt.name!r} needs {', '.join(fmt.modules)}; {', '.join(missing)} "
                          f"{'is' if len(missing) == 1 else 'are'} not installed. Install with "
                          f"pip install 'polykeras[{fmt.extras}]'.")
