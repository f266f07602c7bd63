"""Merge layers."""

from polykeras.layers.merging.functions import (
    add, average, concatenate, dot, maximum, minimum, multiply, subtract,
)
from polykeras.layers.merging.merge import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract", "add", "average",
           "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]
