"""Regularization layers."""

from polykeras.layers.regularization.dropout import Dropout

__all__ = ["Dropout"]
