"""``keras.preprocessing``: the image and sequence helpers and the dataset
builders, under the names Keras 3 keeps for older programs (the same
functions as :mod:`polykeras.utils`).

Example:
    >>> from polykeras.preprocessing.sequence import pad_sequences
    >>> pad_sequences([[1, 2], [3]]).shape
    (2, 2)
"""

from polykeras.preprocessing import image, sequence
from polykeras.utils.dataset_utils import timeseries_dataset_from_array
from polykeras.utils.directory import image_dataset_from_directory, text_dataset_from_directory

__all__ = ["image", "image_dataset_from_directory", "sequence", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
