"""``keras.ops.rearrange``: einops-style axis rearrangement, one reshape,
one transpose and one reshape of the active engine.

A pattern names each input axis once (``"b h w c -> b c h w"``); a group in
parentheses is several axes merged into one (``"b h w c -> b (h w c)"``) or,
on the left, one axis split into several, all but one of their lengths given
as keywords (``"(h h1) w -> h (w h1)", h1=2``). The output names the same
axes, each once.

Example:
    >>> from polykeras import ops
    >>> ops.shape(ops.rearrange(ops.zeros((2, 3, 4)), "a b c -> c (a b)"))
    (4, 6)
"""

from __future__ import annotations

import re
from typing import Any

from polykeras.backends import active
from polykeras.ops._dispatch import OpError, OpSpec, op

Tensor = Any
_TOKEN = re.compile(r"\(\s*[\w\s]*\)|\w+|\S")


def _groups(side: str, text: str, pattern: str) -> list[list[str]]:
    groups: list[list[str]] = []
    for token in _TOKEN.findall(text):
        if token.startswith("("):
            names = token[1:-1].split()
        elif re.fullmatch(r"[A-Za-z_]\w*", token):
            names = [token]
        else:
            raise OpError(f"rearrange: expected axis names and (groups) of them on each side of '->', received "
                          f"{token!r} on the {side} of {pattern!r}.")
        groups.append(names)
    return groups


def _plan(pattern: str, shape: tuple[int | None, ...], lengths: dict[str, int]
          ) -> tuple[list[int | None], list[int], list[int | None]]:
    """The split shape, the permutation and the output shape of ``pattern``
    on ``shape`` (``None`` for unknown sizes)."""
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise OpError(f"rearrange: expected a pattern 'input axes -> output axes', received {pattern!r}.")
    left, right = pattern.split("->")
    inputs, outputs = _groups("left", left, pattern), _groups("right", right, pattern)
    if len(inputs) != len(shape):
        raise OpError(f"rearrange: expected a tensor of rank {len(inputs)} for {pattern!r}, received shape "
                      f"{shape}.")
    names = [n for g in inputs for n in g]
    out_names = [n for g in outputs for n in g]
    if len(set(names)) != len(names) or sorted(names) != sorted(out_names) or len(set(out_names)) != len(out_names):
        raise OpError(f"rearrange: expected the same axis names, each once, on both sides of {pattern!r}.")
    unknown = sorted(set(lengths) - set(names))
    if unknown:
        raise OpError(f"rearrange: expected lengths only of the pattern's axes, received {unknown} for {pattern!r}.")
    sizes: dict[str, int | None] = {}
    for group, dim in zip(inputs, shape):
        if len(group) == 1 and group[0] not in lengths:
            sizes[group[0]] = dim
            continue
        missing = [n for n in group if n not in lengths]
        if len(missing) > 1:
            raise OpError(f"rearrange: expected the lengths of all but one axis of ({' '.join(group)}) as keywords, "
                          f"received {lengths} for {pattern!r}.")
        known = 1
        for n in group:
            if n in lengths:
                known *= int(lengths[n])
                sizes[n] = int(lengths[n])
        if missing:
            if dim is not None and (known == 0 or dim % known):
                raise OpError(f"rearrange: expected axis ({' '.join(group)}) of a length divisible by {known}, "
                              f"received {dim} in {pattern!r}.")
            sizes[missing[0]] = None if dim is None else dim // known
        elif dim is not None and dim != known:
            raise OpError(f"rearrange: expected axis ({' '.join(group)}) of length {known}, received {dim} in "
                          f"{pattern!r}.")

    def product(group: list[str]) -> int | None:
        total: int | None = 1
        for n in group:
            size = sizes[n]
            total = None if total is None or size is None else total * size
        return total

    split = [sizes[n] for n in names]
    return split, [names.index(n) for n in out_names], [product(g) for g in outputs]


def _rearrange_spec(tensor: Any, pattern: str, **axes_lengths: int) -> OpSpec:
    return OpSpec(tuple(_plan(pattern, tuple(tensor.shape), axes_lengths)[2]), str(tensor.dtype))


@op("a tensor and an einops pattern naming each of its axes once", body=True, spec=_rearrange_spec)
def rearrange(tensor: Tensor, pattern: str, **axes_lengths: int) -> Tensor:
    """Reorder, merge and split axes by an einops pattern (see the module
    docstring); ``axes_lengths`` give the lengths of split axes.

    Example: ``ops.rearrange(images, "b h w c -> b c h w")``
    """
    engine = active()
    x = engine.convert_to_tensor(tensor)
    shape = tuple(engine.shape(x))
    split, order, out = _plan(pattern, shape, axes_lengths)
    if tuple(split) != shape:
        x = engine.reshape(x, [-1 if d is None else d for d in split])
    if order != sorted(order):
        x = engine.transpose(x, order)
    if tuple(out) != tuple(engine.shape(x)):
        x = engine.reshape(x, [-1 if d is None else d for d in out])
    return x


__all__ = ["rearrange"]
