from __future__ import annotations

import pytest

from edge.headers import (
    ORIGIN_REQUEST,
    SIGNATURE_HEADERS,
    VIEWER_REQUEST,
    ForbiddenHeader,
    Headers,
    build_headers,
    drop_own_headers,
    is_disallowed,
    set_header,
)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("X-Amzn-Trace-Id", id="x-amzn"),
        pytest.param("x-amzn-requestid", id="x-amzn-lower"),
        pytest.param("X-Amz-Cf-Id", id="x-amz-cf"),
        pytest.param("X-Edge-Location", id="x-edge"),
        pytest.param("Connection", id="connection"),
        pytest.param("Keep-Alive", id="keep-alive"),
        pytest.param("Proxy-Authenticate", id="proxy-authenticate"),
        pytest.param("Proxy-Authorization", id="proxy-authorization"),
        pytest.param("Proxy-Connection", id="proxy-connection"),
        pytest.param("TE", id="te"),
        pytest.param("Trailer", id="trailer"),
        pytest.param("Transfer-Encoding", id="transfer-encoding"),
        pytest.param("Upgrade", id="upgrade"),
        pytest.param("Expect", id="expect"),
        pytest.param("X-Cache", id="x-cache"),
        pytest.param("X-Forwarded-Proto", id="x-forwarded-proto"),
        pytest.param("X-Real-IP", id="x-real-ip"),
        pytest.param("X-Accel-Redirect", id="x-accel"),
        pytest.param("X-Amzn-Auth", id="x-amzn-auth"),
    ],
)
def test_disallowed_headers_are_refused_everywhere(name: str) -> None:
    assert is_disallowed(name)
    for event_type in (None, VIEWER_REQUEST, ORIGIN_REQUEST):
        headers: Headers = {}
        with pytest.raises(ForbiddenHeader):
            set_header(headers, name, "1", event_type)
        assert headers == {}


@pytest.mark.parametrize(
    ("event_type", "name"),
    [
        pytest.param(VIEWER_REQUEST, "Host", id="viewer-host"),
        pytest.param(VIEWER_REQUEST, "Content-Length", id="viewer-content-length"),
        pytest.param(VIEWER_REQUEST, "Via", id="viewer-via"),
        pytest.param(ORIGIN_REQUEST, "Accept-Encoding", id="origin-accept-encoding"),
        pytest.param(ORIGIN_REQUEST, "If-None-Match", id="origin-if-none-match"),
        pytest.param(ORIGIN_REQUEST, "If-Modified-Since", id="origin-if-modified-since"),
        pytest.param(ORIGIN_REQUEST, "If-Range", id="origin-if-range"),
        pytest.param(ORIGIN_REQUEST, "If-Unmodified-Since", id="origin-if-unmodified-since"),
        pytest.param(ORIGIN_REQUEST, "Content-Length", id="origin-content-length"),
        pytest.param(ORIGIN_REQUEST, "Via", id="origin-via"),
    ],
)
def test_read_only_headers_are_refused_in_their_event(event_type: str, name: str) -> None:
    with pytest.raises(ForbiddenHeader, match="read-only"):
        set_header({}, name, "x", event_type)


def test_host_may_change_in_origin_request() -> None:
    headers: Headers = {"host": [{"key": "Host", "value": "bucket.s3.amazonaws.com"}]}
    set_header(headers, "Host", "abc.lambda-url.eu-west-2.on.aws", ORIGIN_REQUEST)
    assert headers == {"host": [{"key": "Host", "value": "abc.lambda-url.eu-west-2.on.aws"}]}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("X-Download-Trace", "a\r\nSet-Cookie: x=1", id="crlf-injection"),
        pytest.param("X-Download-Trace", "caf\u00e9", id="non-ascii-value"),
        pytest.param("Bad Name", "1", id="space-in-name"),
        pytest.param("", "1", id="empty-name"),
    ],
)
def test_malformed_headers_are_refused(name: str, value: str) -> None:
    with pytest.raises(ForbiddenHeader):
        set_header({}, name, value)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Authorization", id="authorization"),
        pytest.param("X-Amz-Date", id="x-amz-date"),
        pytest.param("X-Amz-Security-Token", id="x-amz-security-token"),
        pytest.param("X-Amz-Content-SHA256", id="x-amz-content-sha256"),
    ],
)
def test_the_sigv4_headers_may_be_added_in_origin_request(name: str) -> None:
    # "Restrictions on all edge functions": X-Amz-Cf-* and listed X-Amzn-* are disallowed, other X-Amz-* are not
    assert not is_disallowed(name)
    headers: Headers = {}
    set_header(headers, name, "AWS4-HMAC-SHA256 Credential=A/20260101/eu-west-2/lambda/aws4_request", ORIGIN_REQUEST)
    assert list(headers) == [name.lower()]
    assert name.lower() in SIGNATURE_HEADERS


@pytest.mark.parametrize("event_type", [VIEWER_REQUEST, ORIGIN_REQUEST], ids=str)
def test_own_and_signature_headers_from_the_viewer_are_dropped(event_type: str) -> None:
    headers: Headers = {
        "x-download-cache-key": [{"key": "X-Download-Cache-Key", "value": "/evil.csv"}],
        "x-download-anything": [{"key": "x-download-anything", "value": "1"}],
        "authorization": [{"key": "Authorization", "value": "AWS4-HMAC-SHA256 forged"}],
        "x-amz-security-token": [{"key": "X-Amz-Security-Token", "value": "forged"}],
        "x-amz-date": [{"key": "X-Amz-Date", "value": "20200101T000000Z"}],
        "x-amz-content-sha256": [{"key": "X-Amz-Content-SHA256", "value": "UNSIGNED-PAYLOAD"}],
        "x-amz-meta-keep": [{"key": "X-Amz-Meta-Keep", "value": "1"}],
        "accept": [{"key": "Accept", "value": "*/*"}],
    }
    drop_own_headers(headers, event_type)
    assert list(headers) == ["x-amz-meta-keep", "accept"]


def test_build_headers_uses_cloudfront_shape() -> None:
    assert build_headers((("Cache-Control", "no-store"),)) == {
        "cache-control": [{"key": "Cache-Control", "value": "no-store"}]
    }
