"""Reading the variable paths a distributed worker reports."""

from __future__ import annotations

from collections.abc import Iterable


def optimizer_name(paths: Iterable[str]) -> str:
    """The optimizer's name: the first part of its step counter's or its slots'
    paths (a worker's second Adam is ``adam_1``).
    Example: ``optimizer_name(["dense/kernel", "adam_1/dense_kernel_momentum"])`` -> ``'adam_1'``"""
    [name] = {p.split("/")[0] for p in paths if p.endswith(("/iteration", "_momentum"))}
    return name
