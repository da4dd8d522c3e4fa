"""Assertions shared by the bad-input suites: safe response headers, problem documents, counted rows."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from edge.contract import DownloadRequest
from edge.problem import PROBLEM_CONTENT_TYPE

# Visible ASCII and space: nothing that could end a header line (CR, LF), truncate it (NUL) or be re-encoded.
SAFE_HEADER = re.compile(r"[\x20-\x7e]*")
DISPOSITION = re.compile(r'attachment; filename="[a-z0-9][a-z0-9-]{0,80}\.(csv|json|ndjson|parquet|geojson)"')
CLIENT_ERRORS = frozenset({400, 404, 405, 414})


def request_logs(text: str) -> list[dict[str, Any]]:
    """The worker's request log lines (one JSON object each, starting ``{"time"``) in captured ``text``."""
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"time"')]


def check_headers(headers: Iterable[tuple[str, str]]) -> None:
    """Every header name is a token and every value visible ASCII; Content-Disposition is a safe attachment."""
    for name, value in headers:
        assert re.fullmatch(r"[A-Za-z0-9-]+", name), name
        assert SAFE_HEADER.fullmatch(value), (name, value)
        if name.lower() == "content-disposition":
            assert DISPOSITION.fullmatch(value), value


def check_problem(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """A 4xx problem+json: ASCII JSON whose ``status`` is the response's; returns the document."""
    assert status in CLIENT_ERRORS, status
    assert headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert body.isascii()
    document: dict[str, Any] = json.loads(body)
    assert document["status"] == status
    assert document["type"].endswith(document["code"])
    assert isinstance(document["detail"], str)
    return document


@cache
def _table(path: Path) -> pa.Table:
    return pq.read_table(path)


def expected_rows(folder: Path, request: DownloadRequest) -> int:
    """Rows the request should return, computed on the whole table with pyarrow (not the worker's scan)."""
    table = _table(folder / f"{request.dataset}.parquet")
    for column, values in request.filters:
        target = table.schema.field(column).type
        table = table.filter(pc.is_in(table.column(column), value_set=pa.array(values, pa.string()).cast(target)))
    rows = table.num_rows
    return rows if request.limit is None else min(rows, request.limit)


def count_rows(fmt: str, body: bytes, encoding: str | None) -> int:
    """Rows in a complete download body of ``fmt`` (decompressing gzip first); raises if it does not parse."""
    data = gzip.decompress(body) if encoding == "gzip" else body
    if fmt == "csv":
        options = pa_csv.ParseOptions(newlines_in_values=True)
        return int(pa_csv.read_csv(io.BytesIO(data), parse_options=options).num_rows)
    if fmt == "ndjson":
        return sum(1 for line in data.splitlines() if json.loads(line) is not None)
    if fmt == "json":
        return len(json.loads(data))
    if fmt == "geojson":
        return len(json.loads(data)["features"])
    return int(pq.read_table(io.BytesIO(data)).num_rows)


def function_url_event(method: str, path: str, query: str, header: str) -> dict[str, Any]:
    """A Function URL event (payload 2.0) as the Lambda service builds it, with hostile header values."""
    headers = {
        "accept-encoding": header if header else "gzip",
        "if-none-match": header,
        "x-download-trace": header,
        "x-download-cache-key": header,
        "x-amz-cf-id": header,
    }
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": path}},
    }
