"""Preprocessing layers that live in the model: ``Rescaling``,
``Normalization``, ``CenterCrop``, ``Resizing``, ``CategoryEncoding``,
``Discretization``, ``IntegerLookup`` (all computed with ``ops``, so they run
on every engine and save with the model), and ``StringLookup``, ``Hashing``,
``HashedCrossing`` and ``TextVectorization`` (eager, on host data: the engines
have no strings; the hashes Keras takes from TensorFlow are computed with
NumPy in :mod:`.string_hash`). Learned state (``adapt``) is kept in
non-trainable weights (Normalization) or in the config (bin boundaries,
vocabularies), never in side files.
"""

from polykeras.layers.preprocessing.category_encoding import CategoryEncoding
from polykeras.layers.preprocessing.discretization import Discretization
from polykeras.layers.preprocessing.image import CenterCrop, Resizing
from polykeras.layers.preprocessing.lookup import IntegerLookup, StringLookup
from polykeras.layers.preprocessing.normalization import Normalization
from polykeras.layers.preprocessing.rescaling import Rescaling

__all__ = [
    "CategoryEncoding", "CenterCrop", "Discretization", "IntegerLookup", "Normalization", "Rescaling", "Resizing",
    "StringLookup",
]

from polykeras.layers.preprocessing.pipeline import Pipeline  # noqa: E402

__all__ += ["Pipeline"]
from polykeras.layers.preprocessing.augmentation import (  # noqa: E402
    AutoContrast, RandomBrightness, RandomContrast, RandomFlip, RandomGrayscale, RandomInvert,
)

__all__ += ["AutoContrast", "RandomBrightness", "RandomContrast", "RandomFlip", "RandomGrayscale", "RandomInvert"]
from polykeras.layers.preprocessing.geometric import RandomRotation, RandomTranslation, RandomZoom  # noqa: E402

__all__ += ["RandomRotation", "RandomTranslation", "RandomZoom"]
from polykeras.layers.preprocessing.augmentation import RandomPosterization, Solarization  # noqa: E402

__all__ += ["RandomPosterization", "Solarization"]
from polykeras.layers.preprocessing.geometric import RandomCrop  # noqa: E402

__all__ += ["RandomCrop"]
from polykeras.layers.preprocessing.augmentation import MixUp  # noqa: E402

__all__ += ["MixUp"]
from polykeras.layers.preprocessing.spectrogram import MelSpectrogram, STFTSpectrogram  # noqa: E402

__all__ += ["MelSpectrogram", "STFTSpectrogram"]
from polykeras.layers.preprocessing.hashing import HashedCrossing, Hashing  # noqa: E402

__all__ += ["HashedCrossing", "Hashing"]
from polykeras.layers.preprocessing.text_vectorization import TextVectorization  # noqa: E402

__all__ += ["TextVectorization"]
from polykeras.layers.preprocessing.color import (  # noqa: E402
    Equalization, RandomColorDegeneration, RandomColorJitter, RandomGaussianBlur, RandomHue, RandomSaturation,
    RandomSharpness,
)

__all__ += ["Equalization", "RandomColorDegeneration", "RandomColorJitter", "RandomGaussianBlur", "RandomHue",
            "RandomSaturation", "RandomSharpness"]
from polykeras.layers.preprocessing.warps import RandomElasticTransform, RandomPerspective, RandomShear  # noqa: E402

__all__ += ["RandomElasticTransform", "RandomPerspective", "RandomShear"]
from polykeras.layers.preprocessing.mixing import CutMix, MaxNumBoundingBoxes, RandomErasing  # noqa: E402

__all__ += ["CutMix", "MaxNumBoundingBoxes", "RandomErasing"]
from polykeras.layers.preprocessing.clahe import ContrastLimitedAdaptiveHistogramEqualization  # noqa: E402

__all__ += ["ContrastLimitedAdaptiveHistogramEqualization"]
from polykeras.layers.preprocessing.policies import AugMix, RandAugment  # noqa: E402

__all__ += ["AugMix", "RandAugment"]
# keras.utils.FeatureSpace (a layer, registered for saving; not a keras.layers name)
from polykeras.layers.preprocessing import feature_space as _feature_space  # noqa: E402, F401
