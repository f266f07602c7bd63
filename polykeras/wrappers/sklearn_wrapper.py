"""scikit-learn wrappers (Keras 3.15's ``SKLearnClassifier``,
``SKLearnRegressor``, ``SKLearnTransformer``): a compiled model, or a callable
building one from ``X``, ``y`` and ``model_kwargs``, trained by ``fit`` and
used by ``predict``/``transform``. They only call ``Model.fit``/``predict``,
so they run on every engine that trains; scikit-learn does the input checks
(``validate_data``), the target encoding and the estimator protocol.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the classes still import; using them says what to install
    sklearn = None

    class BaseEstimator:  # type: ignore[no-redef]
        pass

    class ClassifierMixin:  # type: ignore[no-redef]
        pass

    class RegressorMixin:  # type: ignore[no-redef]
        pass

    class TransformerMixin:  # type: ignore[no-redef]
        pass


__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def _require_sklearn(owner: str) -> None:
    if sklearn is None:
        raise ImportError(f"{owner} needs scikit-learn: pip install scikit-learn.")


def _validate(estimator: Any, *args: Any, **kwargs: Any) -> Any:
    from sklearn.utils.validation import validate_data

    return validate_data(estimator, *args, **kwargs)


def _type_of_target(y: Any) -> str:
    from sklearn.utils.multiclass import type_of_target

    kind = type_of_target(y)
    if kind == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return kind


class _TargetReshaper(TransformerMixin, BaseEstimator):
    """1-D targets as a column (what OneHotEncoder takes), and back."""

    def fit(self, y: np.ndarray) -> _TargetReshaper:
        self.ndim_ = y.ndim
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y: np.ndarray) -> np.ndarray:
        return np.squeeze(y, axis=1) if self.ndim_ == 1 and y.ndim == 2 else y


class _SKLBase(BaseEstimator):
    """What the three wrappers share (Keras 3.15's arguments and attributes).

    Args:
        model: a compiled ``Model`` (cloned before each fit unless
            ``warm_start``), or a callable ``model(X=..., y=..., **model_kwargs)``
            returning a compiled one.
        warm_start: reuse the fitted model (and its weights) on the next fit.
        model_kwargs: keyword arguments for a callable ``model``.
        fit_kwargs: keyword arguments for ``Model.fit``; those given to
            :meth:`fit` take precedence.

    Attributes:
        model_: the fitted model.
        history_: the ``History`` of the last fit.
    """

    def __init__(self, model: Any, warm_start: bool = False, model_kwargs: dict[str, Any] | None = None,
                 fit_kwargs: dict[str, Any] | None = None) -> None:
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self) -> _SKLBase:
        model = self.model if callable(self.model) and not _is_model(self.model) else copy.deepcopy(self.model)
        return type(self)(model=model, warm_start=self.warm_start, model_kwargs=self.model_kwargs,
                          fit_kwargs=self.fit_kwargs)

    def __getstate__(self) -> dict[str, Any]:
        # Models are pickled as the bytes of a polykeras archive (config, weights,
        # compile config, optimizer state), never by pickling engine objects.
        from polykeras.saving.archive import archive_bytes

        state = dict(self.__dict__)
        for key in ("model", "model_"):
            if _is_model(state.get(key)):
                state[key] = _ArchivedModel(archive_bytes(state[key]))
        history = state.get("history_")
        if history is not None and getattr(history, "model", None) is not None:
            history = copy.copy(history)
            history.set_model(None)
            state["history_"] = history
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        from polykeras.saving.archive import load_model_bytes

        for key in ("model", "model_"):
            if isinstance(state.get(key), _ArchivedModel):
                state[key] = load_model_bytes(state[key].data, where=f"{type(self).__name__}.{key} (unpickled)")
        if state.get("history_") is not None and state.get("model_") is not None:
            state["history_"].set_model(state["model_"])
        self.__dict__.update(state)

    @property
    def epoch_(self) -> Any:
        """The epochs of the last fit (``history_.epoch``), 0 before any."""
        history = getattr(self, "history_", None)
        return getattr(history, "epoch", 0) if history is not None else 0

    def _get_model(self, X: np.ndarray, y: np.ndarray) -> Any:
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if _is_model(self.model):
            if self.warm_start:
                return self.model
            from polykeras.models import clone_model

            return clone_model(self.model)
        if not callable(self.model):
            raise TypeError(f"{type(self).__name__}: expected `model` to be a compiled Model or a callable "
                            f"returning one, received {type(self.model).__name__}.")
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X: Any, y: Any, **kwargs: Any) -> _SKLBase:
        """Fit the model on ``X`` (n_samples, n_features) and ``y``;
        ``kwargs`` go to ``Model.fit``.

        Example: ``est.fit(X, y, epochs=5)``
        """
        X, y = _validate(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None \
                or getattr(model, "_compile_loss", None) is None:
            raise RuntimeError(f"{type(self).__name__}: expected a compiled model with a loss and an optimizer, "
                               f"received {type(model).__name__} {getattr(model, 'name', '')!r} that is not. "
                               "Call model.compile(optimizer=..., loss=...) first.")
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The model's predictions for ``X`` (classifiers: the labels).

        Example: ``est.predict(X[:5])``
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return self._reverse_process_target(np.asarray(self.model_.predict(X)))

    def _process_target(self, y: np.ndarray, reset: bool = False) -> np.ndarray:
        _type_of_target(y)
        if reset:
            self._target_encoder = _TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _reverse_process_target(self, y: np.ndarray) -> np.ndarray:
        return self._target_encoder.inverse_transform(y)


class _ArchivedModel:
    """A model inside a pickled wrapper: the bytes of its archive."""

    def __init__(self, data: bytes) -> None:
        self.data = data


def _is_model(value: Any) -> bool:
    from polykeras.models import Model

    return isinstance(value, Model)


class SKLearnClassifier(ClassifierMixin, _SKLBase):
    """A scikit-learn classifier around a polykeras model: labels are one-hot
    encoded for the model, and ``predict`` turns its outputs back into labels.

    Args: as Keras 3.15's: ``model``, ``warm_start=False``,
    ``model_kwargs=None``, ``fit_kwargs=None`` (see the module's base).

    Attributes:
        model_, history_, classes_ (the labels seen by ``fit``).

    Example:
        >>> def make_model(X, y, loss):
        ...     inputs = Input((X.shape[1],))
        ...     model = Model(inputs, layers.Dense(y.shape[1], activation="softmax")(inputs))
        ...     model.compile(loss=loss, optimizer="rmsprop")
        ...     return model
        >>> clf = SKLearnClassifier(make_model, model_kwargs={"loss": "categorical_crossentropy"})
        >>> clf.fit(X, y, epochs=5).predict(X[:2])
    """

    def decision_function(self, X: Any) -> np.ndarray:
        """The model's raw outputs for ``X`` (probabilities or logits).

        Example: ``clf.decision_function(X[:2]).shape`` -> ``(2, n_classes)``
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return np.asarray(self.model_.predict(X))

    def _process_target(self, y: np.ndarray, reset: bool = False) -> np.ndarray:
        kind = _type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__}: only binary and multiclass target types are supported; "
                             f"received target type {kind!r}.")
        if reset:
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import OneHotEncoder

            self._target_encoder = make_pipeline(_TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError(f"{type(self).__name__}: expected at least two classes in y, received only "
                                 f"{self.classes_[0]!r}. A classifier can't train on one class.")
        return self._target_encoder.transform(y)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, _SKLBase):
    """A scikit-learn regressor around a polykeras model (targets passed as
    given; a 1-D ``y`` is a column for the model and 1-D again from ``predict``).

    Args: as Keras 3.15's: ``model``, ``warm_start=False``,
    ``model_kwargs=None``, ``fit_kwargs=None``.

    Example:
        >>> reg = SKLearnRegressor(make_model, model_kwargs={"loss": "mse"})
        >>> reg.fit(X, y).score(X, y)
    """


class SKLearnTransformer(TransformerMixin, _SKLBase):
    """A scikit-learn transformer around a polykeras model: ``transform``
    returns the model's outputs (e.g. an encoder's features); ``fit`` trains
    it on ``X`` and ``y``.

    Args: as Keras 3.15's: ``model``, ``warm_start=False``,
    ``model_kwargs=None``, ``fit_kwargs=None``.

    Example:
        >>> features = SKLearnTransformer(make_encoder, model_kwargs={"loss": "mse"}).fit(X, y).transform(X)
    """

    def transform(self, X: Any) -> np.ndarray:
        """The model's outputs for ``X``.

        Example: ``trs.transform(X[:3])``
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return np.asarray(self.model_.predict(X))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
