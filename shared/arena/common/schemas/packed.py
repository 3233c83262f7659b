"""A list of floats as packed little-endian float64: how chunk times travel and are stored.

A sample carries one time per output token, hundreds each; as JSON they were most of what
ingest wrote (~18 bytes and one float object per time). Packed, they are 8 bytes each, written
and read back bit for bit (a signed manifest's digest still matches), and the controller stores
the bytes an agent sent without ever making a Python float of them (its column type,
``PackedFloats``, is the store's: ``arena.controller.store.columns``). The standard library's
``array`` does it, so the wire and the client need no NumPy for it.
"""

import sys
from array import array

FLOAT64 = "<f8"
"""The packed format as a NumPy dtype string, for code that reads packed times in bulk."""
FLOAT64_BYTES = 8


def pack_floats(values: list[float]) -> bytes:
    packed = array("d", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack_floats(packed: bytes) -> list[float]:
    """The floats back; a length that is not a whole number of float64 is a ValueError."""
    if len(packed) % FLOAT64_BYTES:
        raise ValueError(f"{len(packed)} bytes is not a whole number of float64 values")
    values = array("d")
    values.frombytes(packed)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()
