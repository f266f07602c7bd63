"""Core layers."""

from polykeras.layers.core.dense import Dense

__all__ = ["Dense"]
