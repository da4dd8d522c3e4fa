"""The request contract shared by the edge and the worker: ``(method, path, query)`` → :class:`DownloadRequest`.

Pure and light: the standard library only (a frozen dataclass, explicit checks), so the worker can import it
and the edge fits Lambda@Edge's 1 MB viewer-request quota (docs/edge.md, "Standard library only"). Every rule of
DESIGN §1 lives here; :mod:`edge.canonical` turns a request back into its one URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Literal

from edge.canonical import canonicalise
from edge.errors import InvalidParam, InvalidPath, MethodNotAllowed, UnsupportedFormat, UriTooLong, quote_input
from edge.query import (  # re-exported: the contract's public names
    ALIASES,
    FILTER_PARAMETERS,
    MAX_FIELDS,
    MAX_LIMIT,
    MAX_VALUE_LENGTH,
    MAX_VALUES_PER_COLUMN,
    PARAMETERS,
    decode,
    parse_query,
)

__all__ = [
    "ALIASES",
    "FILTER_PARAMETERS",
    "MAX_DATASET_LENGTH",
    "MAX_FIELDS",
    "MAX_LIMIT",
    "MAX_URI_LENGTH",
    "MAX_VALUES_PER_COLUMN",
    "MAX_VALUE_LENGTH",
    "METHODS",
    "PARAMETERS",
    "DownloadRequest",
    "Format",
    "Method",
    "parse_request",
]


class Format(StrEnum):
    """Output formats, by URL extension."""

    CSV = "csv"
    JSON = "json"
    NDJSON = "ndjson"
    PARQUET = "parquet"
    GEOJSON = "geojson"


Method = Literal["GET", "HEAD"]
METHODS: tuple[Method, ...] = ("GET", "HEAD")
MAX_URI_LENGTH = 2048
MAX_DATASET_LENGTH = 100

_DATASET = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")
_EXTENSION = re.compile(r"[A-Za-z]{1,20}")
_METHOD_NAMES: dict[str, Method] = {method: method for method in METHODS}


# Not slots: ``canonical`` is a cached_property, which stores its value in the instance __dict__ (bypassing the
# frozen __setattr__); equality, hash and repr use the fields only, so the cached value never takes part.
@dataclass(frozen=True, kw_only=True)
class DownloadRequest:
    """A valid download request. Build it with :func:`parse_request`, which keeps it in canonical order:
    filters sorted by column, each column's values deduplicated and sorted; ``fields`` in the user's order
    without duplicates; ``limit`` absent or 1..100,000,000. ``method`` is not part of the canonical form.
    Direct construction checks only ``method`` and ``format`` (a format name becomes a :class:`Format`).
    """

    method: Method = "GET"
    dataset: str
    format: Format
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fields: tuple[str, ...] = ()
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be GET or HEAD, got {self.method!r}")
        if type(self.format) is not Format:
            object.__setattr__(self, "format", Format(self.format))  # ValueError for an unknown format

    @cached_property
    def canonical(self) -> str:
        """The canonical form (``edge.canonical.canonicalise``), computed once: the cache key."""
        return canonicalise(self)

    @property
    def is_filtered(self) -> bool:
        """True when a filter restricts the rows (drives the shorter Cache-Control of DESIGN §1)."""
        return bool(self.filters)

    @property
    def is_whole_source(self) -> bool:
        """True for the unfiltered, unprojected, unlimited Parquet download: the source object itself."""
        return self.format is Format.PARQUET and not self.filters and not self.fields and self.limit is None


def parse_request(method: str, path: str, query: str) -> DownloadRequest:
    """Validate a raw request line (``query`` without ``?``) and return the typed request, or raise a
    :class:`~edge.errors.RequestError`.

    >>> parse_request("GET", "/Conservation-Area.CSV", "organization-entity=2,1&fields=name").filters
    (('organisation-entity', ('1', '2')),)
    """
    checked = _METHOD_NAMES.get(method)
    if checked is None:
        raise MethodNotAllowed(f"Method {quote_input(method)} is not allowed: use GET or HEAD.")
    if len(path) + (len(query) + 1 if query else 0) > MAX_URI_LENGTH:
        raise UriTooLong(f"The URI with its query is longer than {MAX_URI_LENGTH} characters.")
    dataset, fmt = _parse_path(path)
    filters, fields, limit = parse_query(query)
    request = DownloadRequest(
        method=checked,
        dataset=dataset,
        format=fmt,
        filters=filters,
        fields=fields,
        limit=limit,
    )
    # The canonical form may be longer than the input (raw UTF-8 becomes %XX): bound it too, so every
    # accepted request's canonical form parses back.
    if len(request.canonical) > MAX_URI_LENGTH:
        raise UriTooLong(f"The canonical form of this request is longer than {MAX_URI_LENGTH} characters.")
    return request


def _parse_path(path: str) -> tuple[str, Format]:
    usage = "expected /{dataset}.{format}, dataset of letters, digits and '-'"
    if not path.startswith("/"):
        raise InvalidPath(f"The path must start with '/': {usage}.")
    try:
        decoded = decode(path[1:], plus_is_space=False)
    except ValueError as error:
        raise InvalidPath(f"The path has {error}: {usage}.") from None
    stem, dot, extension = decoded.rpartition(".")
    if not dot or not _EXTENSION.fullmatch(extension):
        raise InvalidPath(f"The path {quote_input(path)} is not a download path: {usage}.")
    fmt = extension.lower()
    if fmt not in Format.__members__.values():
        supported = ", ".join(f.value for f in Format)
        raise UnsupportedFormat(
            f"Format {quote_input(extension)} is not supported; use one of: {supported}.",
            (InvalidParam("format", f"one of {supported}"),),
        )
    dataset = stem.lower() if stem.isascii() else stem
    if not _DATASET.fullmatch(dataset):
        raise InvalidPath(
            f"Dataset {quote_input(stem)} is not a dataset name: 1-{MAX_DATASET_LENGTH} lowercase letters, digits "
            "and '-', starting and ending with a letter or digit."
        )
    return dataset, Format(fmt)
