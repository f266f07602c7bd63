"""``keras.wrappers``: scikit-learn estimators around polykeras models.

Example:
    >>> from polykeras.wrappers import SKLearnClassifier
    >>> clf = SKLearnClassifier(model=make_model, model_kwargs={"loss": "categorical_crossentropy"})
    >>> clf.fit(X, y, epochs=5).predict(X[:3])
"""

from polykeras.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
