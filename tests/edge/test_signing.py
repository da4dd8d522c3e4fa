"""The edge signs what it sends to another region's worker, and only that; checked by an independent verifier."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from edge.config import ACCESS_KEY_ENV, SECRET_KEY_ENV, SESSION_TOKEN_ENV, EdgeConfig
from edge.handler import handle
from edge.signing import (
    EMPTY_BODY_SHA256,
    SigningError,
    function_url_region,
    needs_signing,
    role_credentials,
    sign_origin_request,
    signing_query,
)
from tests.edge.conftest import (
    AP_WORKER,
    CONFIG_DOCUMENT,
    EU_WORKER,
    FAKE_ACCESS_KEY,
    FAKE_SECRET_KEY,
    FAKE_SESSION_TOKEN,
    US_WORKER,
)
from tests.edge.events import cf_request, load_event
from tests.edge.sigv4 import InvalidSignature, Scope, Sent, verify

ROOT = Path(__file__).resolve().parents[2]
SIGNATURE_HEADERS = {"authorization", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"}
# What CloudFront does to the request after the function returns (and a worker therefore must not need signed).
CLOUDFRONT_ADDS = {
    "x-amz-cf-id": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
    "via": "2.0 0123456789abcdef.cloudfront.net (CloudFront)",
    "x-forwarded-for": "203.0.113.178, 198.51.100.7",
}


def as_sent(request: dict[str, Any], cloudfront_changes: bool = True) -> Sent:
    """The wire request CloudFront makes from a forwarded request (its own headers added or rewritten)."""
    headers = {name: entries[0]["value"] for name, entries in request["headers"].items()}
    if cloudfront_changes:
        headers.update(CLOUDFRONT_ADDS)
    return Sent(request["method"], request["uri"], request.get("querystring") or "", headers)


def _header(request: dict[str, Any], name: str) -> str:
    [entry] = request["headers"][name]
    return str(entry["value"])


# -- the verifier itself, against AWS's published SigV4 test suite ----------------------------------------------

SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_DATE = "20150830T123600Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", id="get-vanilla"),
        pytest.param(
            "Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            id="get-vanilla-query-order-key-case",
        ),
    ],
)
def test_the_verifier_reproduces_the_aws_test_suite(query: str, expected: str) -> None:
    headers = {"host": "example.amazonaws.com", "x-amz-date": SUITE_DATE}
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={expected}"
    )
    sent = Sent("GET", "/", query, {**headers, "authorization": authorization})
    scope = Scope("AKIDEXAMPLE", "20150830", "us-east-1", "service", ("host", "x-amz-date"))
    assert verify(sent, SUITE_SECRET) == scope
    with pytest.raises(InvalidSignature, match="mismatch"):
        verify(replace(sent, query=query + "&x=1"), SUITE_SECRET)


# -- the signed origin-request ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "region", "domain", "worker_region"),
    [
        pytest.param("cloudfront-origin-request-csv-filtered", "us-east-1", US_WORKER, "us-east-1", id="us"),
        pytest.param("cloudfront-origin-request-csv-filtered", "ap-northeast-1", AP_WORKER, "ap-southeast-2", id="ap"),
        pytest.param("cloudfront-origin-request-parquet-filtered", "sa-east-1", US_WORKER, "us-east-1", id="default"),
        pytest.param("cloudfront-origin-request-forged-headers", "us-west-2", US_WORKER, "us-east-1", id="forged"),
        pytest.param("cloudfront-origin-request-s3-origin", "eu-west-2", EU_WORKER, "eu-west-2", id="from-s3"),
    ],
)
def test_a_switched_origin_request_carries_a_valid_signature(
    config: EdgeConfig, name: str, region: str, domain: str, worker_region: str
) -> None:
    result = handle(load_event(name), config, region)
    assert result["origin"]["custom"]["domainName"] == domain
    assert _header(result, "host") == domain
    scope = verify(as_sent(result), FAKE_SECRET_KEY)
    assert (scope.access_key, scope.region, scope.service) == (FAKE_ACCESS_KEY, worker_region, "lambda")
    # only what CloudFront forwards unchanged is signed: host and the edge's own x-amz-* headers
    assert set(scope.signed_headers) == {"host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"}
    assert _header(result, "x-amz-content-sha256") == hashlib.sha256(b"").hexdigest() == EMPTY_BODY_SHA256
    assert _header(result, "x-amz-security-token") == FAKE_SESSION_TOKEN


@pytest.mark.parametrize(
    ("method", "query"),
    [
        pytest.param("HEAD", "limit=10", id="head"),
        pytest.param("GET", "", id="no-query"),
        pytest.param("GET", "Organization-Entity=b%2Cc,a&entity=1&entity=1&fields=name,point", id="encoded-values"),
        pytest.param("GET", "reference=caf%C3%A9%20%2B%26%3D%2F~x&quality=a.b_c-d", id="reserved-characters"),
    ],
)
def test_the_signature_covers_method_path_and_canonical_query(config: EdgeConfig, method: str, query: str) -> None:
    event = load_event("cloudfront-origin-request-csv-filtered")
    cf_request(event).update(method=method, querystring=query)
    result = handle(event, config, "us-east-1")
    sent = as_sent(result)
    verify(sent, FAKE_SECRET_KEY)
    tampered = [
        replace(sent, method="POST" if method != "POST" else "GET"),
        replace(sent, path="/other.csv"),
        replace(sent, query=sent.query + "&limit=1"),
        replace(sent, headers={**sent.headers, "host": EU_WORKER}),
        replace(sent, body=b"x"),
    ]
    for request in tampered:
        with pytest.raises(InvalidSignature):
            verify(request, FAKE_SECRET_KEY)


def test_without_a_session_token_none_is_sent(config: EdgeConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SESSION_TOKEN_ENV)
    event = load_event("cloudfront-origin-request-csv-filtered")
    cf_request(event)["headers"]["x-amz-security-token"] = [{"key": "X-Amz-Security-Token", "value": "viewer's"}]
    result = handle(event, config, "us-east-1")
    assert "x-amz-security-token" not in result["headers"]
    assert verify(as_sent(result), FAKE_SECRET_KEY).signed_headers == ("host", "x-amz-content-sha256", "x-amz-date")


@pytest.mark.parametrize(
    ("name", "region"),
    [
        pytest.param("cloudfront-origin-request-csv-filtered", "eu-west-2", id="csv"),
        pytest.param("cloudfront-origin-request-parquet-filtered", "eu-central-1", id="same-geography"),
    ],
)
def test_the_default_origin_is_left_to_origin_access_control(config: EdgeConfig, name: str, region: str) -> None:
    event = load_event(name)
    cf_request(event)["headers"]["authorization"] = [{"key": "Authorization", "value": "Bearer viewer"}]
    result = handle(event, config, region)
    assert result["origin"]["custom"]["domainName"] == EU_WORKER  # the origin CloudFront chose
    assert not SIGNATURE_HEADERS & set(result["headers"])  # OAC signs; a viewer's Authorization never stops it


def test_a_loopback_worker_is_never_signed(config: EdgeConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ACCESS_KEY_ENV)
    local = replace(config, workers={"eu-west-2": "127.0.0.1:8123"}, default_worker_region="eu-west-2")
    result = handle(load_event("cloudfront-origin-request-csv-filtered"), local, "eu-west-2")
    assert result["origin"]["custom"]["domainName"] == "127.0.0.1"
    assert not SIGNATURE_HEADERS & set(result["headers"])


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param((ACCESS_KEY_ENV,), id="access-key"),
        pytest.param((SECRET_KEY_ENV,), id="secret-key"),
        pytest.param((ACCESS_KEY_ENV, SECRET_KEY_ENV, SESSION_TOKEN_ENV), id="all"),
    ],
)
def test_missing_credentials_are_an_uncached_502_never_an_unsigned_request(
    config: EdgeConfig, monkeypatch: pytest.MonkeyPatch, missing: tuple[str, ...]
) -> None:
    for name in missing:
        monkeypatch.delenv(name)
    response = handle(load_event("cloudfront-origin-request-csv-filtered"), config, "us-east-1")
    _check_signing_failure(response)


def test_no_botocore_is_an_uncached_502(config: EdgeConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "botocore.auth", None)  # what the import finds where botocore is absent
    response = handle(load_event("cloudfront-origin-request-csv-filtered"), config, "us-east-1")
    assert "botocore" in _check_signing_failure(response)["detail"]


def _check_signing_failure(response: dict[str, Any]) -> dict[str, Any]:
    assert (response["status"], response["statusDescription"]) == ("502", "Bad Gateway")
    assert "origin" not in response  # a generated response: nothing goes to the worker
    assert _header(response, "content-type") == "application/problem+json"
    assert _header(response, "cache-control") == "no-store"
    body: dict[str, Any] = json.loads(response["body"])
    assert (body["status"], body["code"]) == (502, "origin-signing-failed")
    assert FAKE_SECRET_KEY not in response["body"]
    return body


# -- the pieces -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "region"),
    [
        pytest.param(EU_WORKER, "eu-west-2", id="eu"),
        pytest.param(AP_WORKER.upper(), "ap-southeast-2", id="upper-case"),
        pytest.param("abc.lambda-url.us-gov-west-1.on.aws", "us-gov-west-1", id="three-part"),
        pytest.param("127.0.0.1:8000", None, id="loopback"),
        pytest.param("abc.lambda-url.eu-west-2.on.aws.evil.example", None, id="suffix"),
        pytest.param("data.example.org", None, id="other"),
    ],
)
def test_function_url_region(domain: str, region: str | None) -> None:
    assert function_url_region(domain) == region


@pytest.mark.parametrize(
    ("origin", "domain", "expected"),
    [
        pytest.param(EU_WORKER, EU_WORKER, False, id="same"),
        pytest.param(EU_WORKER.upper(), EU_WORKER, False, id="same-any-case"),
        pytest.param(EU_WORKER, US_WORKER, True, id="switched"),
        pytest.param("bucket.s3.eu-west-2.amazonaws.com", EU_WORKER, True, id="from-s3"),
        pytest.param(None, EU_WORKER, True, id="no-origin"),
        pytest.param(EU_WORKER, "127.0.0.1:8001", False, id="loopback"),
        pytest.param(EU_WORKER, "localhost:8001", False, id="localhost"),
    ],
)
def test_needs_signing(origin: str | None, domain: str, expected: bool) -> None:
    assert needs_signing(origin, domain) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("limit=5&entity=1,2", "entity=1%2C2&limit=5", id="sorted-commas"),
        pytest.param("a=%2c&a=%2C&a=,", "a=%2C&a=%2C&a=%2C", id="one-spelling"),
        pytest.param("r=caf%C3%A9%20~", "r=caf%C3%A9%20~", id="utf8-space-tilde"),
        pytest.param("flag", "flag=", id="no-value"),
    ],
)
def test_signing_query(query: str, expected: str) -> None:
    assert signing_query(query) == expected


def test_role_credentials_come_from_the_environment() -> None:
    credentials = role_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        FAKE_ACCESS_KEY,
        FAKE_SECRET_KEY,
        FAKE_SESSION_TOKEN,
    )
    with pytest.raises(SigningError, match="no role credentials"):
        role_credentials({ACCESS_KEY_ENV: "x"})


def test_sign_origin_request_sets_host_and_signs_for_the_given_region() -> None:
    request = copy.deepcopy(cf_request(load_event("cloudfront-origin-request-csv-filtered")))
    sign_origin_request(request, AP_WORKER, "ap-southeast-2", role_credentials())
    assert _header(request, "host") == AP_WORKER
    assert verify(as_sent(request, cloudfront_changes=False), FAKE_SECRET_KEY).region == "ap-southeast-2"


# -- botocore stays out of the cold start and the viewer path ---------------------------------------------------

_PROBE = """
import json, sys
from edge.config import EdgeConfig
from edge.handler import handle
config = EdgeConfig.from_dict(json.loads(sys.argv[1]))
events = json.loads(sys.argv[2])
seen = {"import": "botocore" in sys.modules}
handle(events["viewer"], config, "us-east-1")
seen["viewer-request"] = "botocore" in sys.modules
handle(events["default"], config, "eu-west-2")
seen["origin-request, default origin"] = "botocore" in sys.modules
signed = handle(events["default"], config, "us-east-1")
seen["origin-request, signed"] = "botocore" in sys.modules and "authorization" in signed["headers"]
print(json.dumps(seen))
"""


def test_botocore_is_imported_by_a_signed_request_only() -> None:
    events = {
        "viewer": load_event("cloudfront-viewer-request-csv-filtered"),
        "default": load_event("cloudfront-origin-request-csv-filtered"),
    }
    env = {
        ACCESS_KEY_ENV: FAKE_ACCESS_KEY,
        SECRET_KEY_ENV: FAKE_SECRET_KEY,
        SESSION_TOKEN_ENV: FAKE_SESSION_TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(CONFIG_DOCUMENT), json.dumps(events)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "import": False,
        "viewer-request": False,
        "origin-request, default origin": False,
        "origin-request, signed": True,
    }
