"""Tests for worker/duckscan.py: DuckDB decodes exactly the pyarrow path's rows, through the pinned reader."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.contract import parse_request
from tests.support.parquet import ORGANISATION_BASE, parquet_bytes, planning_table
from tests.support.s3 import MotoS3
from worker import duckscan, scan
from worker.errors import CorruptSource, SourceChanged
from worker.plan import ScanPlan
from worker.scan import execute, open_parquet, plan_scan
from worker.source import BytesReader, LocalSource, RangeReader, Source, source_from_url

ROWS, GROUP = 10_000, 2_500
# Every organisation in every row group: statistics cannot narrow a filter down, so DuckDB decodes.
SHUFFLED = planning_table(ROWS, rows_per_organisation=100).take([(i * 7919) % ROWS for i in range(ROWS)])
ORG = ORGANISATION_BASE + 17


@pytest.fixture(scope="module")
def shuffled_bytes() -> bytes:
    return parquet_bytes(SHUFFLED, row_group_size=GROUP)


@pytest.fixture
def folder(tmp_path: Path, shuffled_bytes: bytes) -> Path:
    (tmp_path / "shuffled.parquet").write_bytes(shuffled_bytes)
    return tmp_path


class Decoded:
    """One scan through :func:`execute`: its table, its plan, and whether DuckDB decoded it."""

    def __init__(self, source: Source, dataset: str, query: str, monkeypatch: pytest.MonkeyPatch, decoder: str):
        calls: list[ScanPlan] = []
        real = duckscan.scan

        def counted(*args: Any) -> Iterator[pa.RecordBatch]:
            calls.append(args[2])
            return real(*args)

        monkeypatch.setattr(duckscan, "scan", counted)
        monkeypatch.setattr(scan, "DECODER", decoder)
        self.reader = source.open(source.stat(dataset))
        parquet = open_parquet(self.reader)
        request = parse_request("GET", f"/{dataset}.csv", query)
        self.plan = plan_scan(parquet, request)
        self.table = pa.Table.from_batches(list(execute(parquet, self.plan, request)), schema=self.plan.output_schema)
        self.by_duckdb = bool(calls)
        self.reader.close()


def both(source: Source, dataset: str, query: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Decoded, Decoded]:
    """The scan decoded by pyarrow, then as the worker chooses."""
    return (
        Decoded(source, dataset, query, monkeypatch, "pyarrow"),
        Decoded(source, dataset, query, monkeypatch, "auto"),
    )


@pytest.mark.parametrize("at_once", [1, 2])
@pytest.mark.parametrize(
    "query",
    [
        f"organisation-entity={ORG}",
        f"organisation-entity={ORG},{ORG + 40}&quality=some",
        f"fields=geometry,entity&organisation-entity={ORG}",
        "quality=usable,authoritative&fields=name,end-date",
        f"entity={SHUFFLED['entity'][5]}",
        "quality=nothing",  # within the statistics, in no row
    ],
)
def test_duckdb_gives_the_pyarrow_paths_rows_in_file_order(
    folder: Path, query: str, at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", at_once)
    by_pyarrow, chosen = both(LocalSource(folder), "shuffled", query, monkeypatch)
    assert chosen.by_duckdb
    assert not by_pyarrow.by_duckdb
    assert chosen.table.schema.equals(by_pyarrow.table.schema, check_metadata=True)
    assert chosen.table.equals(by_pyarrow.table)
    if "nothing" not in query:
        assert chosen.table.num_rows > 0
    assert (chosen.plan.stats.rows_out, chosen.plan.stats.row_groups_read) == (chosen.table.num_rows, ROWS // GROUP)


# Filters are on the contract's columns (edge/contract.py), here given other types.
TYPES = pa.table(
    {
        "i8": pa.array([1, -2, None, 4] * 50, pa.int8()),
        "entity": pa.array([2**64 - 1, 0, None, 7] * 50, pa.uint64()),
        "f32": pa.array([1.5, float("nan"), None, -0.0] * 50, pa.float32()),
        "f64": pa.array([1e300, float("-inf"), None, 0.1] * 50, pa.float64()),
        "flag": pa.array([True, False, None, True] * 50, pa.bool_()),
        "reference": pa.array(['a "q"; b', "é\n\t\x01", None, "Ω"] * 50, pa.string()),
        "long": pa.array(["x" * 300, "y", None, "z"] * 50, pa.large_string()),
        "raw": pa.array([b"\x00\xff", b"", None, b"abc"] * 50, pa.binary()),
        "quality": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None, dt.date(1970, 1, 1)] * 50, pa.date32()),
        "organisation-entity": pa.array([3, 1, 2, 1] * 50, pa.int32()),
    }
)


@pytest.mark.parametrize(
    "query",
    [
        "organisation-entity=1",
        "organisation-entity=1,3&reference=Ω",
        "reference=a%20%22q%22%3B%20b",
        "entity=18446744073709551615",
        "quality=1970-01-01",
    ],
)
def test_every_type_duckdb_decodes_comes_back_exactly(
    tmp_path: Path, query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "types.parquet").write_bytes(parquet_bytes(TYPES, row_group_size=60))
    by_pyarrow, chosen = both(LocalSource(tmp_path), "types", query, monkeypatch)
    assert chosen.by_duckdb
    assert chosen.table.schema.equals(by_pyarrow.table.schema, check_metadata=True)
    assert bits(chosen.table).equals(bits(by_pyarrow.table))  # NaN is never equal to itself; its bits are
    assert chosen.table.num_rows > 0


def bits(table: pa.Table) -> pa.Table:
    """``table`` with its float columns as the integers of their bits."""
    views = {pa.float32(): pa.int32(), pa.float64(): pa.int64()}
    columns = [c.combine_chunks().view(views[c.type]) if c.type in views else c for c in table.columns]
    return pa.table(columns, names=table.column_names)


def replaced(table: pa.Table, name: str, column: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


REFUSED = {
    "no filter": (SHUFFLED, ""),
    "statistics pruned": (
        planning_table(ROWS, rows_per_organisation=GROUP),
        f"organisation-entity={ORGANISATION_BASE}",
    ),
    "timestamp": (
        SHUFFLED.append_column("at", pa.array([dt.datetime(2024, 1, 2)] * ROWS, pa.timestamp("ms"))),
        "quality=some",
    ),
    "decimal": (SHUFFLED.append_column("d", pa.array([1] * ROWS, pa.decimal128(5, 2))), "quality=some"),
    "dictionary": (replaced(SHUFFLED, "quality", SHUFFLED["quality"].dictionary_encode()), "quality=some"),
    "float filter": (replaced(SHUFFLED, "reference", pa.array([0.1] * ROWS, pa.float32())), "reference=0.1"),
    "names equal ignoring case": (SHUFFLED.append_column("Quality", SHUFFLED["quality"]), "quality=some"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_pyarrow_decodes_what_duckdb_would_not_give_exactly(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table, query = REFUSED[case]
    (tmp_path / "refused.parquet").write_bytes(parquet_bytes(table, row_group_size=GROUP))
    by_pyarrow, chosen = both(LocalSource(tmp_path), "refused", query, monkeypatch)
    assert not chosen.by_duckdb
    assert chosen.table.equals(by_pyarrow.table)
    assert chosen.table.num_rows > 0


def test_scan_decoder_pyarrow_keeps_duckdb_out(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not Decoded(LocalSource(folder), "shuffled", f"organisation-entity={ORG}", monkeypatch, "pyarrow").by_duckdb


def test_duckdb_reads_the_file_once_in_buffers(
    folder: Path, shuffled_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = Decoded(LocalSource(folder), "shuffled", f"organisation-entity={ORG}", monkeypatch, "auto")
    assert chosen.by_duckdb
    metadata = pq.read_metadata(io.BytesIO(shuffled_bytes))
    chunks = metadata.num_row_groups * metadata.num_columns
    # The pyarrow path's footer read (64 KiB) and DuckDB's (the footer range), then every chunk about once.
    assert chosen.reader.bytes_read < len(shuffled_bytes) + 2 * 65_536
    assert chosen.reader.requests <= chunks + 4


def test_s3_reads_go_through_the_pinned_reader(
    moto_s3: MotoS3, shuffled_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = moto_s3.create_bucket(versioned=True)
    moto_s3.client.put_object(Bucket=bucket, Key="sets/shuffled.parquet", Body=shuffled_bytes)
    moto_s3.counter.reset()
    source = source_from_url(f"s3://{bucket}/sets/")
    by_pyarrow, chosen = both(source, "shuffled", f"organisation-entity={ORG}&fields=entity,geometry", monkeypatch)
    assert chosen.by_duckdb
    assert chosen.table.equals(by_pyarrow.table)
    traffic = moto_s3.traffic(bucket, "sets/shuffled.parquet")
    assert traffic.requests == by_pyarrow.reader.requests + chosen.reader.requests + 2  # and two HEADs
    assert traffic.body_bytes == by_pyarrow.reader.bytes_read + chosen.reader.bytes_read


@pytest.fixture
def opened() -> Iterator[list[RangeReader]]:
    """Readers to close after the test."""
    readers: list[RangeReader] = []
    yield readers
    for reader in readers:
        reader.close()


def scan_batches(
    source: Source, dataset: str, query: str, opened: list[RangeReader]
) -> tuple[Iterator[pa.RecordBatch], RangeReader]:
    reader = source.open(source.stat(dataset))
    assert isinstance(reader, RangeReader)
    opened.append(reader)
    parquet = open_parquet(reader)
    request = parse_request("GET", f"/{dataset}.csv", query)
    plan = plan_scan(parquet, request)
    assert duckscan.suits(parquet.metadata, parquet.schema_arrow, plan)
    return execute(parquet, plan, request), reader


# DuckDB reads the footer again, then the chunks: a change after the open fails its first read, as the source says
# (a change between two of its reads is the same read failing).
def test_a_source_replaced_after_the_open_fails_as_the_source_says(
    moto_s3: MotoS3, shuffled_bytes: bytes, opened: list[RangeReader]
) -> None:
    bucket = moto_s3.create_bucket()
    moto_s3.client.put_object(Bucket=bucket, Key="shuffled.parquet", Body=shuffled_bytes)
    batches, _ = scan_batches(source_from_url(f"s3://{bucket}/"), "shuffled", "quality=some", opened)
    moto_s3.client.put_object(
        Bucket=bucket, Key="shuffled.parquet", Body=parquet_bytes(planning_table(5), row_group_size=5)
    )
    with pytest.raises(SourceChanged):
        list(batches)


def test_a_local_file_changed_after_the_open_fails_as_the_source_says(folder: Path, opened: list[RangeReader]) -> None:
    batches, _ = scan_batches(LocalSource(folder), "shuffled", "quality=some", opened)
    with (folder / "shuffled.parquet").open("r+b") as handle:
        handle.truncate(handle.seek(0, io.SEEK_END) + 1)
    with pytest.raises(SourceChanged):
        list(batches)


def test_a_corrupt_page_is_a_corrupt_source(tmp_path: Path, shuffled_bytes: bytes, opened: list[RangeReader]) -> None:
    metadata = pq.read_metadata(io.BytesIO(shuffled_bytes))
    geometry = metadata.row_group(1).column(SHUFFLED.schema.get_field_index("geometry"))
    start = geometry.data_page_offset + 40
    broken = shuffled_bytes[:start] + bytes(b ^ 0x5A for b in shuffled_bytes[start : start + 4000])
    (tmp_path / "broken.parquet").write_bytes(broken + shuffled_bytes[start + 4000 :])
    batches, _ = scan_batches(LocalSource(tmp_path), "broken", "quality=some", opened)
    with pytest.raises(CorruptSource):
        list(batches)


def test_closing_early_stops_reading(folder: Path, opened: list[RangeReader]) -> None:
    threads = threading.active_count()
    batches, reader = scan_batches(LocalSource(folder), "shuffled", "quality=some", opened)
    next(batches)
    close: Callable[[], None] = getattr(batches, "close")  # noqa: B009  # a generator, typed as an iterator
    close()
    requests = reader.requests
    time.sleep(0.2)
    assert reader.requests == requests
    assert threading.active_count() == threads


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=8).map(lambda sizes: [s * 97 + 1 for s in sizes]),
    st.lists(st.tuples(st.integers(0, 40_000), st.integers(0, 9_000)), min_size=1, max_size=60),
)
def test_chunk_file_reads_are_the_bytes_at_their_offsets(sizes: list[int], reads: list[tuple[int, int]]) -> None:
    data = bytes(range(256)) * 160
    bounds, position = [], 4
    for size in sizes:
        bounds.append((position, min(len(data), position + size)))
        position += size
    files = duckscan._Files.__new__(duckscan._Files)
    files.readable, files.size, files.failure, files.lock = BytesReader(data), len(data), None, threading.Lock()
    files.buffers, files.holders, files.pending, files.held, files.max_bytes = {}, {}, {}, 0, 3 * 1024
    files.chunks = [*bounds, (position, len(data))] if position < len(data) else bounds
    files.starts = [start for start, _ in files.chunks]
    handle = duckscan.ChunkFile(files)
    for offset, size in reads:
        handle.seek(offset)
        assert handle.read(size) == data[offset : offset + size]
        assert handle.tell() == max(offset, min(len(data), offset + size))
        distinct = {id(data): len(data) for _, data in files.buffers.values()}
        assert files.held == sum(distinct.values())
        assert files.held <= files.max_bytes or len(files.buffers) == 1


def test_an_unknown_scan_decoder_is_an_init_error() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import worker.scan"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "SCAN_DECODER": "polars"},
    )
    assert done.returncode != 0
    assert "SCAN_DECODER must be one of auto, pyarrow, duckdb, not 'polars'" in done.stderr
