"""The format table: one entry per format, and the contract every encoder keeps."""

from __future__ import annotations

import pyarrow as pa
import pytest

from edge.contract import Format
from tests.worker.encoders.conftest import batch_of, collect_until_error, failing, schema_of
from worker.encoders import ENCODERS

SCHEMA = schema_of([("entity", pa.int64()), ("name", pa.string()), ("geometry", pa.string())])


def batch(start: int, rows: int) -> pa.RecordBatch:
    return batch_of(
        [list(range(start, start + rows)), [f"n{i}" for i in range(rows)], ["POINT (1 2)"] * rows], schema=SCHEMA
    )


def test_one_entry_per_format() -> None:
    assert set(ENCODERS) == set(Format)


@pytest.mark.parametrize(
    ("fmt", "content_type", "compressible"),
    [
        pytest.param(Format.CSV, "text/csv; charset=utf-8", True, id="csv"),
        pytest.param(Format.JSON, "application/json", True, id="json"),
        pytest.param(Format.NDJSON, "application/x-ndjson", True, id="ndjson"),
        pytest.param(Format.PARQUET, "application/vnd.apache.parquet", False, id="parquet"),
        pytest.param(Format.GEOJSON, "application/geo+json", True, id="geojson"),
    ],
)
def test_specs(fmt: Format, content_type: str, compressible: bool) -> None:
    spec = ENCODERS[fmt]
    assert (spec.content_type, spec.extension, spec.compressible) == (content_type, fmt.value, compressible)


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f.value) for f in Format])
def test_nothing_is_yielded_before_the_first_batch(fmt: Format) -> None:
    assert collect_until_error(ENCODERS[fmt].encoder(SCHEMA, failing([]))) == b""


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f.value) for f in Format])
def test_a_midway_failure_propagates_and_truncates(fmt: Format) -> None:
    rows = 70_000 if fmt is Format.PARQUET else 3_000  # Parquet streams once a row group is full
    batches = [batch(i * rows, rows) for i in range(2)]
    complete = b"".join(ENCODERS[fmt].encoder(SCHEMA, iter(batches)))
    partial = collect_until_error(ENCODERS[fmt].encoder(SCHEMA, failing(batches)))
    assert partial
    if fmt in (Format.CSV, Format.NDJSON):
        # No closing bytes to withhold: whole rows may all have gone out; the transport marks the failure.
        assert complete.startswith(partial)
    else:
        assert len(partial) < len(complete)
        assert complete.startswith(partial) or fmt is Format.PARQUET


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f.value) for f in Format])
def test_chunks_are_never_empty_and_deterministic(fmt: Format) -> None:
    batches = [batch(i * 5_000, 5_000) for i in range(4)]
    chunks = list(ENCODERS[fmt].encoder(SCHEMA, iter(batches)))
    assert all(chunks)
    assert b"".join(chunks) == b"".join(ENCODERS[fmt].encoder(SCHEMA, iter(batches)))
