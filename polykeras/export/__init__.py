"""``keras.export``: models and custom endpoints out of polykeras, from any engine.

``Model.export(path, format=...)`` writes a TensorFlow SavedModel
(``"tf_saved_model"``), an ONNX model (``"onnx"``), a ``torch.export`` program
(``"torch"``, a ``.pt2``) or ``jax.export`` serialized StableHLO (``"jax"``),
whichever engine trained the model; :class:`ExportArchive` writes a SavedModel
with endpoints of your choosing. See ``docs/export.md``.

Example:
    >>> model.export("model.onnx", format="onnx")
    >>> archive = polykeras.export.ExportArchive()
    >>> archive.track_and_add_endpoint("serve", model, [polykeras.InputSpec(shape=(None, 8))])
    >>> archive.write_out("saved_model")
"""

from polykeras.export.archive import ExportArchive, export_model
from polykeras.export.formats import FORMATS

__all__ = ["FORMATS", "ExportArchive", "export_model"]
