"""Boston housing prices (StatLib): 506 samples of 13 features. Keras warns
the data has an ethical problem (feature "B"); use it only to illustrate that."""

from __future__ import annotations

from polykeras.datasets._common import KERAS_DATASETS, check_test_split, fetch, load_npz, shuffled_split

_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113) -> tuple[tuple, tuple]:
    """``(x_train, y_train), (x_test, y_test)``: ``(n, 13)`` features and
    ``(n,)`` prices in k$, shuffled with ``seed``, split at ``1 - test_split``.

    Example: ``(x_train, y_train), _ = boston_housing.load_data()``
    """
    check_test_split(test_split)
    f = load_npz(fetch(path, KERAS_DATASETS + "boston_housing.npz", _HASH))
    return shuffled_split(f["x"], f["y"], test_split, seed)
