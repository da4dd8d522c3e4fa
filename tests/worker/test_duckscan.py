"""Tests for worker/duckscan.py: DuckDB decodes exactly the pyarrow path's rows, through the pinned reader."""

from __future__ import annotations

import contextlib
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
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.contract import parse_request
from tests.reliability.checks import function_url_event
from tests.support.faults import BreakingSource, SlowSource
from tests.support.parquet import ORGANISATION_BASE, parquet_bytes, planning_table
from tests.support.s3 import MotoS3
from worker import duckscan, scan
from worker.app import App
from worker.config import WorkerSettings
from worker.errors import CorruptSource, SourceChanged
from worker.estimate import count_matching
from worker.scan import execute, open_parquet, plan_scan
from worker.source import BytesReader, LocalSource, RangeReader, Source, source_from_url
from worker.tracing import NullTracer

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
        monkeypatch.setattr(scan, "DECODER", decoder)
        self.reader = source.open(source.stat(dataset))
        parquet = open_parquet(self.reader)
        request = parse_request("GET", f"/{dataset}.csv", query)
        self.plan = plan_scan(parquet, request)
        self.table = pa.Table.from_batches(list(execute(parquet, self.plan, request)), schema=self.plan.output_schema)
        self.by_duckdb = self.plan.stats.decoder == "duckdb"
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
    assert chosen.plan.stats.decoder_threads == at_once  # two at once: a query per half of the file
    assert not by_pyarrow.by_duckdb
    assert chosen.table.schema.equals(by_pyarrow.table.schema, check_metadata=True)
    assert chosen.table.equals(by_pyarrow.table)
    if "nothing" not in query:
        assert chosen.table.num_rows > 0
    assert (chosen.plan.stats.rows_out, chosen.plan.stats.row_groups_read) == (chosen.table.num_rows, ROWS // GROUP)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"], ids=str)
def test_a_download_is_the_same_bytes_whichever_decoder_and_profile_made_it(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB's batches and each profile's differ; the Parquet encoder's row groups and pages once followed them, so
    # one download had three different files under one ETag and one immutable stored-result name. 60,000 rows: the
    # output's geometry column spans several pages.
    rows = 60_000
    table = planning_table(rows, rows_per_organisation=100).take([(i * 7919) % rows for i in range(rows)])
    (tmp_path / "shuffled.parquet").write_bytes(parquet_bytes(table, row_group_size=10_000))
    bodies = {}
    for decoder, at_once in [("pyarrow", 1), ("pyarrow", 2), ("auto", 1), ("auto", 2)]:
        monkeypatch.setattr(scan, "DECODER", decoder)
        monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", at_once)
        app = App(WorkerSettings(source=str(tmp_path)), tracer=NullTracer())
        response = app.handle(function_url_event("GET", f"/shuffled.{fmt}", "quality=usable,authoritative", "identity"))
        bodies[decoder, at_once] = b"".join(response.body)
    assert len(set(bodies.values())) == 1, {key: len(body) for key, body in bodies.items()}
    if fmt == "parquet":
        assert pq.read_table(io.BytesIO(bodies["auto", 2])).num_rows > GROUP


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
    "an empty name": (SHUFFLED.append_column("", SHUFFLED["quality"]), "quality=some"),
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


@pytest.mark.parametrize(("at_once", "requests"), [(1, 5), (2, 8)])
def test_duckdb_reads_the_file_once_in_buffers(
    folder: Path, shuffled_bytes: bytes, at_once: int, requests: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", at_once)
    chosen = Decoded(LocalSource(folder), "shuffled", f"organisation-entity={ORG}", monkeypatch, "auto")
    assert chosen.by_duckdb
    # The pyarrow path's footer read (64 KiB), DuckDB's (the footer's range, kept for the second half's query),
    # then every chunk once: the 791 KB file's small chunks coalesced into two reads (the filter column's row group
    # on, and what comes before it), or, two halves at once, up to two more where each half's query begins.
    assert chosen.reader.bytes_read < len(shuffled_bytes) + 2 * 65_536
    assert chosen.reader.requests <= requests


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


def sparse_after(rows: int, dense: int, every: int) -> pa.Table:
    """SHUFFLED's columns over ``rows`` rows, ``quality`` "some" in the first ``dense`` rows, then one row in
    ``every``: each row group holds a match, and after the first batch the next one fills only at the end."""
    table = planning_table(rows, rows_per_organisation=100)
    some = [i < dense or i % every == 0 for i in range(rows)]
    return replaced(table, "quality", pa.array(["some" if hit else "usable" for hit in some]))


@pytest.mark.parametrize("at_once", [1, 2])
def test_closing_early_cancels_the_scan(
    tmp_path: Path, opened: list[RangeReader], at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 9,000 dense matches: the first batch (8,157 rows) soon, the second only at the file's end, which DuckDB
    # would read on to unless cancelled. Reads of 64 KiB taking 10 ms each, as from S3. Two at once, the second
    # half's query runs ahead (its matches are sparse: it may read all of its half), and is cancelled too.
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", at_once)
    monkeypatch.setattr(duckscan, "STREAM_BYTES", 64 * 1024)
    (tmp_path / "sparse.parquet").write_bytes(parquet_bytes(sparse_after(100_000, 9_000, GROUP), row_group_size=GROUP))
    size = (tmp_path / "sparse.parquet").stat().st_size
    threads = threading.active_count()
    batches, reader = scan_batches(SlowSource(tmp_path, 0.01), "sparse", "quality=some", opened)
    next(batches)
    at_first_batch = reader.bytes_read
    close: Callable[[], None] = getattr(batches, "close")  # noqa: B009  # a generator, typed as an iterator
    close()
    at_close = reader.bytes_read
    time.sleep(0.2)
    assert reader.bytes_read == at_close  # nothing read after the close returned
    assert threading.active_count() == threads
    if at_once == 1:
        assert at_close - at_first_batch <= 2 * 64 * 1024 + 1024  # at most the read in flight, not the file's rest
        assert at_close < size


@pytest.mark.parametrize("at_once", [1, 2])
def test_a_source_failing_midway_fails_the_scan_as_it_said(
    tmp_path: Path, opened: list[RangeReader], at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", at_once)
    monkeypatch.setattr(duckscan, "STREAM_BYTES", 64 * 1024)  # reads of 64 KiB: a failure after many of them
    table = planning_table(100_000, rows_per_organisation=100).take([(i * 7919) % 100_000 for i in range(100_000)])
    (tmp_path / "big.parquet").write_bytes(parquet_bytes(table, row_group_size=GROUP))
    source = BreakingSource(tmp_path, budget=(tmp_path / "big.parquet").stat().st_size * 3 // 5)
    batches, reader = scan_batches(source, "big", "quality=some", opened)
    if at_once == 1:  # two at once, the second half's reads may use the budget up before the first batch is out
        assert next(batches).num_rows > 0
    with pytest.raises(SourceChanged, match="replaced while it was being read"):
        list(batches)
    assert reader.requests > 20


def test_any_other_read_error_comes_out_as_itself(folder: Path, opened: list[RangeReader]) -> None:
    source = BreakingSource(folder, budget=100_000, error=lambda: RuntimeError("a bug in the reader"))
    batches, _ = scan_batches(source, "shuffled", "quality=some", opened)
    with pytest.raises(RuntimeError, match="a bug in the reader"):
        list(batches)


def test_scan_decoder_duckdb_decodes_pruned_files_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = planning_table(ROWS, rows_per_organisation=GROUP)
    (tmp_path / "sorted.parquet").write_bytes(parquet_bytes(table, row_group_size=GROUP))
    query = f"organisation-entity={ORGANISATION_BASE + 1}"
    by_pyarrow = Decoded(LocalSource(tmp_path), "sorted", query, monkeypatch, "pyarrow")
    chosen = Decoded(LocalSource(tmp_path), "sorted", query, monkeypatch, "duckdb")
    assert chosen.by_duckdb
    assert chosen.table.equals(by_pyarrow.table)
    assert chosen.table.num_rows == GROUP


@pytest.mark.parametrize(
    ("table", "by_duckdb"),
    [
        pytest.param(SHUFFLED, True, id="every-row-group-matches"),
        pytest.param(sparse_after(ROWS, 0, 2 * GROUP), False, id="some-row-groups-do-not"),
    ],
)
def test_after_the_count_pass_duckdb_decodes_only_if_every_row_group_matches(
    tmp_path: Path, table: pa.Table, by_duckdb: bool
) -> None:
    (tmp_path / "counted.parquet").write_bytes(parquet_bytes(table, row_group_size=GROUP))
    source = LocalSource(tmp_path)
    with contextlib.closing(source.open(source.stat("counted"))) as reader:
        parquet = open_parquet(reader)
        request = parse_request("GET", "/counted.csv", "quality=some")
        plan = plan_scan(parquet, request)
        counted = count_matching(parquet, plan)  # what the size estimate does before a large result is stored
        rows = sum(batch.num_rows for batch in execute(parquet, plan, request))
    assert rows == counted > 0
    assert (plan.stats.decoder == "duckdb") is by_duckdb


@pytest.mark.parametrize(
    ("at_once", "parts"),
    [
        (1, [None]),  # one query, the whole file
        (2, [(0, 2 * GROUP), (2 * GROUP, ROWS)]),  # halves, cut at row groups
        (3, [(0, 2 * GROUP), (2 * GROUP, ROWS)]),  # three asked of four row groups: a part holds a third at least
    ],
)
def test_duckdb_reads_parts_of_the_file_at_once_each_byte_once(
    folder: Path,
    shuffled_bytes: bytes,
    at_once: int,
    parts: list[tuple[int, int] | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", at_once)
    queries: list[tuple[int, int] | None] = []
    part = duckscan.Scan.part

    def recorded(self: duckscan.Scan, rows: tuple[int, int] | None) -> Iterator[pa.RecordBatch]:
        queries.append(rows)
        return part(self, rows)

    monkeypatch.setattr(duckscan.Scan, "part", recorded)
    by_pyarrow, chosen = both(LocalSource(folder), "shuffled", f"organisation-entity={ORG},{ORG + 1}", monkeypatch)
    assert chosen.table.equals(by_pyarrow.table)
    assert chosen.plan.stats.decoder_threads == len(parts)
    assert sorted(queries, key=str) == parts
    assert chosen.reader.bytes_read < len(shuffled_bytes) + 2 * 65_536  # the footer twice, every chunk once


def test_row_ranges_cut_the_file_at_row_group_starts() -> None:
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": range(10)}), sink, row_group_size=2)  # five row groups of two rows
    metadata = pq.read_metadata(io.BytesIO(sink.getvalue()))
    assert scan.row_ranges(metadata, [0, 1, 2, 3, 4], 2) == [(0, 6), (6, 10)]
    assert scan.row_ranges(metadata, [0, 1, 2, 3, 4], 5) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    assert scan.row_ranges(metadata, [1, 3], 4) == [(2, 6), (6, 8)]  # the row group between: DuckDB prunes it
    assert scan.row_ranges(metadata, [0, 1, 2, 3, 4], 1) == scan.row_ranges(metadata, [4], 2) == [None]


def test_a_column_named_as_duckdbs_row_number_stays_with_pyarrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = SHUFFLED.append_column("File_Row_Number", pa.array(range(ROWS)))
    (tmp_path / "numbered.parquet").write_bytes(parquet_bytes(table, row_group_size=GROUP))
    by_pyarrow, chosen = both(LocalSource(tmp_path), "numbered", f"organisation-entity={ORG}", monkeypatch)
    assert not chosen.by_duckdb
    assert chosen.table.equals(by_pyarrow.table)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=8).map(lambda sizes: [s * 97 + 1 for s in sizes]),
    st.lists(st.tuples(st.integers(0, 40_000), st.integers(0, 9_000)), min_size=1, max_size=60),
    st.sampled_from([(2 * 1024 * 1024, 64 * 1024), (1000, 50)]),  # as deployed, and small enough to split chunks
)
def test_chunk_file_reads_are_the_bytes_at_their_offsets(
    sizes: list[int], reads: list[tuple[int, int]], stream_and_hole: tuple[int, int]
) -> None:
    data, chunks = chunked(sizes)
    files = duckscan._Files(BytesReader(data), chunks, max_bytes=3 * 1024)
    handle = duckscan.ChunkFile(files)
    with mock.patch.multiple(duckscan, STREAM_BYTES=stream_and_hole[0], HOLE_BYTES=stream_and_hole[1]):
        for offset, size in reads:
            handle.seek(offset)
            assert handle.read(size) == data[offset : offset + size]
            assert handle.tell() == max(offset, min(len(data), offset + size))
            distinct = {id(data): len(data) for _, data in files.buffers.values()}
            assert files.held == sum(distinct.values())
            assert files.held <= files.max_bytes or len(files.buffers) == 1
    assert files.pending == {}


def chunked(sizes: list[int]) -> tuple[bytes, list[tuple[int, int]]]:
    """40 KiB of bytes, and chunks of ``sizes`` from offset 4 on (the rest of the file, the footer, last)."""
    data = bytes(range(256)) * 160
    bounds, position = [], 4
    for size in sizes:
        bounds.append((position, min(len(data), position + size)))
        position += size
    return data, [*bounds, (position, len(data))] if position < len(data) else bounds


class SlowBytes(BytesReader):
    def read_range(self, start: int, end: int) -> bytes:
        time.sleep(0.001)  # long enough for the other threads to ask for the chunk being read
        return super().read_range(start, end)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 40), min_size=2, max_size=8).map(lambda sizes: [s * 97 + 1 for s in sizes]),
    st.lists(st.tuples(st.integers(0, 40_000), st.integers(1, 3_000)), min_size=4, max_size=40),
)
def test_chunk_file_reads_from_four_threads_are_the_bytes_each_fetched_once(
    sizes: list[int], reads: list[tuple[int, int]]
) -> None:
    data, chunks = chunked(sizes)
    reader = SlowBytes(data)
    files = duckscan._Files(reader, chunks, max_bytes=len(data))  # room for everything: no read is repeated
    handle = duckscan.ChunkFile(files)
    wrong: list[tuple[int, int]] = []

    def read_all(part: list[tuple[int, int]]) -> None:
        for offset, size in part:
            handle.seek(offset)
            if handle.read(size) != data[offset : offset + size]:
                wrong.append((offset, size))

    with mock.patch.multiple(duckscan, STREAM_BYTES=1000, HOLE_BYTES=50):
        workers = [threading.Thread(target=read_all, args=(reads[i::4],)) for i in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert wrong == []
    assert files.pending == {}


def test_a_chunk_being_filled_is_not_fetched_again_by_another_thread() -> None:
    data, chunks = chunked([500, 500, 500])
    gate = threading.Event()

    class Gated(BytesReader):
        def read_range(self, start: int, end: int) -> bytes:
            gate.wait(5)
            return super().read_range(start, end)

    reader = Gated(data)
    handle = duckscan.ChunkFile(duckscan._Files(reader, chunks, max_bytes=len(data)))
    start = chunks[1][0]
    results: list[bytes] = []

    def read() -> None:
        handle.seek(start)
        results.append(handle.read(100))

    workers = [threading.Thread(target=read) for _ in range(2)]
    for worker in workers:
        worker.start()
    time.sleep(0.1)  # both asked; the first is fetching, the second waits for it
    gate.set()
    for worker in workers:
        worker.join()
    assert results == [data[start : start + 100]] * 2
    assert reader.requests == 1


def test_a_big_chunk_read_in_pieces_across_its_buffers_is_fetched_once() -> None:
    data, chunks = chunked([9_700])  # one chunk of ten 1,000-byte buffers, then the footer
    reader = BytesReader(data)
    handle = duckscan.ChunkFile(duckscan._Files(reader, chunks, max_bytes=len(data)))
    start, end = chunks[0]
    with mock.patch.object(duckscan, "STREAM_BYTES", 1000):
        got = []
        for offset in range(start, end, 300):  # pieces straddling every buffer's end
            handle.seek(offset)
            got.append(handle.read(min(300, end - offset)))
    assert b"".join(got) == data[start:end]
    assert reader.bytes_read == end - start  # the part of a piece in the buffer before is not fetched again
    assert reader.requests == 10


def test_a_cancelled_handle_serves_no_read_not_even_from_its_buffer() -> None:
    data, chunks = chunked([2_000])
    files = duckscan._Files(BytesReader(data), chunks, max_bytes=len(data))
    handle = duckscan.ChunkFile(files)
    handle.seek(chunks[0][0])
    assert handle.read(10) == data[chunks[0][0] : chunks[0][0] + 10]
    files.cancelled = True
    with pytest.raises(duckscan.Cancelled):
        handle.read(10)


def test_every_cursor_may_read_only_the_pinned_file_and_change_no_setting(shuffled_bytes: bytes) -> None:
    import duckdb  # as worker/duckscan.py does: on the DuckDB path only

    metadata = pq.read_metadata(io.BytesIO(shuffled_bytes))
    files = duckscan._Files.of(BytesReader(shuffled_bytes), metadata, set(SHUFFLED.column_names), 2)
    connection, cursors = duckscan._connect(duckdb, files, 2)
    try:
        for cursor in [*cursors, connection]:
            rows = cursor.sql("SELECT count(*) FROM read_parquet('dataset://source.parquet')").fetchall()
            assert rows == [(ROWS,)]
            assert cursor.sql("SELECT current_setting('disable_parquet_prefetching')").fetchall() == [(True,)]
            for statement in (
                "SET enable_external_access = true",
                "SET GLOBAL allowed_paths = ['/etc/passwd']",
                "SET disable_parquet_prefetching = false",
                f"SET streaming_buffer_size = '{100 * duckscan.BATCH_BYTES}B'",
            ):
                with pytest.raises(duckdb.Error):
                    cursor.execute(statement)
            with pytest.raises(duckdb.PermissionException):
                cursor.sql("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        for cursor in cursors:  # the session setting each cursor was given before the lock
            setting = cursor.sql("SELECT current_setting('streaming_buffer_size')").fetchall()
            assert setting == [("2.0 MiB",)]
    finally:
        connection.close()


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
