"""RFC 9457 problem details: the one body shape for every error the edge or the worker sends."""

from __future__ import annotations

import json

from edge.errors import MethodNotAllowed, Problem

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:dataset-downloads:problem:"
ALLOWED_METHODS = "GET, HEAD"


def problem_document(status: int, code: str, title: str, detail: str, invalid: list[dict[str, str]]) -> bytes:
    """Serialise one problem as ASCII JSON (input inside ``detail`` is escaped, never raw).

    >>> problem_document(404, "not-found", "Not found", "No dataset \\"x\\".", [])[:40]
    b'{"type":"urn:dataset-downloads:problem:n'
    """
    document: dict[str, object] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if invalid:
        document["invalid-params"] = invalid
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def problem_body(error: Problem) -> bytes:
    """The problem document for a typed error of the edge or the worker (``status``/``code``/``title`` from its
    class, ``detail`` and ``invalid-params`` from the instance)."""
    invalid = [{"name": p.name, "reason": p.reason} for p in error.invalid_params]
    return problem_document(error.status, error.code, error.title, error.detail, invalid)


def problem_headers(error: Problem, error_max_age: int) -> list[tuple[str, str]]:
    """The headers of a problem response, edge or worker alike: a refusal (4xx) may be cached for
    ``error_max_age`` seconds, a failure (5xx) never (the next request may well succeed); a 405 names the methods.

    >>> problem_headers(MethodNotAllowed("no"), 60)[1:]
    [('Cache-Control', 'public, max-age=60'), ('Access-Control-Allow-Origin', '*'), ('Allow', 'GET, HEAD')]
    """
    cache_control = "no-store" if error.status >= 500 else f"public, max-age={error_max_age}"
    pairs = [
        ("Content-Type", PROBLEM_CONTENT_TYPE),
        ("Cache-Control", cache_control),
        ("Access-Control-Allow-Origin", "*"),
    ]
    if isinstance(error, MethodNotAllowed):
        pairs.append(("Allow", ALLOWED_METHODS))
    return pairs
