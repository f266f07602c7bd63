"""Stable string hashes, the ones Keras 3's hashing layers get from TensorFlow,
written with NumPy so every engine gives the same bins without TensorFlow:

- :func:`fingerprint64`: FarmHash's ``Fingerprint64`` (farmhashna's
  ``Hash64``), behind ``tf.strings.to_hash_bucket_fast`` (``Hashing``
  without salt, the lookups' OOV buckets);
- :func:`siphash24`: SipHash-2-4 with a 128-bit key, behind
  ``tf.strings.to_hash_bucket_strong`` (``Hashing`` with a salt);
- :func:`fingerprint_cat64`: TensorFlow's ``FingerprintCat64``, which
  ``tf.sparse.cross_hashed`` folds feature hashes with (``HashedCrossing``).

The strings are hashed as UTF-8 bytes, grouped by length, and each group is
hashed at once with ``uint64`` array arithmetic (wrapping, as in C), so the
cost is a few dozen vector operations per distinct length.

Example:
    >>> hash_bucket(["A", "B", "C"], 3).tolist()      # tf.strings.to_hash_bucket_fast
    [1, 0, 1]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["fingerprint64", "fingerprint_cat64", "hash_bucket", "siphash24", "to_bytes"]

_U64 = np.uint64
_K0 = _U64(0xC3A5C85C97CB3127)
_K1 = _U64(0xB492B66FBE98F273)
_K2 = _U64(0x9AE16A3B2F90404F)
_KMUL = _U64(0x9DDFEA08EB382D69)
_CAT_MUL = _U64(0xC6A4A7935BD1E995)


def _rot(value: np.ndarray, shift: int) -> np.ndarray:
    """64-bit rotate right."""
    return (value >> _U64(shift)) | (value << _U64(64 - shift))


def _rotl(value: np.ndarray, shift: int) -> np.ndarray:
    return (value << _U64(shift)) | (value >> _U64(64 - shift))


def _shift_mix(value: np.ndarray) -> np.ndarray:
    return value ^ (value >> _U64(47))


def _hash_len16(u: np.ndarray, v: np.ndarray, mul: Any) -> np.ndarray:
    a = _shift_mix((u ^ v) * mul)
    b = _shift_mix((v ^ a) * mul)
    return b * mul


def _fetch64(block: np.ndarray, at: int) -> np.ndarray:
    """Little-endian uint64 at byte ``at`` of each row of a ``(n, length)`` uint8 array."""
    return np.ascontiguousarray(block[:, at:at + 8]).view("<u8")[:, 0].astype(_U64)


def _fetch32(block: np.ndarray, at: int) -> np.ndarray:
    return np.ascontiguousarray(block[:, at:at + 4]).view("<u4")[:, 0].astype(_U64)


def _weak_hash32(block: np.ndarray, at: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, x, y, z = (_fetch64(block, at + 8 * i) for i in range(4))
    a = a + w
    b = _rot(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rot(a, 44)
    return a + z, b + c


def _farm_group(block: np.ndarray) -> np.ndarray:
    """Fingerprint64 of each row of ``block`` (all rows one byte length)."""
    n, length = block.shape
    size = np.full(n, length, _U64)
    if length == 0:
        return np.full(n, _K2, _U64)
    if length <= 3:
        a, b, c = (block[:, i].astype(_U64) for i in (0, length >> 1, length - 1))
        y = a + (b << _U64(8))
        z = size + (c << _U64(2))
        return _shift_mix((y * _K2) ^ (z * _K0)) * _K2
    mul = _K2 + size * _U64(2)
    if length < 8:
        a = _fetch32(block, 0)
        return _hash_len16(size + (a << _U64(3)), _fetch32(block, length - 4), mul)
    if length <= 16:
        a = _fetch64(block, 0) + _K2
        b = _fetch64(block, length - 8)
        c = _rot(b, 37) * mul + a
        d = (_rot(a, 25) + b) * mul
        return _hash_len16(c, d, mul)
    if length <= 32:
        a = _fetch64(block, 0) * _K1
        b = _fetch64(block, 8)
        c = _fetch64(block, length - 8) * mul
        d = _fetch64(block, length - 16) * _K2
        return _hash_len16(_rot(a + b, 43) + _rot(c, 30) + d, a + _rot(b + _K2, 18) + c, mul)
    if length <= 64:
        a = _fetch64(block, 0) * _K2
        b = _fetch64(block, 8)
        c = _fetch64(block, length - 8) * mul
        d = _fetch64(block, length - 16) * _K2
        y = _rot(a + b, 43) + _rot(c, 30) + d
        z = _hash_len16(y, a + _rot(b + _K2, 18) + c, mul)
        e = _fetch64(block, 16) * mul
        f = _fetch64(block, 24)
        g = (y + _fetch64(block, length - 32)) * mul
        h = (z + _fetch64(block, length - 24)) * mul
        return _hash_len16(_rot(e + f, 43) + _rot(g, 30) + h, e + _rot(f + a, 18) + g, mul)
    return _farm_long(block)


def _farm_long(block: np.ndarray) -> np.ndarray:
    n, length = block.shape
    zero = np.zeros(n, _U64)
    x = np.full(n, 81, _U64)  # the seed
    y = np.full(n, (81 * int(_K1) + 113) & 0xFFFFFFFFFFFFFFFF, _U64)
    z = _shift_mix(y * _K2 + _U64(113)) * _K2
    v0, v1, w0, w1 = zero, zero, zero, zero
    x = x * _K2 + _fetch64(block, 0)
    for at in range(0, ((length - 1) // 64) * 64, 64):
        x = _rot(x + y + v0 + _fetch64(block, at + 8), 37) * _K1
        y = _rot(y + v1 + _fetch64(block, at + 48), 42) * _K1
        x = x ^ w1
        y = y + v0 + _fetch64(block, at + 40)
        z = _rot(z + w0, 33) * _K1
        v0, v1 = _weak_hash32(block, at, v1 * _K1, x + w0)
        w0, w1 = _weak_hash32(block, at + 32, z + w1, y + _fetch64(block, at + 16))
        x, z = z, x
    mul = _K1 + ((z & _U64(0xFF)) << _U64(1))
    at = length - 64
    w0 = w0 + _U64((length - 1) & 63)
    v0 = v0 + w0
    w0 = w0 + v0
    x = _rot(x + y + v0 + _fetch64(block, at + 8), 37) * mul
    y = _rot(y + v1 + _fetch64(block, at + 48), 42) * mul
    x = x ^ (w1 * _U64(9))
    y = y + v0 * _U64(9) + _fetch64(block, at + 40)
    z = _rot(z + w0, 33) * mul
    v0, v1 = _weak_hash32(block, at, v1 * mul, x + w0)
    w0, w1 = _weak_hash32(block, at + 32, z + w1, y + _fetch64(block, at + 16))
    x, z = z, x
    return _hash_len16(_hash_len16(v0, w0, mul) + _shift_mix(y) * _K0 + z, _hash_len16(v1, w1, mul) + x, mul)


def _sip_round(v0: np.ndarray, v1: np.ndarray, v2: np.ndarray, v3: np.ndarray) -> tuple[np.ndarray, ...]:
    v0 = v0 + v1
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = v2 + v3
    v3 = _rotl(v3, 16) ^ v2
    v0 = v0 + v3
    v3 = _rotl(v3, 21) ^ v0
    v2 = v2 + v1
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _sip_group(block: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    n, length = block.shape
    k0, k1 = (_U64(k & 0xFFFFFFFFFFFFFFFF) for k in key)
    v0 = np.full(n, k0 ^ _U64(0x736F6D6570736575), _U64)
    v1 = np.full(n, k1 ^ _U64(0x646F72616E646F6D), _U64)
    v2 = np.full(n, k0 ^ _U64(0x6C7967656E657261), _U64)
    v3 = np.full(n, k1 ^ _U64(0x7465646279746573), _U64)
    full = length - length % 8
    tail = np.zeros((n, 8), np.uint8)
    tail[:, :length - full] = block[:, full:]
    last = np.ascontiguousarray(tail).view("<u8")[:, 0].astype(_U64) | _U64((length & 0xFF) << 56)
    words = [_fetch64(block, at) for at in range(0, full, 8)] + [last]
    for m in words:
        v3 = v3 ^ m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 = v0 ^ m
    v2 = v2 ^ _U64(0xFF)
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def to_bytes(values: Iterable[Any], encoding: str = "utf-8") -> list[bytes]:
    """Each value as the bytes TensorFlow hashes: strings encoded,
    bytes as they are, integers in decimal (``tf.strings.as_string``)."""
    out = []
    for value in values:
        if isinstance(value, bytes):
            out.append(value)
        elif isinstance(value, str):
            out.append(value.encode(encoding))
        elif isinstance(value, (bool, np.bool_)):
            out.append(b"true" if value else b"false")
        else:
            out.append(str(int(value)).encode("ascii"))
    return out


def _by_length(data: Sequence[bytes], hash_group: Any) -> np.ndarray:
    out = np.empty(len(data), _U64)
    lengths = np.fromiter((len(b) for b in data), np.int64, count=len(data))
    for length in np.unique(lengths).tolist():
        where = np.flatnonzero(lengths == length)
        joined = b"".join(data[i] for i in where.tolist())
        block = np.frombuffer(joined, np.uint8).reshape(where.size, length)
        out[where] = hash_group(block)
    return out


def fingerprint64(data: Sequence[bytes]) -> np.ndarray:
    """FarmHash ``Fingerprint64`` of each byte string, as ``uint64``.

    Example:
        >>> hex(int(fingerprint64([b""])[0]))
        '0x9ae16a3b2f90404f'
    """
    return _by_length(list(data), _farm_group)


def siphash24(data: Sequence[bytes], key: tuple[int, int]) -> np.ndarray:
    """SipHash-2-4 of each byte string under the 128-bit ``key`` (two
    64-bit halves, ``k0`` then ``k1``), as ``uint64``.

    Example:
        >>> siphash24([b"abc"], (133, 137)).dtype
        dtype('uint64')
    """
    return _by_length(list(data), lambda block: _sip_group(block, key))


def fingerprint_cat64(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """TensorFlow's ``FingerprintCat64(first, second)`` on ``uint64`` arrays.

    Example:
        >>> fingerprint_cat64(np.array([1], np.uint64), np.array([2], np.uint64)).dtype
        dtype('uint64')
    """
    first, second = np.asarray(first, _U64), np.asarray(second, _U64)
    result = first ^ _CAT_MUL
    result = result ^ (_shift_mix(second * _CAT_MUL) * _CAT_MUL)
    result = result * _CAT_MUL
    return _shift_mix(_shift_mix(result) * _CAT_MUL)


def hash_bucket(values: Iterable[Any], num_buckets: int, salt: tuple[int, int] | None = None,
                encoding: str = "utf-8") -> np.ndarray:
    """``values`` (strings, bytes or integers) hashed into ``[0, num_buckets)``
    as int64: FarmHash Fingerprint64 without ``salt`` (TensorFlow's
    ``to_hash_bucket_fast``), SipHash-2-4 keyed by ``salt`` with it
    (``to_hash_bucket_strong``).

    Example:
        >>> hash_bucket([7, 8], 5).shape
        (2,)
    """
    data = to_bytes(values, encoding)
    hashed = fingerprint64(data) if salt is None else siphash24(data, salt)
    return (hashed % _U64(num_buckets)).astype(np.int64)
