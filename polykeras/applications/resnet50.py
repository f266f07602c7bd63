"""``keras.applications.resnet50``: ResNet50 with its preprocessing, the
same objects as in :mod:`polykeras.applications.resnet`.

Example:
    >>> from polykeras.applications.resnet50 import ResNet50, preprocess_input
"""

from polykeras.applications.resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
