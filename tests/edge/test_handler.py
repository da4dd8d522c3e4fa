from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.canonical import canonical_query, canonical_uri
from edge.config import EdgeConfig
from edge.contract import parse_request
from edge.handler import handle, handler
from edge.headers import ORIGIN_REQUEST, READ_ONLY, VIEWER_REQUEST, is_disallowed
from edge.trace_context import parse_trace_context
from tests.edge.conftest import AP_WORKER, EU_WORKER, US_WORKER
from tests.edge.events import cf_request, event_names, load_event

REQUEST_EVENTS = [name for name in event_names() if "-request-" in name]


def _header(headers: dict[str, list[dict[str, str]]], name: str) -> str:
    [entry] = headers[name]
    return entry["value"]


def _problem(response: dict[str, Any]) -> dict[str, Any]:
    assert _header(response["headers"], "content-type") == "application/problem+json"
    body: dict[str, Any] = json.loads(response["body"])
    assert body["status"] == int(response["status"])
    return body


@pytest.mark.parametrize(
    ("name", "uri", "query"),
    [
        pytest.param(
            "cloudfront-viewer-request-csv-filtered",
            "/conservation-area.csv",
            "fields=name,reference&organisation-entity=1,2",
            id="csv-filtered",
        ),
        pytest.param(
            "cloudfront-viewer-request-canonical",
            "/conservation-area.csv",
            "fields=name,reference&organisation-entity=1,2",
            id="already-canonical",
        ),
        pytest.param("cloudfront-viewer-request-head", "/conservation-area.ndjson", "limit=10", id="head"),
        pytest.param("cloudfront-viewer-request-parquet-whole", "/tree.parquet", "", id="parquet-whole"),
    ],
)
def test_viewer_request_rewrites_to_the_canonical_form(config: EdgeConfig, name: str, uri: str, query: str) -> None:
    event = load_event(name)
    result = handle(event, config, "eu-west-2")
    assert result is cf_request(event)
    assert (result["uri"], result["querystring"]) == (uri, query)
    assert "origin" not in result


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        pytest.param("cloudfront-viewer-request-misspelled-filter", "400", "unknown-parameter", id="misspelled"),
        pytest.param("cloudfront-viewer-request-post", "405", "method-not-allowed", id="post"),
        pytest.param("cloudfront-viewer-request-unknown-format", "400", "unsupported-format", id="unknown-format"),
        pytest.param("cloudfront-viewer-request-traversal", "400", "invalid-path", id="traversal"),
        pytest.param("cloudfront-viewer-request-bad-limit", "400", "invalid-parameter", id="bad-limit"),
        pytest.param("cloudfront-origin-request-misspelled-filter", "400", "unknown-parameter", id="origin-misspelled"),
    ],
)
def test_bad_requests_get_a_cacheable_problem(config: EdgeConfig, name: str, status: str, code: str) -> None:
    response = handle(load_event(name), config, "eu-west-2")
    assert response["status"] == status
    assert response["statusDescription"]
    assert _problem(response)["code"] == code
    assert _header(response["headers"], "cache-control") == "public, max-age=30"
    assert _header(response["headers"], "access-control-allow-origin") == "*"
    assert ("allow" in response["headers"]) == (status == "405")


def test_misspelled_filter_suggests_the_parameter(config: EdgeConfig) -> None:
    body = _problem(handle(load_event("cloudfront-viewer-request-misspelled-filter"), config, None))
    assert body["invalid-params"] == [
        {"name": "organization_entity", "reason": "unknown parameter; did you mean 'organisation-entity'?"}
    ]


def test_405_lists_the_allowed_methods(config: EdgeConfig) -> None:
    response = handle(load_event("cloudfront-viewer-request-post"), config, None)
    assert response["headers"]["allow"] == [{"key": "Allow", "value": "GET, HEAD"}]


def test_a_too_long_uri_is_414(config: EdgeConfig) -> None:
    event = load_event("cloudfront-viewer-request-canonical")
    cf_request(event)["querystring"] = "entity=" + "1," * 1100
    assert handle(event, config, None)["status"] == "414"


def test_options_is_a_cors_preflight_without_body(config: EdgeConfig) -> None:
    response = handle(load_event("cloudfront-viewer-request-options"), config, None)
    assert response["status"] == "204"
    assert "body" not in response  # a 204 with a body is a 502 in viewer-request
    headers = response["headers"]
    assert _header(headers, "access-control-allow-origin") == "*"
    assert _header(headers, "access-control-allow-methods") == "GET, HEAD"
    assert int(_header(headers, "access-control-max-age")) > 0


@pytest.mark.parametrize(
    ("region", "domain"),
    [
        pytest.param("eu-west-2", EU_WORKER, id="same-region"),
        pytest.param("eu-central-1", EU_WORKER, id="same-geography"),
        pytest.param("ap-northeast-1", AP_WORKER, id="same-geography-ap"),
        pytest.param("sa-east-1", US_WORKER, id="default"),
        pytest.param(None, US_WORKER, id="no-region"),
    ],
)
def test_origin_request_routes_to_the_nearest_worker(config: EdgeConfig, region: str | None, domain: str) -> None:
    event = load_event("cloudfront-origin-request-csv-filtered")
    result = handle(event, config, region)
    custom = result["origin"]["custom"]
    assert (custom["domainName"], custom["port"], custom["protocol"]) == (domain, 443, "https")
    assert _header(result["headers"], "host") == domain
    assert _header(result["headers"], "x-download-cache-key") == (
        "/conservation-area.csv?fields=name,reference&organisation-entity=1,2"
    )


def test_origin_request_stamps_a_trace_context(config: EdgeConfig) -> None:
    result = handle(load_event("cloudfront-origin-request-csv-filtered"), config, "eu-west-2")
    trace = parse_trace_context(_header(result["headers"], "x-download-trace"))
    assert trace is not None
    assert trace.request_id == "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="
    assert (trace.region, trace.decision) == ("eu-west-2", "worker:eu-west-2")
    assert trace.start > 1_600_000_000
    assert trace.duration >= 0


def test_an_s3_origin_is_replaced_by_the_worker(config: EdgeConfig) -> None:
    result = handle(load_event("cloudfront-origin-request-s3-origin"), config, "eu-west-2")
    assert set(result["origin"]) == {"custom"}
    custom = result["origin"]["custom"]
    assert set(custom) == {
        "customHeaders",
        "domainName",
        "keepaliveTimeout",
        "path",
        "port",
        "protocol",
        "readTimeout",
        "sslProtocols",
    }
    assert custom["domainName"] == EU_WORKER
    assert _header(result["headers"], "host") == EU_WORKER


def test_a_loopback_worker_is_reached_over_http_with_its_port(config: EdgeConfig) -> None:
    local = replace(config, workers={"eu-west-2": "127.0.0.1:8123"}, default_worker_region="eu-west-2")
    result = handle(load_event("cloudfront-origin-request-csv-filtered"), local, None)
    custom = result["origin"]["custom"]
    assert (custom["domainName"], custom["port"], custom["protocol"]) == ("127.0.0.1", 8123, "http")
    assert _header(result["headers"], "host") == "127.0.0.1:8123"


def test_the_whole_parquet_source_is_a_cacheable_redirect(config: EdgeConfig) -> None:
    response = handle(load_event("cloudfront-origin-request-parquet-whole"), config, "eu-west-2")
    assert (response["status"], response["statusDescription"]) == ("302", "Found")
    assert _header(response["headers"], "location") == "https://data.example.org/source/tree.parquet"
    assert _header(response["headers"], "cache-control") == "public, max-age=7200"


def test_a_filtered_parquet_goes_to_the_worker(config: EdgeConfig) -> None:
    result = handle(load_event("cloudfront-origin-request-parquet-filtered"), config, "eu-west-2")
    assert result["origin"]["custom"]["domainName"] == EU_WORKER


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("cloudfront-viewer-request-forged-headers", id="viewer"),
        pytest.param("cloudfront-origin-request-forged-headers", id="origin"),
    ],
)
def test_viewer_supplied_download_headers_are_not_trusted(config: EdgeConfig, name: str) -> None:
    result = handle(load_event(name), config, "eu-west-2")
    ours = {key: _header(result["headers"], key) for key in result["headers"] if key.startswith("x-download-")}
    if "viewer" in name:
        assert ours == {}
    else:
        assert set(ours) == {"x-download-cache-key", "x-download-trace"}
        assert ours["x-download-cache-key"] == "/conservation-area.json?entity=7"
        trace = parse_trace_context(ours["x-download-trace"])
        assert trace is not None
        assert trace.request_id != "forged"


def test_a_viewer_signature_never_passes_the_viewer_request(config: EdgeConfig) -> None:
    # with the worker OAC's SigningBehavior no-override, a viewer Authorization must not stop CloudFront signing
    result = handle(load_event("cloudfront-viewer-request-forged-signature"), config, "eu-west-2")
    assert result["uri"] == "/conservation-area.csv"
    assert not {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"} & set(result["headers"])


@pytest.mark.parametrize("name", REQUEST_EVENTS, ids=str)
def test_no_disallowed_header_and_no_read_only_change(config: EdgeConfig, name: str) -> None:
    event = load_event(name)
    kind = event["Records"][0]["cf"]["config"]["eventType"]
    before = {key: value for key, value in cf_request(event)["headers"].items() if key in READ_ONLY[kind]}
    result = handle(event, config, "eu-west-2")
    assert not [key for key in result["headers"] if is_disallowed(key)]
    assert all(key == entry["key"].lower() for key, entries in result["headers"].items() for entry in entries)
    if "status" not in result:
        after = {key: value for key, value in result["headers"].items() if key in READ_ONLY[kind]}
        assert after == before


def test_host_is_changed_in_origin_request_only(config: EdgeConfig) -> None:
    assert "host" not in READ_ONLY[ORIGIN_REQUEST]
    assert "host" in READ_ONLY[VIEWER_REQUEST]
    viewer = handle(load_event("cloudfront-viewer-request-csv-filtered"), config, "eu-west-2")
    assert _header(viewer["headers"], "host") == "d111111abcdef8.cloudfront.net"


def test_an_unknown_event_type_is_a_clear_error(config: EdgeConfig) -> None:
    with pytest.raises(ValueError, match="viewer-response"):
        handle(load_event("cloudfront-viewer-response-unsupported"), config, None)


def test_a_non_cloudfront_event_is_a_clear_error(config: EdgeConfig) -> None:
    with pytest.raises(ValueError, match="eventType"):
        handle({"rawPath": "/tree.csv"}, config, None)


def test_the_lambda_entry_point_reads_the_config_file_and_region(config_file: Path) -> None:
    result = handler(load_event("cloudfront-origin-request-csv-filtered"), None)
    assert result["origin"]["custom"]["domainName"] == EU_WORKER
    response = handler(load_event("cloudfront-viewer-request-post"), None)
    assert _header(response["headers"], "cache-control") == "public, max-age=30"


_GARBAGE_PIECES = st.sampled_from(
    [
        *["%", "%2", "%zz", "%2F", "%2f", "%2E", "%e9", "%C3%A9", "%00", "%FF"],
        *["&", "=", ",", "+", ".", "/", "..", "\\"],
        *["entity", "Fields", "limit", "organization-entity", "quality", "csv", "PARQUET", "\x00", "\u00e9", "\ud800"],
    ]
)
_GARBAGE = st.lists(_GARBAGE_PIECES | st.text(max_size=4), max_size=12).map("".join)
_DATASETS = st.from_regex(r"(?:[A-Za-z0-9-]|%4[1-9a-f]){1,10}", fullmatch=True)
_FORMATS = st.sampled_from(["csv", "JSON", "parquet", "x"])
_LIKELY_PATHS = st.builds("/{}.{}".format, _DATASETS, _FORMATS)
_PATHS = st.one_of(_LIKELY_PATHS, _GARBAGE, st.text())
_NAMES = st.sampled_from(["entity", "Entity", "organization-entity", "reference", "fields", "limit", "%65ntity", "x"])
_PAIRS = st.lists(st.tuples(_NAMES, st.from_regex(r"[0-9a-z,]{0,6}", fullmatch=True) | _GARBAGE), max_size=5)
_QUERIES = _GARBAGE | _PAIRS.map(lambda pairs: "&".join(f"{name}={value}" for name, value in pairs))
_EVENTS = st.sampled_from(["cloudfront-viewer-request-canonical", "cloudfront-origin-request-csv-filtered"])


@given(name=_EVENTS, method=st.sampled_from(["GET", "HEAD", "POST"]), path=_PATHS, query=_QUERIES)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_arbitrary_input_gives_a_problem_or_a_canonical_request(
    config: EdgeConfig, name: str, method: str, path: str, query: str
) -> None:
    event = load_event(name)
    request = cf_request(event)
    request.update(method=method, uri=path, querystring=query)
    result = handle(event, config, "eu-west-2")
    assert not [key for key in result["headers"] if is_disallowed(key)]
    if "status" in result:
        assert result["status"] in {"400", "405", "414"} or (result["status"] == "302" and "origin-" in name)
        if result["status"] != "302":
            json.loads(result["body"])
            _problem(result)
        return
    canonical = parse_request(method, result["uri"], result["querystring"])
    assert (canonical_uri(canonical), canonical_query(canonical)) == (result["uri"], result["querystring"])
    assert parse_request(method, path, query) == canonical
