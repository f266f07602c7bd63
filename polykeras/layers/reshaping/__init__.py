"""Reshaping layers."""

from polykeras.layers.reshaping.flatten import Flatten

__all__ = ["Flatten"]
