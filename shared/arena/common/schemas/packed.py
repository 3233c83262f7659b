"""A list of floats as packed little-endian float64: how chunk times travel and are stored.

A sample carries one time per output token, hundreds each; as JSON they were most of what
ingest wrote (~18 bytes and one float object per time). Packed, they are 8 bytes each, written
and read back bit for bit (a signed manifest's digest still matches), and the controller stores
the bytes an agent sent without ever making a Python float of them (its column type,
``PackedFloats``, is the store's: ``arena.controller.store.columns``).
"""

import numpy as np

FLOAT64 = np.dtype("<f8")


def pack_floats(values: list[float]) -> bytes:
    return np.asarray(values, dtype=FLOAT64).tobytes()


def unpack_floats(packed: bytes) -> list[float]:
    """The floats back; a length that is not a whole number of float64 is a ValueError."""
    if len(packed) % FLOAT64.itemsize:
        raise ValueError(f"{len(packed)} bytes is not a whole number of float64 values")
    return np.frombuffer(packed, dtype=FLOAT64).tolist()  # type: ignore[no-any-return]
