"""Broken Parquet files: truncated, not Parquet at all, empty, zero rows, missing columns, a corrupt data page.

A file that cannot be read is a ``corrupt-source`` problem before the first byte, or a failed stream after it;
never a partial body that parses as complete. A valid file with zero rows is a valid, empty result.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reliability.checks import check_headers, count_rows, function_url_event, request_logs
from worker.app import App
from worker.config import WorkerSettings
from worker.errors import CorruptSource
from worker.tracing import NullTracer

BIG = "title-boundary"
Breaker = Callable[[Path], None]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"PAR1" + bytes(range(256)) * 40 + b"PAR1")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _bad_footer_length(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-8:-4] = (2**31 - 1).to_bytes(4, "little")  # a footer longer than the file
    path.write_bytes(bytes(data))


@pytest.fixture
def folder(tmp_path: Path, samples: Path) -> Path:
    for name in (BIG, "tree"):
        shutil.copy(samples / f"{name}.parquet", tmp_path / f"{name}.parquet")
    return tmp_path


def answer(folder: Path, path: str, query: str = "") -> tuple[int, dict[str, str], bytes]:
    app = App(WorkerSettings(source=str(folder)), tracer=NullTracer())
    response = app.handle(function_url_event("GET", path, query, "identity"))
    check_headers(response.headers.items())
    return response.status, response.headers, b"".join(response.body)


def logged(capfd: pytest.CaptureFixture[str]) -> dict[str, object]:
    lines = request_logs(capfd.readouterr().err)
    last: dict[str, object] = lines[-1]
    return last


@pytest.mark.parametrize(
    "breaker",
    [
        pytest.param(_truncate, id="truncated"),
        pytest.param(_garbage, id="not-parquet"),
        pytest.param(_empty, id="zero-bytes"),
        pytest.param(_bad_footer_length, id="footer-length"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "parquet"], ids=str)
def test_an_unreadable_file_is_a_corrupt_source_problem(
    folder: Path, capfd: pytest.CaptureFixture[str], breaker: Breaker, fmt: str
) -> None:
    breaker(folder / f"{BIG}.parquet")
    status, headers, body = answer(folder, f"/{BIG}.{fmt}", "limit=10")
    assert status == 502
    assert headers["cache-control"] == "no-store"
    assert json.loads(body)["code"] == "corrupt-source"
    line = logged(capfd)
    assert (line["status"], line["error_code"], line["level"]) == (502, "corrupt-source", "error")


def _corrupt_row_group(path: Path, index: int) -> None:
    """Overwrite the page headers of one row group's column chunks with 0xFF: the footer stays valid."""
    metadata = pq.ParquetFile(path).metadata
    data = bytearray(path.read_bytes())
    group = metadata.row_group(index)
    for column in range(group.num_columns):
        chunk = group.column(column)
        start = chunk.dictionary_page_offset or chunk.data_page_offset
        data[start : start + 32] = b"\xff" * 32
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "geojson", "parquet"], ids=str)
def test_a_corrupt_row_group_after_the_first_byte_fails_the_stream(
    folder: Path, capfd: pytest.CaptureFixture[str], fmt: str
) -> None:
    _corrupt_row_group(folder / f"{BIG}.parquet", 6)
    app = App(WorkerSettings(source=str(folder)), tracer=NullTracer())
    response = app.handle(function_url_event("GET", f"/{BIG}.{fmt}", "limit=100000", "identity"))
    assert response.status == 200
    received: list[bytes] = []
    with pytest.raises(CorruptSource):
        received.extend(response.body)
    assert received
    data = b"".join(received)
    if fmt in ("csv", "ndjson"):  # whole lines parse: the row count (and the transport) shows the failure
        assert count_rows(fmt, data, None) <= 6_000
    else:
        with pytest.raises(Exception):  # noqa: B017, PT011  # any parse failure: not a complete file
            count_rows(fmt, data, None)
    assert logged(capfd)["error_code"] == "corrupt-source"


def test_a_corrupt_first_row_group_is_a_problem_before_the_first_byte(
    folder: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _corrupt_row_group(folder / f"{BIG}.parquet", 0)
    status, _, body = answer(folder, f"/{BIG}.csv")
    assert (status, json.loads(body)["code"]) == (502, "corrupt-source")
    assert logged(capfd)["error_code"] == "corrupt-source"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        pytest.param("csv", b"entity,name\n", id="csv"),
        pytest.param("json", b"[]", id="json"),
        pytest.param("ndjson", b"", id="ndjson"),
    ],
)
def test_a_zero_row_file_is_a_valid_empty_result(folder: Path, fmt: str, expected: bytes) -> None:
    pq.write_table(
        pa.table({"entity": pa.array([], pa.int64()), "name": pa.array([], pa.string())}), folder / "e.parquet"
    )
    status, _, body = answer(folder, f"/e.{fmt}")
    assert status == 200
    assert body.strip() == expected.strip()


def test_a_zero_row_file_as_parquet_is_a_valid_file(folder: Path) -> None:
    pq.write_table(pa.table({"entity": pa.array([], pa.int64())}), folder / "e.parquet")
    status, _, body = answer(folder, "/e.parquet", "limit=5")
    assert status == 200
    table = pq.read_table(io.BytesIO(body))
    assert (table.num_rows, table.schema.names) == (0, ["entity"])


def test_missing_columns_are_a_400_that_lists_the_columns(folder: Path, capfd: pytest.CaptureFixture[str]) -> None:
    pq.write_table(pa.table({"entity": [1, 2]}), folder / "thin.parquet")
    status, _, body = answer(folder, "/thin.csv", "organisation-entity=1&fields=entity,name")
    document = json.loads(body)
    assert (status, document["code"]) == (400, "unknown-column")
    assert '"organisation-entity"' in document["detail"]
    assert "Its columns are: entity." in document["detail"]
    assert logged(capfd)["error_code"] == "unknown-column"


def test_geojson_of_a_file_without_geometry_is_a_400(folder: Path) -> None:
    pq.write_table(pa.table({"entity": [1, 2]}), folder / "thin.parquet")
    status, _, body = answer(folder, "/thin.geojson")
    assert (status, json.loads(body)["code"]) == (400, "no-geometry")


def _with_invalid_text(path: Path, rows: int, bad_row: int, row_group_size: int) -> None:
    """A file whose ``name`` holds bytes that are not UTF-8 at ``bad_row`` (pyarrow writes a string as it is given);
    ``organisation-entity`` alternates 5 and 6, so no row group's statistics rule out either."""
    values = [b"\xff\xfe not UTF-8" if row == bad_row else f"name {row}".encode() for row in range(rows)]
    offsets = [0]
    for value in values:
        offsets.append(offsets[-1] + len(value))
    name = pa.Array.from_buffers(
        pa.string(), rows, [None, pa.array(offsets, pa.int32()).buffers()[1], pa.py_buffer(b"".join(values))]
    )
    table = pa.table({"entity": range(rows), "organisation-entity": [5 + row % 2 for row in range(rows)], "name": name})
    pq.write_table(table, path, row_group_size=row_group_size)


@pytest.mark.parametrize(
    ("query", "decoder"),
    [
        pytest.param("", "pyarrow", id="unfiltered-pyarrow"),
        pytest.param("organisation-entity=6", "duckdb", id="filtered-duckdb"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "parquet"], ids=str)
def test_text_that_is_not_utf8_is_a_corrupt_source_whichever_decoder_reads_it(
    folder: Path, capfd: pytest.CaptureFixture[str], fmt: str, query: str, decoder: str
) -> None:
    # pyarrow's reader does not check text; without the worker's check the download was a 200 whose body was not
    # UTF-8 (invalid JSON), while the same file filtered through DuckDB was a 502.
    _with_invalid_text(folder / "bad.parquet", 4, 1, 4)
    status, _, body = answer(folder, f"/bad.{fmt}", query)
    document = json.loads(body)
    assert (status, document["code"]) == (502, "corrupt-source")
    assert "UTF" in document["detail"]
    line = logged(capfd)
    assert (line["error_code"], line["decoder"]) == ("corrupt-source", decoder)


def test_text_that_is_not_utf8_after_the_first_byte_fails_the_stream(folder: Path) -> None:
    _with_invalid_text(folder / "bad.parquet", 60_000, 55_000, 10_000)
    app = App(WorkerSettings(source=str(folder)), tracer=NullTracer())
    response = app.handle(function_url_event("GET", "/bad.ndjson", "", "identity"))
    assert response.status == 200
    received: list[bytes] = []
    with pytest.raises(CorruptSource, match="column 'name'"):
        received.extend(response.body)
    lines = b"".join(received).splitlines()
    assert 0 < len(lines) <= 55_000
    assert all(json.loads(line) for line in lines)  # every line out is valid JSON (so valid UTF-8)
