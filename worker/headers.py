"""Pure helpers for the worker's response headers: ETag, conditional requests, filenames, cache lifetimes."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.utils import format_datetime

from edge.contract import DownloadRequest

_UNSAFE = re.compile(r"[^a-z0-9]+")
_MAX_SLUG = 80


def etag(version: str, canonical: str, encoding: str) -> str:
    """A strong ETag from the source version, the canonical request and the content encoding.

    >>> etag("v1", "/t.csv", "gzip") == etag("v1", "/t.csv", "gzip") != etag("v2", "/t.csv", "gzip")
    True
    """
    digest = hashlib.sha256(f"{version}\n{canonical}\n{encoding}".encode()).hexdigest()[:40]
    return f'"{digest}"'


def matches_if_none_match(header: str | None, tag: str) -> bool:
    """True when an ``If-None-Match`` header matches ``tag`` (weak comparison, as RFC 9110 §13.1.2 says).

    >>> matches_if_none_match('W/"abc", "def"', '"abc"')
    True
    """
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = (item.strip().removeprefix("W/") for item in header.split(","))
    return tag.removeprefix("W/") in candidates


def http_date(moment: datetime) -> str:
    """An IMF-fixdate for ``Last-Modified``.

    >>> from datetime import UTC
    >>> http_date(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    'Tue, 02 Jan 2024 03:04:05 GMT'
    """
    return format_datetime(moment, usegmt=True)


def filename(request: DownloadRequest, extension: str) -> str:
    """A safe download filename: the dataset plus a slug of the filters (``[a-z0-9-]`` only).

    >>> from edge.contract import parse_request
    >>> filename(parse_request("GET", "/tree.csv", "organisation-entity=12,7&quality=A b"), "csv")
    'tree-organisation-entity-12-7-quality-a-b.csv'
    """
    parts = [request.dataset]
    for column, values in request.filters:
        parts.append(column)
        parts.extend(values)
    slug = _UNSAFE.sub("-", "-".join(parts).lower()).strip("-") or request.dataset
    if len(slug) > _MAX_SLUG:
        # keep names short and distinct: a prefix plus a digest of the full slug
        slug = slug[: _MAX_SLUG - 9].rstrip("-") + "-" + hashlib.sha256(slug.encode()).hexdigest()[:8]
    return f"{slug}.{extension}"


def content_disposition(name: str) -> str:
    """``attachment`` with a filename that :func:`filename` made safe (no quotes, no separators)."""
    return f'attachment; filename="{name}"'
