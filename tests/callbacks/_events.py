"""Read TensorBoard event files back (TFRecord framing + the Event protobuf
bundled with tensorboardX), checking every record's CRC32C as TensorBoard does."""

from __future__ import annotations

import glob
import os
import struct
from typing import Any

import numpy as np

from polykeras.callbacks.tensorboard import import_tensorboardx


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def _masked_crc(data: bytes) -> int:
    c = 0xFFFFFFFF
    for byte in data:
        c = _TABLE[(c ^ byte) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(directory: str) -> list[Any]:
    """Every Event in the event files of ``directory``, in file order."""
    import_tensorboardx()
    from tensorboardX.proto.event_pb2 import Event

    events = []
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        at = 0
        while at < len(data):
            header = data[at:at + 8]
            (length,) = struct.unpack("<Q", header)
            assert struct.unpack("<I", data[at + 8:at + 12])[0] == _masked_crc(header), "bad length CRC"
            body = data[at + 12:at + 12 + length]
            assert struct.unpack("<I", data[at + 12 + length:at + 16 + length])[0] == _masked_crc(body), "bad CRC"
            events.append(Event.FromString(body))
            at += 16 + length
    return events


def scalars(directory: str) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] of the scalar summaries in ``directory``."""
    out: dict[str, list[tuple[int, float]]] = {}
    for event in read_events(directory):
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def tags_of_kind(directory: str, kind: str) -> dict[str, list[int]]:
    """tag -> steps of the summaries whose value is ``kind`` ("histo", "image", "tensor")."""
    out: dict[str, list[int]] = {}
    for event in read_events(directory):
        for value in event.summary.value:
            if value.WhichOneof("value") == kind:
                out.setdefault(value.tag, []).append(event.step)
    return out


def histogram_count(directory: str, tag: str) -> float:
    for event in read_events(directory):
        for value in event.summary.value:
            if value.tag == tag:
                return float(value.histo.num)
    return float(np.nan)
