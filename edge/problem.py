"""RFC 9457 problem details: the one body shape for every error the edge or the worker sends."""

from __future__ import annotations

import json

from edge.errors import Problem

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:dataset-downloads:problem:"


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
