"""Tests for worker/scan.py: planning (columns, typed filters, pruning) and executing (filter, project, limit)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from edge.contract import DownloadRequest, parse_request
from tests.support.parquet import ORGANISATION_BASE, parquet_bytes, planning_table, write_planning_file
from tests.support.s3 import MotoS3
from tests.worker.conftest import SORTED_ROW_GROUP, SORTED_ROWS
from worker import scan
from worker.errors import CorruptSource, InvalidFilterValue, SourceChanged, UnknownColumn
from worker.estimate import count_matching
from worker.scan import ScanPlan, execute, open_parquet, plan_scan
from worker.source import LocalSource, ReadableSource, Source, source_from_url

ORG_3, ORG_7 = ORGANISATION_BASE + 3, ORGANISATION_BASE + 7
SMALL = parquet_bytes(planning_table(5), row_group_size=5)


def request(query: str = "", dataset: str = "sorted", fmt: str = "csv") -> DownloadRequest:
    return parse_request("GET", f"/{dataset}.{fmt}", query)


def parquet_of(data: bytes) -> pq.ParquetFile:
    return open_parquet(pa.BufferReader(data))


def run(parquet: pq.ParquetFile, query: str = "") -> tuple[pa.Table, ScanPlan]:
    plan = plan_scan(parquet, request(query))
    batches = list(execute(parquet, plan, request(query)))
    return pa.Table.from_batches(batches, schema=plan.output_schema), plan


@pytest.fixture(scope="module")
def sorted_table(sorted_bytes: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(sorted_bytes))


# --- planning -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "column"),
    [
        pytest.param("fields=name,nope", "nope", id="field"),
        pytest.param("quality=good&fields=entity", "quality", id="filter"),
    ],
)
def test_unknown_column_names_it_and_lists_the_columns(query: str, column: str) -> None:
    data = parquet_bytes(planning_table(10).drop_columns(["quality"]), row_group_size=10)
    with pytest.raises(UnknownColumn) as caught:
        plan_scan(parquet_of(data), request(query))
    assert f'"{column}"' in caught.value.detail
    assert "entity, name, dataset, organisation-entity, reference" in caught.value.detail
    assert [p.reason.split(";")[0] for p in caught.value.invalid_params] == [f'no column "{column}"']


def test_unknown_columns_are_all_named(sorted_bytes: bytes) -> None:
    with pytest.raises(UnknownColumn) as caught:
        plan_scan(parquet_of(sorted_bytes), request("fields=a,entity,b"))
    assert caught.value.detail.startswith('Columns "a", "b" not in this dataset.')


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        pytest.param("entity=12x", "12x", id="entity"),
        pytest.param("organisation-entity=600001,abc", "abc", id="one-of-two"),
        pytest.param("entity=99999999999999999999", "99999999999999999999", id="overflow"),
        pytest.param("entity=1.5", "1.5", id="fraction"),
    ],
)
def test_filter_value_not_of_the_column_type(sorted_bytes: bytes, query: str, bad: str) -> None:
    with pytest.raises(InvalidFilterValue) as caught:
        plan_scan(parquet_of(sorted_bytes), request(query))
    column = query.partition("=")[0]
    assert caught.value.detail == f'Column "{column}" holds int64 values; "{bad}" is not one.'
    assert [p.name for p in caught.value.invalid_params] == [column]


def test_filters_are_converted_to_the_column_type(sorted_bytes: bytes) -> None:
    plan = plan_scan(parquet_of(sorted_bytes), request(f"organisation-entity={ORG_7},{ORG_3}&quality=some"))
    assert [(column, values.type, values.to_pylist()) for column, values in plan.filters] == [
        ("organisation-entity", pa.int64(), [ORG_3, ORG_7]),
        ("quality", pa.string(), ["some"]),
    ]


def test_plan_prunes_row_groups_by_statistics(sorted_bytes: bytes) -> None:
    plan = plan_scan(parquet_of(sorted_bytes), request(f"organisation-entity={ORG_3},{ORG_7}"))
    assert (plan.row_groups_total, plan.row_groups) == (SORTED_ROWS // SORTED_ROW_GROUP, [3, 7])


def test_plan_without_filters_keeps_every_row_group(sorted_bytes: bytes) -> None:
    plan = plan_scan(parquet_of(sorted_bytes), request())
    assert plan.row_groups == list(range(plan.row_groups_total))
    assert plan.output_schema == pq.read_schema(pa.BufferReader(sorted_bytes))


def test_plan_filters_on_columns_it_does_not_output(sorted_bytes: bytes) -> None:
    plan = plan_scan(parquet_of(sorted_bytes), request("fields=reference,name&entity=1000001"))
    assert plan.output_schema.names == ["reference", "name"]
    assert [(column, values.to_pylist()) for column, values in plan.filters] == [("entity", [1000001])]


# --- executing ------------------------------------------------------------------------------------------------


def test_filter_or_within_and_across_columns(sorted_bytes: bytes, sorted_table: pa.Table) -> None:
    table, plan = run(parquet_of(sorted_bytes), f"organisation-entity={ORG_3},{ORG_7}&quality=some")
    in_orgs = pc.is_in(sorted_table["organisation-entity"], pa.array([ORG_3, ORG_7]))
    expected = sorted_table.filter(pc.and_(in_orgs, pc.equal(sorted_table["quality"], pa.scalar("some"))))
    assert table.equals(expected)
    assert table.num_rows == 1000
    assert (plan.stats.row_groups_read, plan.stats.rows_read, plan.stats.rows_out) == (2, 2000, 1000)


@pytest.mark.parametrize(
    ("query", "skipped_by_filter"),
    [
        pytest.param("reference=CA-99999999", 0, id="pruned"),
        pytest.param("quality=other", 20, id="within-every-range"),
    ],
)
def test_filter_matching_nothing_yields_no_batch(sorted_bytes: bytes, query: str, skipped_by_filter: int) -> None:
    parquet = parquet_of(sorted_bytes)
    plan = plan_scan(parquet, request(query))
    assert list(execute(parquet, plan, request(query))) == []
    # Row groups the statistics keep but whose filter columns match nothing: their output columns are not read.
    stats = plan.stats
    assert (stats.row_groups_read, stats.row_groups_skipped_by_filter, stats.rows_read, stats.rows_out) == (
        0,
        skipped_by_filter,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("query", "rows_read"),
    [
        # Statistics prove every row of the row group matches: no filter column read, every batch decoded.
        pytest.param(f"organisation-entity={ORG_7}", SORTED_ROW_GROUP, id="all-match"),
        # The only match is in the row group's first batch: the other batches' output columns are not decoded.
        pytest.param("entity=1007005", 300, id="stops-after-the-last-match"),
    ],
)
def test_output_columns_are_read_only_as_far_as_the_matches(
    sorted_bytes: bytes, sorted_table: pa.Table, monkeypatch: pytest.MonkeyPatch, query: str, rows_read: int
) -> None:
    monkeypatch.setattr(scan, "BATCH_ROWS", 300)
    table, plan = run(parquet_of(sorted_bytes), query)
    column, value = query.split("=")
    assert table.equals(sorted_table.filter(pc.equal(sorted_table[column], pa.scalar(int(value)))))
    assert (plan.stats.row_groups_read, plan.stats.rows_read) == (1, rows_read)


def test_row_groups_without_a_match_are_skipped_after_their_filter_columns() -> None:
    # Three row groups' entity ranges cover 5 (statistics keep them), only the second holds it; the last is 9..9.
    entity = pa.array([1, 9, 1, 5, 9, 1, 9], pa.int64())
    data = parquet_bytes(pa.table({"entity": entity, "name": [str(i) for i in range(7)]}), row_group_size=2)
    parquet = parquet_of(data)
    query = "entity=5&fields=name"
    plan = plan_scan(parquet, request(query))
    assert plan.row_groups == [0, 1, 2]
    batches = list(execute(parquet, plan, request(query)))
    assert pa.Table.from_batches(batches)["name"].to_pylist() == ["3"]
    assert (plan.stats.row_groups_read, plan.stats.row_groups_skipped_by_filter, plan.stats.rows_read) == (1, 2, 2)


def test_fields_in_the_requested_order(sorted_bytes: bytes, sorted_table: pa.Table) -> None:
    table, _ = run(parquet_of(sorted_bytes), "fields=reference,entity,start-date&entity=1000005,1000002")
    assert table.schema.names == ["reference", "entity", "start-date"]
    assert (
        table.to_pylist()
        == sorted_table.select(["reference", "entity", "start-date"])
        .slice(2, 4)
        .filter(pc.is_in(sorted_table["entity"].slice(2, 4), pa.array([1000002, 1000005])))
        .to_pylist()
    )


def test_limit_stops_reading_row_groups(sorted_bytes: bytes, sorted_table: pa.Table) -> None:
    table, plan = run(parquet_of(sorted_bytes), "limit=1500")
    assert table.equals(sorted_table.slice(0, 1500))
    assert plan.stats.row_groups_read == 2


def test_limit_with_a_filter(sorted_bytes: bytes) -> None:
    table, plan = run(parquet_of(sorted_bytes), f"organisation-entity={ORG_3},{ORG_7}&limit=10&fields=entity")
    assert table["entity"].to_pylist() == list(range(1_003_000, 1_003_010))
    assert plan.stats.row_groups_read == 1


def test_batches_are_bounded(sorted_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scan, "BATCH_ROWS", 300)
    parquet = parquet_of(sorted_bytes)
    plan = plan_scan(parquet, request("limit=2500"))
    sizes = [batch.num_rows for batch in execute(parquet, plan, request("limit=2500"))]
    assert sizes == [300, 300, 300, 100] * 2 + [300, 200]


def test_zero_row_file() -> None:
    empty = planning_table(0)
    parquet = parquet_of(parquet_bytes(empty, row_group_size=1000))
    table, plan = run(parquet, "entity=5&fields=name")
    assert table.num_rows == 0
    assert plan.output_schema.names == ["name"]
    assert plan.row_groups == []


def test_dictionary_column_filter() -> None:
    source = planning_table(100)
    data = io.BytesIO()
    pq.write_table(source, data, row_group_size=50)
    parquet = pq.ParquetFile(pa.BufferReader(data.getvalue()), read_dictionary=["quality"])
    assert pa.types.is_dictionary(parquet.schema_arrow.field("quality").type)
    table, _ = run(parquet, "quality=some&fields=entity")
    assert table["entity"].to_pylist() == [1_000_000 + i for i in range(1, 100, 2)]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"PAR1 this is not parquet PAR1", id="not-parquet"),
        pytest.param(b"x" * 100_000, id="garbage"),
    ],
)
def test_corrupt_file(data: bytes) -> None:
    with pytest.raises(CorruptSource):
        parquet_of(data)


def test_truncated_file(sorted_bytes: bytes) -> None:
    with pytest.raises(CorruptSource):
        parquet_of(sorted_bytes[: len(sorted_bytes) // 2])


def test_corrupt_data_page(sorted_bytes: bytes) -> None:
    parquet = parquet_of(sorted_bytes)
    column = parquet.metadata.row_group(5).column(1)
    start = column.data_page_offset
    broken = bytearray(sorted_bytes)
    broken[start : start + 200] = b"\xff" * 200
    parquet = parquet_of(bytes(broken))
    plan = plan_scan(parquet, request())
    with pytest.raises(CorruptSource):
        list(execute(parquet, plan, request()))


# --- through the sources --------------------------------------------------------------------------------------


def open_scan(source: Source, query: str) -> tuple[pq.ParquetFile, ScanPlan, ReadableSource]:
    reader = source.open(source.stat("sorted"))
    parquet = open_parquet(reader)
    return parquet, plan_scan(parquet, request(query)), reader


@pytest.mark.parametrize("versioned", [pytest.param(False, id="unversioned"), pytest.param(True, id="versioned")])
def test_s3_selective_filter_reads_only_matching_row_groups(
    moto_s3: MotoS3, sorted_bytes: bytes, sorted_table: pa.Table, versioned: bool
) -> None:
    bucket = moto_s3.create_bucket(versioned=versioned)
    moto_s3.client.put_object(Bucket=bucket, Key="sets/sorted.parquet", Body=sorted_bytes)
    moto_s3.counter.reset()
    parquet, plan, reader = open_scan(source_from_url(f"s3://{bucket}/sets/"), f"organisation-entity={ORG_7}")
    table = pa.Table.from_batches(execute(parquet, plan, request(f"organisation-entity={ORG_7}")))
    assert table.equals(sorted_table.slice(7000, 1000))
    assert (plan.stats.row_groups_read, plan.row_groups_total) == (1, 20)
    traffic = moto_s3.traffic(bucket, "sets/sorted.parquet")
    assert traffic.requests == reader.requests + 1  # the HEAD of stat, then footer and one row group
    assert reader.requests == 2
    assert traffic.body_bytes == reader.bytes_read
    assert reader.bytes_read < len(sorted_bytes) * 0.1


def test_s3_unversioned_replacement_mid_scan_fails(moto_s3: MotoS3, sorted_bytes: bytes) -> None:
    bucket = moto_s3.create_bucket()
    moto_s3.client.put_object(Bucket=bucket, Key="sorted.parquet", Body=sorted_bytes)
    parquet, plan, _ = open_scan(source_from_url(f"s3://{bucket}/"), "")
    batches = execute(parquet, plan, request())
    next(batches)
    moto_s3.client.put_object(Bucket=bucket, Key="sorted.parquet", Body=sorted_bytes + b"")
    moto_s3.client.put_object(
        Bucket=bucket, Key="sorted.parquet", Body=parquet_bytes(planning_table(5), row_group_size=5)
    )
    with pytest.raises(SourceChanged):
        list(batches)


def test_s3_versioned_replacement_mid_scan_reads_the_pinned_version(
    moto_s3: MotoS3, sorted_bytes: bytes, sorted_table: pa.Table
) -> None:
    bucket = moto_s3.create_bucket(versioned=True)
    moto_s3.client.put_object(Bucket=bucket, Key="sorted.parquet", Body=sorted_bytes)
    parquet, plan, _ = open_scan(source_from_url(f"s3://{bucket}/"), "")
    batches = execute(parquet, plan, request())
    first = next(batches)
    moto_s3.client.put_object(
        Bucket=bucket, Key="sorted.parquet", Body=parquet_bytes(planning_table(5), row_group_size=5)
    )
    assert pa.Table.from_batches([first, *batches]).equals(sorted_table)


def test_s3_versioned_deleted_version_mid_scan_fails(moto_s3: MotoS3, sorted_bytes: bytes) -> None:
    bucket = moto_s3.create_bucket(versioned=True)
    put = moto_s3.client.put_object(Bucket=bucket, Key="sorted.parquet", Body=sorted_bytes)
    parquet, plan, _ = open_scan(source_from_url(f"s3://{bucket}/"), "")
    batches = execute(parquet, plan, request())
    next(batches)
    moto_s3.client.delete_object(Bucket=bucket, Key="sorted.parquet", VersionId=put["VersionId"])
    with pytest.raises(SourceChanged):
        list(batches)


def test_local_in_place_change_mid_scan_fails(data_folder: Path) -> None:
    parquet, plan, _ = open_scan(LocalSource(data_folder), "")
    batches: Iterator[pa.RecordBatch] = execute(parquet, plan, request())
    next(batches)
    with (data_folder / "sorted.parquet").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00" * 100)
        handle.truncate(handle.seek(0, io.SEEK_END) + 1)
    with pytest.raises(SourceChanged):
        list(batches)


# --- memory ---------------------------------------------------------------------------------------------------

# VmHWM, not getrusage: on Linux ru_maxrss survives fork and exec, so a child would report its parent's peak.
RSS_SCRIPT = """
import json, sys
from edge.contract import parse_request
from worker.encoders import ENCODERS
from worker.scan import execute, open_parquet, plan_scan
from worker.source import LocalSource

request = parse_request("GET", f"/{sys.argv[2]}.{sys.argv[3]}", sys.argv[4])
source = LocalSource(__import__("pathlib").Path(sys.argv[1]))
reader = source.open(source.stat(sys.argv[2]))
parquet = open_parquet(reader)
plan = plan_scan(parquet, request)

def high_water_kib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])

# As the runtime does at init: every import and first use (and, on a fresh install, the .pyc compilation that
# goes with them) happens before "before", so the difference is the scan and the encoder alone.
__import__("worker.warmup").warmup.warm_up()
before = high_water_kib()
batches = execute(parquet, plan, request)
rows = 0
def counted():
    global rows
    for batch in batches:
        rows += batch.num_rows
        yield batch
for chunk in ENCODERS[request.format].encoder(plan.output_schema, counted()):
    pass
peak = high_water_kib()
print(json.dumps({"rows": rows, "before_kib": before, "peak_kib": peak, "bytes_read": reader.bytes_read,
                  "duckdb": "duckdb" in sys.modules, "threads": plan.stats.decoder_threads}))
"""
# Budgets on what the scan and the encoder add after the warm-up, and a loose bound on the whole process (its imports
# alone are 160 MiB, or 235 MiB on a fresh install still compiling .pyc files), per profile (worker/parallelism.py):
# one row group at a time (a Lambda under 3,538 MB), or two at once.
FRUGAL, FAST = 1, 2
PROFILES = [pytest.param(FRUGAL, id="one-at-once"), pytest.param(FAST, id="two-at-once")]
# 100k-row groups of all 14 columns; measured growth (system allocator, worker/__init__.py) 120-135 MiB one at a
# time, 210-215 MiB two at once, for 1M and 2M rows (98 and 177 MiB under the jemalloc decay 0 it replaced).
SCAN_GROWTH_MIB = {FRUGAL: 160, FAST: 256}
RSS_GROWTH_MIB = 48  # what doubling the dataset may add
PROCESS_BUDGET_MIB = {FRUGAL: 448, FAST: 576}
BIG_ROW_GROUP = 100_000


def peak_rss(folder: Path, dataset: str, fmt: str = "csv", at_once: int = FRUGAL, query: str = "") -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(folder), dataset, fmt, query],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "SCAN_ROW_GROUPS_AT_ONCE": str(at_once)},
    )
    result: dict[str, int] = json.loads(done.stdout)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("at_once", PROFILES)
def test_peak_rss_is_bounded_by_a_row_group_not_the_dataset(tmp_path: Path, at_once: int) -> None:
    write_planning_file(tmp_path / "one.parquet", 1_000_000, row_group_size=BIG_ROW_GROUP)
    write_planning_file(tmp_path / "two.parquet", 2_000_000, row_group_size=BIG_ROW_GROUP)
    one, two = peak_rss(tmp_path, "one", at_once=at_once), peak_rss(tmp_path, "two", at_once=at_once)
    assert (one["rows"], two["rows"]) == (1_000_000, 2_000_000)
    assert two["bytes_read"] > 1.9 * one["bytes_read"]
    assert two["peak_kib"] - two["before_kib"] < SCAN_GROWTH_MIB[at_once] * 1024, two
    assert two["peak_kib"] - one["peak_kib"] < RSS_GROWTH_MIB * 1024, (one, two)
    assert two["peak_kib"] < PROCESS_BUDGET_MIB[at_once] * 1024, two
    print(f"peak RSS (KiB), {at_once} at once: 1M rows {one}, 2M rows {two}")


# One 600k-row group is 36 MB compressed (over scan.PRE_BUFFER_MAX_BYTES), 113 MB of pages: streamed page by page.
# Measured: the scan and encoders add 122-148 MiB after the warm-up one at a time (about 100 MiB for 100k-row
# groups), so a row group six times larger costs well under one decoded copy of it; 213-239 MiB in the two-at-once
# profile, whose allocator keeps freed pages for reuse and whose encoder may fall 64 MiB behind. Parquet output
# (which holds one output row group of at most 16 MiB): 151-166 MiB one at a time, 221-252 MiB two at once.
BIG_GROUP_GROWTH_MIB = {FRUGAL: 192, FAST: 288}


@pytest.mark.slow
@pytest.mark.parametrize("at_once", PROFILES)
@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_peak_rss_does_not_grow_with_the_row_group(tmp_path: Path, fmt: str, at_once: int) -> None:
    write_planning_file(tmp_path / "big.parquet", 600_000, row_group_size=600_000)
    result = peak_rss(tmp_path, "big", fmt, at_once=at_once)
    assert result["rows"] == 600_000
    assert result["peak_kib"] - result["before_kib"] < BIG_GROUP_GROWTH_MIB[at_once] * 1024, result
    assert result["peak_kib"] < PROCESS_BUDGET_MIB[at_once] * 1024, result


def test_the_scan_takes_the_count_passes_masks_instead_of_reading_again(
    data_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # quality is in every row group (statistics decide nothing): each row group's filter column must be read. That
    # is a scan DuckDB decodes, filtering by itself (tests/worker/test_duckscan.py): pyarrow's path is tested here.
    monkeypatch.setattr(scan, "DECODER", "pyarrow")
    query = "quality=some"
    parquet, plan, reader = open_scan(LocalSource(data_folder), query)
    counted = count_matching(parquet, plan)
    rows = sum(batch.num_rows for batch in execute(parquet, plan, request(query)))
    alone_parquet, alone_plan, alone = open_scan(LocalSource(data_folder), query)
    assert rows == counted == sum(batch.num_rows for batch in execute(alone_parquet, alone_plan, request(query))) > 0
    assert reader.bytes_read == alone.bytes_read  # the count's reads are the ones the scan no longer makes
    assert plan.masks == {}  # each mask taken once


def test_local_selective_filter_reads_one_row_group_of_bytes(data_folder: Path, sorted_bytes: bytes) -> None:
    parquet, plan, reader = open_scan(LocalSource(data_folder), f"organisation-entity={ORG_7}")
    rows = sum(batch.num_rows for batch in execute(parquet, plan, request(f"organisation-entity={ORG_7}")))
    assert rows == SORTED_ROW_GROUP
    assert (plan.stats.row_groups_read, plan.row_groups_total) == (1, SORTED_ROWS // SORTED_ROW_GROUP)
    assert reader.bytes_read < len(sorted_bytes) * 0.1  # footer plus one row group of twenty


# DuckDB decodes a filter on a column every row group holds (worker/duckscan.py): here quality=some, every other
# row of one 600k-row group, so 300k rows go through its batches. Its import and first connection alone add 50 MiB.
@pytest.mark.slow
@pytest.mark.parametrize("at_once", PROFILES)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_peak_rss_when_duckdb_decodes_does_not_grow_with_the_row_group(tmp_path: Path, fmt: str, at_once: int) -> None:
    write_planning_file(tmp_path / "big.parquet", 600_000, row_group_size=600_000)
    result = peak_rss(tmp_path, "big", fmt, at_once=at_once, query="quality=some")
    assert (result["rows"], result["duckdb"]) == (300_000, True)
    print(f"peak RSS (KiB), DuckDB decoding, {fmt}, {at_once} at once: {result}")
    assert result["peak_kib"] - result["before_kib"] < BIG_GROUP_GROWTH_MIB[at_once] * 1024, result
    assert result["peak_kib"] < PROCESS_BUDGET_MIB[at_once] * 1024, result


# DuckDB's memory must not grow with the dataset either: 50k-row groups, half the rows matching (two at once: two
# queries at once, over each half of the file, worker/scan.py).
@pytest.mark.slow
@pytest.mark.parametrize("at_once", PROFILES)
def test_peak_rss_when_duckdb_decodes_does_not_grow_with_the_dataset(tmp_path: Path, at_once: int) -> None:
    write_planning_file(tmp_path / "one.parquet", 1_000_000, row_group_size=50_000)
    write_planning_file(tmp_path / "two.parquet", 2_000_000, row_group_size=50_000)
    one = peak_rss(tmp_path, "one", at_once=at_once, query="quality=some")
    two = peak_rss(tmp_path, "two", at_once=at_once, query="quality=some")
    assert (one["rows"], two["rows"], one["duckdb"], two["duckdb"]) == (500_000, 1_000_000, True, True)
    assert one["threads"] == two["threads"] == at_once
    print(f"peak RSS (KiB), DuckDB decoding, {at_once} at once: 1M rows {one}, 2M rows {two}")
    assert two["peak_kib"] - one["peak_kib"] < RSS_GROWTH_MIB * 1024, (one, two)
    assert two["peak_kib"] - two["before_kib"] < SCAN_GROWTH_MIB[at_once] * 1024, two
