"""Tests for worker/scan.py reading several row groups at once: same rows in the same order and the same counters
as one at a time, over a local file and over a slow reader (where threads interleave their reads)."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest

from edge.contract import DownloadRequest, parse_request
from tests.support.parquet import ORGANISATION_BASE, parquet_bytes, planning_table
from worker import scan
from worker.scan import ScanPlan, execute, open_parquet, plan_scan
from worker.source import LocalSource, RangeReader

ROWS, ROW_GROUP = 12_000, 500  # 24 row groups; an organisation every 300 rows, so most row groups hold two
DATA = parquet_bytes(planning_table(ROWS, rows_per_organisation=300), row_group_size=ROW_GROUP)
QUERIES = [
    pytest.param("", id="everything"),
    pytest.param(f"organisation-entity={ORGANISATION_BASE + 3},{ORGANISATION_BASE + 30}", id="two-organisations"),
    pytest.param("fields=entity,name&limit=1700", id="limit"),
    pytest.param(f"organisation-entity={ORGANISATION_BASE + 999}", id="no-match"),
]


class SlowReader(RangeReader):
    """Bytes in memory, each read sleeping like a network round trip (the GIL is released meanwhile)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data))
        self._data = data

    def read_range(self, start: int, end: int) -> bytes:
        time.sleep(0.0005)
        self.count(requests=1, bytes_read=end - start)
        return self._data[start:end]


def request(query: str) -> DownloadRequest:
    return parse_request("GET", "/data.csv", query)


def scanned(
    reader: RangeReader, query: str, at_once: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[pa.Table, ScanPlan]:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", at_once)
    parquet = open_parquet(reader)
    plan = plan_scan(parquet, request(query))
    batches = list(execute(parquet, plan, request(query)))
    return pa.Table.from_batches(batches, schema=plan.output_schema), plan


@pytest.mark.parametrize("query", QUERIES)
def test_several_at_once_gives_the_same_rows_and_counters(query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    one, one_plan = scanned(SlowReader(DATA), query, 1, monkeypatch)
    for at_once in (2, 4):
        many, many_plan = scanned(SlowReader(DATA), query, at_once, monkeypatch)
        assert many.equals(one)
        assert many_plan.stats == one_plan.stats
    if query == "":
        assert one.num_rows == ROWS
        assert (one_plan.stats.row_groups_read, one_plan.stats.rows_out) == (ROWS // ROW_GROUP, ROWS)


def test_a_local_file_read_two_at_once_repeatedly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many concurrent row-group readers opening over one file: every run returns every row, in order."""
    (tmp_path / "data.parquet").write_bytes(DATA)
    source = LocalSource(tmp_path)
    expected = planning_table(ROWS, rows_per_organisation=300)
    for _ in range(5):
        table, plan = scanned(source.open(source.stat("data")), "", 2, monkeypatch)
        assert table.equals(expected)
        assert plan.stats.rows_read == ROWS


def test_closing_early_stops_the_row_group_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = SlowReader(DATA)
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", 2)
    parquet = open_parquet(reader)
    plan = plan_scan(parquet, request(""))
    batches = execute(parquet, plan, request(""))
    next(batches)
    batches.close()  # type: ignore[attr-defined]  # a generator
    requests = reader.requests
    time.sleep(0.05)
    assert reader.requests == requests  # nothing reads after the close
    assert plan.stats.row_groups_read <= 3


def rows_read_while_waiting(query: str, monkeypatch: pytest.MonkeyPatch, until: int | None = None) -> int:
    """Rows the scan decoded while its consumer holds the first batch and takes no more (two 6,000-row groups in
    1,024-row batches, two at once; a filter may run 1 GiB ahead, an export one batch): once ``until`` rows are
    read, or else once the count stays the same for 0.2 s (within 10 s either way)."""
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", 2)
    monkeypatch.setattr(scan, "BATCH_BYTES", 1)  # batches of MIN_BATCH_ROWS
    monkeypatch.setattr(scan, "AHEAD_BYTES", 1 << 30)
    monkeypatch.setattr(scan, "EXPORT_AHEAD_BYTES", 1)
    parquet = open_parquet(SlowReader(parquet_bytes(planning_table(12_000), row_group_size=6_000)))
    plan = plan_scan(parquet, request(query))
    batches = execute(parquet, plan, request(query))
    next(batches)
    deadline = time.monotonic() + 10
    before = -1
    while time.monotonic() < deadline:  # until the producers wait
        time.sleep(0.2)
        now = plan.stats.rows_read
        if now == until or (until is None and now == before):
            break
        before = now
    batches.close()  # type: ignore[attr-defined]  # a generator
    return plan.stats.rows_read


def test_a_full_export_reads_less_ahead_than_a_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every row of a full export is a big batch the encoder waits for: decoding far ahead only holds memory.
    everyone = ",".join(str(ORGANISATION_BASE + number) for number in range(12))
    assert rows_read_while_waiting(f"organisation-entity={everyone}", monkeypatch, until=12_000) == 12_000
    assert rows_read_while_waiting("", monkeypatch) <= 5 * scan.MIN_BATCH_ROWS
