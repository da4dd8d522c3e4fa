"""Downloads through the whole local stack (viewer edge → cache → origin edge → worker → HTTP), on a local
folder and on moto S3, read back with real clients and compared with rows DuckDB computes from the source.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests

from tests.e2e.conftest import Oracle, Served
from worker.app import App
from worker.config import WorkerSettings
from worker.tracing import NullTracer

BIG = "title-boundary"


def get(served: Served, path: str, **headers: str) -> requests.Response:
    """One GET through the stack (no redirects followed; identity unless another encoding is asked for)."""
    sent = {"Accept-Encoding": "identity", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return requests.get(served.base_url + path, headers=sent, allow_redirects=False, timeout=60)


def get_raw(served: Served, path: str, **headers: str) -> tuple[requests.Response, bytes]:
    """A GET whose body is returned as sent on the wire (requests would otherwise decode gzip)."""
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    response = requests.get(served.base_url + path, headers=sent, allow_redirects=False, timeout=60, stream=True)
    with response:
        return response, response.raw.read(decode_content=False)


def as_json_value(value: Any) -> Any:
    """A source value as the JSON encoder writes it (docs/formats.md)."""
    return value.isoformat() if isinstance(value, dt.date) else value


def as_csv_field(value: Any) -> str:
    """A source value as the CSV encoder writes it (null and empty string both read back as '')."""
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def org_filter(oracle: Oracle, rank: int) -> tuple[int, int]:
    """The organisation at ``rank`` in the skewed distribution, and its row count."""
    return oracle.organisations(BIG)[rank]


def test_filtered_csv_matches_the_source(served: Served, oracle: Oracle) -> None:
    org, count = org_filter(oracle, 3)
    response = get(served, f"/{BIG}.csv?organisation-entity={org}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{BIG}-organisation-entity-{org}.csv"'
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["x-download-trace-id"].startswith("1-")
    frame = pd.read_csv(io.BytesIO(response.content), dtype=str, keep_default_na=False)
    expected = oracle.rows(BIG, f'"organisation-entity" = {org}')
    assert len(frame) == count == len(expected)
    assert list(frame.columns) == list(expected[0])
    got = frame.to_dict(orient="records")
    assert got == [{k: as_csv_field(v) for k, v in row.items()} for row in expected]


def test_many_values_and_fields_as_json(served: Served, oracle: Oracle) -> None:
    orgs = [org_filter(oracle, rank)[0] for rank in (0, 5, 50)]
    query = "organisation-entity=" + ",".join(map(str, orgs)) + "&fields=name,entity,end-date"
    response = get(served, f"/{BIG}.json?{query}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    rows = json.loads(response.content)
    where = f'"organisation-entity" IN ({",".join(map(str, orgs))})'
    expected = oracle.rows(BIG, where, columns='name, entity, "end-date"')
    assert rows == [{k: as_json_value(v) for k, v in row.items()} for row in expected]
    assert list(rows[0]) == ["name", "entity", "end-date"]


def test_several_columns_as_ndjson_read_by_duckdb(served: Served, oracle: Oracle, tmp_path: Path) -> None:
    org, _ = org_filter(oracle, 0)
    quality = "authoritative"
    response = get(served, f"/{BIG}.ndjson?quality={quality}&organisation-entity={org}")
    assert response.status_code == 200
    lines = response.content.decode("utf-8").split("\n")
    assert lines[-1] == ""  # every line ends in \n
    rows = [json.loads(line) for line in lines[:-1]]
    expected = oracle.rows(BIG, f"\"organisation-entity\" = {org} AND quality = '{quality}'")
    assert rows == [{k: as_json_value(v) for k, v in row.items()} for row in expected]
    path = tmp_path / "download.ndjson"
    path.write_bytes(response.content)
    sql = "SELECT count(*), count(DISTINCT entity) FROM read_json(?, format='newline_delimited')"
    assert duckdb.connect().execute(sql, [str(path)]).fetchone() == (len(expected), len(expected))


def test_parquet_with_limit_and_fields(served: Served, oracle: Oracle) -> None:
    response = get(served, f"/{BIG}.parquet?fields=entity,start-date,geometry&limit=777")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert "content-encoding" not in response.headers
    table = pq.read_table(io.BytesIO(response.content))
    assert table.column_names == ["entity", "start-date", "geometry"]
    expected = oracle.rows(BIG, columns='entity, "start-date", geometry', limit=777)
    assert table.to_pylist() == expected


def test_geojson_features_carry_the_rows(served: Served, oracle: Oracle) -> None:
    org, count = org_filter(oracle, 10)
    response = get(served, f"/{BIG}.geojson?organisation-entity={org}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    document = json.loads(response.content)
    assert document["type"] == "FeatureCollection"
    expected = oracle.rows(BIG, f'"organisation-entity" = {org}')
    assert len(document["features"]) == count == len(expected)
    for feature, row in zip(document["features"], expected, strict=True):
        assert feature["type"] == "Feature"
        assert feature["properties"]["entity"] == row["entity"]
        assert "geometry" not in feature["properties"]
        if row["geometry"] is None:
            assert feature["geometry"] is None
        else:
            assert feature["geometry"]["type"].upper() == row["geometry"].split(" ", 1)[0].split("(")[0].upper()


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        pytest.param("csv", lambda b: b.decode().split("\n")[1:] == [""], id="csv-header-only"),
        pytest.param("json", lambda b: json.loads(b) == [], id="json-empty-array"),
        pytest.param("ndjson", lambda b: b == b"", id="ndjson-empty"),
        pytest.param("geojson", lambda b: json.loads(b)["features"] == [], id="geojson-no-features"),
        pytest.param("parquet", lambda b: pq.read_table(io.BytesIO(b)).num_rows == 0, id="parquet-zero-rows"),
    ],
)
def test_a_filter_that_matches_nothing(served: Served, fmt: str, check: Any) -> None:
    response = get(served, f"/{BIG}.{fmt}?organisation-entity=1")
    assert response.status_code == 200
    assert check(response.content)


def test_head_has_the_get_headers_and_no_body(served: Served) -> None:
    got = get(served, "/tree.csv?limit=5")
    head = requests.head(served.base_url + "/tree.csv?limit=5", headers={"Accept-Encoding": "identity"}, timeout=30)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-disposition", "etag", "last-modified", "cache-control", "vary"):
        assert head.headers[name] == got.headers[name]


def test_if_none_match_gives_304_and_a_new_encoding_a_new_etag(served: Served) -> None:
    first = get(served, "/conservation-area.json?limit=3")
    tag = first.headers["etag"]
    assert tag.startswith('"')  # strong
    again = get(served, "/conservation-area.json?limit=3", If_None_Match=tag)
    assert again.status_code == 304
    assert again.content == b""
    zipped = get(served, "/conservation-area.json?limit=3", Accept_Encoding="gzip")
    assert zipped.headers["etag"] != tag


def test_gzip_is_the_same_document(served: Served) -> None:
    plain = get(served, f"/{BIG}.csv?limit=2000")
    zipped, wire = get_raw(served, f"/{BIG}.csv?limit=2000", Accept_Encoding="gzip, br")
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert len(wire) < len(plain.content) / 3
    assert gzip.decompress(wire) == plain.content
    parquet = get(served, f"/{BIG}.parquet?limit=10", Accept_Encoding="gzip")
    assert "content-encoding" not in parquet.headers


def test_output_is_deterministic(served: Served) -> None:
    app = App(WorkerSettings(source=str(served.folder)), tracer=NullTracer())
    event = {
        "rawPath": f"/{BIG}.json",
        "rawQueryString": "limit=500",
        "headers": {"accept-encoding": "gzip"},
        "requestContext": {"http": {"method": "GET"}},
    }
    first, second = app.handle(event), app.handle(event)
    assert first.headers["etag"] == second.headers["etag"]
    assert b"".join(first.body) == b"".join(second.body)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        pytest.param("GET", "/tree.csv?organization_entity=1", 400, "unknown-parameter", id="misspelled-filter"),
        pytest.param("GET", "/tree.xlsx", 400, "unsupported-format", id="format"),
        pytest.param("GET", "/tree.csv?fields=nope", 400, "unknown-column", id="unknown-column"),
        pytest.param("GET", "/tree.csv?entity=12x", 400, "invalid-filter-value", id="bad-integer"),
        pytest.param("GET", "/tree.geojson?fields=entity,name", 400, "no-geometry", id="no-geometry"),
        pytest.param("GET", "/no-such-dataset.csv", 404, "dataset-not-found", id="missing-dataset"),
        pytest.param("POST", "/tree.csv", 405, "method-not-allowed", id="post"),
    ],
)
def test_errors_are_problem_documents(served: Served, method: str, path: str, status: int, code: str) -> None:
    response = requests.request(method, served.base_url + path, timeout=30, allow_redirects=False)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"].endswith(code)
    assert problem["title"]
    assert problem["detail"]
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


def test_unknown_column_lists_the_dataset_columns(served: Served) -> None:
    problem = get(served, "/tree.csv?fields=entity,colour").json()
    assert "colour" in problem["detail"]
    assert "organisation-entity" in problem["detail"]


def test_whole_parquet_redirects_to_the_source_object(served: Served) -> None:
    response = get(served, "/tree.parquet")
    assert response.status_code == 302
    assert response.headers["location"] == "/source/tree.parquet"
    source = get(served, response.headers["location"])
    assert source.status_code == 200
    assert source.content == (served.folder / "tree.parquet").read_bytes()


def test_repeated_spellings_share_one_cache_entry(served: Served) -> None:
    first = get(served, "/Tree.CSV?Organization-Entity=600004,600001&limit=3")
    second = get(served, "/tree.csv?limit=3&organisation-entity=600001&organisation-entity=600004")
    assert first.content == second.content
    assert second.headers["x-cache"].startswith("Hit")


def test_a_cached_response_answers_conditional_requests_like_the_worker(served: Served) -> None:
    first = get(served, "/tree.json?limit=4")
    tag = first.headers["etag"]
    hit = get(served, "/tree.json?limit=4", If_None_Match=f'"other", W/{tag}')
    assert hit.headers["x-cache"].startswith("Hit")
    assert hit.status_code == 304
    assert hit.headers["etag"] == tag
    assert hit.headers["x-download-trace-id"] == first.headers["x-download-trace-id"]
    assert hit.headers["access-control-allow-origin"] == "*"
