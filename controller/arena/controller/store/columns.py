"""Column types of the tables that SQLAlchemy does not have: chunk times packed as float64."""

from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from arena.common.schemas.packed import pack_floats, unpack_floats


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
