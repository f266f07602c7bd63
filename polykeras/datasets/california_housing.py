"""California housing (1990 census): 20,640 districts of 8 features."""

from __future__ import annotations

from polykeras.datasets._common import KERAS_DATASETS, check_test_split, fetch, load_npz, shuffled_split

_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version: str = "large", path: str = "california_housing.npz", test_split: float = 0.2,
              seed: int = 113) -> tuple[tuple, tuple]:
    """``(x_train, y_train), (x_test, y_test)``: ``(n, 8)`` features and
    ``(n,)`` median house values; ``version="small"`` keeps the first 600.

    Example: ``(x_train, y_train), _ = california_housing.load_data(version="small")``
    """
    if version not in ("large", "small"):
        raise ValueError(f"california_housing.load_data: expected version 'large' or 'small', received "
                         f"{version!r}.")
    check_test_split(test_split)
    f = load_npz(fetch(path, KERAS_DATASETS + "california_housing.npz", _HASH))
    x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    return shuffled_split(x, y, test_split, seed)
