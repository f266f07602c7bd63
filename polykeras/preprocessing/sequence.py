"""``keras.preprocessing.sequence``: ``pad_sequences``.

Example: ``pad_sequences([[1, 2, 3], [4]], maxlen=2)``
"""

from polykeras.utils.sequence_utils import pad_sequences

__all__ = ["pad_sequences"]
