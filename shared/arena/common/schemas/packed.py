"""A list of floats as packed little-endian float64: how chunk times travel and are stored.

A sample carries one time per output token, hundreds each; as JSON they were most of what
ingest wrote (~18 bytes and one float object per time). Packed, they are 8 bytes each, written
and read back bit for bit (a signed manifest's digest still matches), and the controller stores
the bytes an agent sent without ever making a Python float of them.
"""

from typing import Any

import numpy as np
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

FLOAT64 = np.dtype("<f8")


def pack_floats(values: list[float]) -> bytes:
    return np.asarray(values, dtype=FLOAT64).tobytes()


def unpack_floats(packed: bytes) -> list[float]:
    """The floats back; a length that is not a whole number of float64 is a ValueError."""
    if len(packed) % FLOAT64.itemsize:
        raise ValueError(f"{len(packed)} bytes is not a whole number of float64 values")
    return np.frombuffer(packed, dtype=FLOAT64).tolist()  # type: ignore[no-any-return]


class PackedFloats(TypeDecorator[list[float]]):
    """A ``list[float]`` column stored as packed float64 (BLOB, bytea). Bytes already packed
    (the ingest path) are stored as they are."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        return pack_floats(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> list[float] | None:
        return None if value is None else unpack_floats(bytes(value))
