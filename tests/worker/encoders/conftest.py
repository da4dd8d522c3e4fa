"""Shared sample data for the encoder tests: a table of every type family, and a batch source that fails."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest


class SourceFailed(RuntimeError):
    """What the failing batch source raises midway."""


def batch_of(columns: Any, schema: pa.Schema | None = None) -> pa.RecordBatch:
    """``pa.record_batch`` from a dict or list of Python lists (typed loosely: the stubs want Arrow arrays)."""
    if schema is None:
        return pa.record_batch(columns)
    return pa.record_batch(columns, schema=schema)


def schema_of(fields: list[tuple[str, Any]]) -> pa.Schema:
    """``pa.schema`` from (name, type) pairs."""
    return pa.schema([pa.field(name, type_) for name, type_ in fields])


def failing(batches: list[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Yield ``batches``, then raise :class:`SourceFailed` as a scan error midway would."""
    yield from batches
    raise SourceFailed("the source failed midway")


def collect_until_error(chunks: Iterator[bytes]) -> bytes:
    """Everything an encoder yielded before the source failed (the failure must propagate)."""
    received = bytearray()

    def drain() -> None:
        for chunk in chunks:
            received.extend(chunk)

    with pytest.raises(SourceFailed):
        drain()
    return bytes(received)


def all_types_batch() -> pa.RecordBatch:
    """Three rows covering every type family the dialect names, with nulls and awkward values."""
    utc = dt.UTC
    return batch_of(
        {
            "int": pa.array([1, None, 2**63 - 1], pa.int64()),
            "float": pa.array([1.0, float("nan"), 0.1], pa.float64()),
            "inf": pa.array([float("inf"), float("-inf"), None], pa.float64()),
            "bool": pa.array([True, False, None]),
            "text": pa.array(['say "hi", then go', "", None]),
            "date": pa.array([dt.date(2024, 1, 31), None, dt.date(1, 1, 1)], pa.date32()),
            "ts": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 600000), None, None], pa.timestamp("ms")),
            "tstz": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc), None, None], pa.timestamp("s", "UTC")),
            "dec": pa.array(
                [decimal.Decimal("12345678901234567890.12"), None, decimal.Decimal("-0.50")], pa.decimal128(22, 2)
            ),
            "list": pa.array([[1, 2], None, []], pa.list_(pa.int64())),
            "struct": pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": 'q"'}]),
            "bin": pa.array([b"\x00\xff", None, b""], pa.binary()),
            "dict": pa.array(["red", "blue", None]).dictionary_encode(),
        }
    )
