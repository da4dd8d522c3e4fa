"""The buffered handler: Function URL result dicts, base64 for binary bodies, the 6 MB refusal."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest

from worker.buffered import MAX_BUFFERED_RESPONSE, function_url_result, is_text, read_limited, run_buffered
from worker.errors import SourceChanged
from worker.response import Response

CSV = {"content-type": "text/csv; charset=utf-8"}


class Body:
    """A body that counts how many chunks were pulled and whether it was closed."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.pulled = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.chunks:
                self.pulled += 1
                yield chunk
            if self.error is not None:
                raise self.error
        finally:
            self.closed = True


def run(response: Response, limit: int = MAX_BUFFERED_RESPONSE) -> dict[str, Any]:
    return run_buffered(lambda event, context: response, {}, None, limit)


def test_a_text_body_is_returned_as_a_string() -> None:
    result = run(Response(200, dict(CSV), iter([b"a,b\n", b"1,\xc3\xa9\n"])))
    assert result == {"statusCode": 200, "headers": CSV, "body": "a,b\n1,é\n", "isBase64Encoded": False}


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param({"content-type": "application/vnd.apache.parquet"}, b"PAR1\x00\xffPAR1", id="parquet"),
        pytest.param({"content-type": "text/csv", "content-encoding": "gzip"}, gzip.compress(b"a\n", mtime=0), id="gz"),
        pytest.param({"content-type": "text/csv"}, b"\xff\xfe not utf-8", id="text-that-is-not-utf-8"),
    ],
)
def test_binary_bodies_are_base64(headers: dict[str, str], body: bytes) -> None:
    result = run(Response(200, headers, [body]))
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == body


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        pytest.param("application/x-ndjson", True, id="ndjson"),
        pytest.param("application/geo+json", True, id="geojson"),
        pytest.param("application/problem+json", True, id="problem"),
        pytest.param("application/octet-stream", False, id="octet-stream"),
    ],
)
def test_is_text(content_type: str, text: bool) -> None:
    assert is_text({"Content-Type": content_type}) is text


def test_a_body_over_the_limit_is_refused_without_reading_the_rest() -> None:
    body = Body([b"x" * 400] * 100)
    result = run(Response(200, dict(CSV), body), limit=1000)
    assert result["statusCode"] == 502
    assert json.loads(result["body"])["code"] == "response-too-large"
    assert result["headers"]["content-type"] == "application/problem+json"
    assert body.pulled == 3, "reading stops at the limit"
    assert body.closed


def test_a_body_whose_encoding_exceeds_the_limit_is_refused() -> None:
    # 900 raw bytes fit under 1000, but their base64 inside the result dict does not.
    result = run(Response(200, {"content-type": "application/vnd.apache.parquet"}, [b"\x00" * 900]), limit=1000)
    assert (result["statusCode"], json.loads(result["body"])["code"]) == (502, "response-too-large")


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        pytest.param(SourceChanged("changed"), 503, "source-changed", id="worker-error"),
        pytest.param(ValueError("secret"), 500, "internal-error", id="unexpected"),
    ],
)
def test_a_body_failing_half_way_is_still_a_problem_response(error: Exception, status: int, code: str) -> None:
    result = run(Response(200, dict(CSV), Body([b"a,b\n"], error)))
    assert result["statusCode"] == status
    assert json.loads(result["body"])["code"] == code
    assert "secret" not in result["body"]


def test_read_limited_at_exactly_the_limit() -> None:
    assert read_limited([b"ab", b"c"], 3) == b"abc"


def test_function_url_result_keeps_an_empty_body_as_text() -> None:
    assert function_url_result(204, {}, b"")["isBase64Encoded"] is False
