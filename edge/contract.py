"""The request contract shared by the edge and the worker: ``(method, path, query)`` → :class:`DownloadRequest`.

Pure and light: the standard library only (a frozen dataclass, explicit checks), so the worker can import it
and the edge fits Lambda@Edge's 1 MB viewer-request quota (docs/edge.md, "Standard library only"). Every rule of
DESIGN §1 lives here; :mod:`edge.canonical` turns a request back into its one URL.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Literal
from urllib.parse import unquote_to_bytes

from edge.canonical import canonicalise
from edge.errors import (
    InvalidParam,
    InvalidParameter,
    InvalidPath,
    MethodNotAllowed,
    RequestError,
    UnknownParameter,
    UnsupportedFormat,
    UriTooLong,
    quote_input,
)


class Format(StrEnum):
    """Output formats, by URL extension."""

    CSV = "csv"
    JSON = "json"
    NDJSON = "ndjson"
    PARQUET = "parquet"
    GEOJSON = "geojson"


Method = Literal["GET", "HEAD"]
METHODS: tuple[Method, ...] = ("GET", "HEAD")
FILTER_PARAMETERS = ("entity", "organisation-entity", "quality", "reference")
ALIASES = {"organization-entity": "organisation-entity"}
PARAMETERS = (*FILTER_PARAMETERS, "fields", "limit")
MAX_URI_LENGTH = 2048
MAX_DATASET_LENGTH = 100
MAX_VALUE_LENGTH = 200
MAX_VALUES_PER_COLUMN = 100
MAX_FIELDS = 100
MAX_LIMIT = 100_000_000

_DATASET = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")
_FIELD = re.compile(r"[a-z0-9_-]{1,100}")
_EXTENSION = re.compile(r"[A-Za-z]{1,20}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
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
    filters, fields, limit = _parse_query(query)
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


def _decode(text: str, *, plus_is_space: bool) -> str:
    """Strict percent-decoding to UTF-8 (``+`` is a space in a query, as HTML forms send it)."""
    if plus_is_space and "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    if _BAD_PERCENT.search(text):
        raise ValueError("a '%' not followed by two hex digits")
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError("percent-encoded bytes that are not UTF-8") from error


def _parse_path(path: str) -> tuple[str, Format]:
    usage = "expected /{dataset}.{format}, dataset of letters, digits and '-'"
    if not path.startswith("/"):
        raise InvalidPath(f"The path must start with '/': {usage}.")
    try:
        decoded = _decode(path[1:], plus_is_space=False)
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


@lru_cache(maxsize=256)
def _suggest(name: str) -> str | None:
    guess = name.replace("_", "-").replace(" ", "-")
    candidates = [*PARAMETERS, *ALIASES]
    match = difflib.get_close_matches(guess, candidates, n=1, cutoff=0.6)
    return ALIASES.get(match[0], match[0]) if match else None


class _Query:
    """Accumulates one query string's parameters and every problem found, so one error lists them all."""

    def __init__(self) -> None:
        self.filters: dict[str, dict[str, None]] = {}
        self.fields: dict[str, None] = {}
        self.limit: int | None = None
        self.problems: list[InvalidParam] = []
        self.error_class: type[RequestError] | None = None

    def refuse(self, name: str, reason: str, error_class: type[RequestError] = InvalidParameter) -> None:
        self.problems.append(InvalidParam(name, reason))
        self.error_class = self.error_class or error_class

    def add(self, raw_name: str, raw_value: str) -> None:
        try:
            name = _decode(raw_name, plus_is_space=True)
        except ValueError as error:
            self.refuse(raw_name[:60], f"the name has {error}", UnknownParameter)
            return
        key = name.lower() if name.isascii() else name
        key = ALIASES.get(key, key)
        if key not in PARAMETERS:
            hint = _suggest(key)
            reason = f"unknown parameter; did you mean '{hint}'?" if hint else "unknown parameter"
            self.refuse(name[:60], reason, UnknownParameter)
            return
        try:
            value = _decode(raw_value, plus_is_space=True)
        except ValueError as error:
            self.refuse(key, f"the value has {error}")
            return
        if key == "limit":
            self._add_limit(value)
        elif key == "fields":
            self._add_fields(value)
        else:
            self._add_filter(key, value)

    def _add_limit(self, value: str) -> None:
        if not value:
            return
        if self.limit is not None:
            self.refuse("limit", "given more than once")
        elif not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_LIMIT:
            self.refuse("limit", f"must be a whole number from 1 to {MAX_LIMIT:,}, got {quote_input(value, 20)}")
        else:
            self.limit = int(value)

    def _add_fields(self, value: str) -> None:
        for item in value.split(","):
            field = item.lower() if item.isascii() else item
            if not field:
                continue
            if not _FIELD.fullmatch(field):
                self.refuse("fields", f"{quote_input(item)} is not a column name (letters, digits, '-', '_')")
            else:
                self.fields[field] = None
        if len(self.fields) > MAX_FIELDS:
            self.refuse("fields", f"at most {MAX_FIELDS} columns")

    def _add_filter(self, column: str, value: str) -> None:
        values = self.filters.setdefault(column, {})
        for item in value.split(","):
            if not item:
                continue
            if len(item) > MAX_VALUE_LENGTH or not item.isprintable():
                self.refuse(column, f"values are 1-{MAX_VALUE_LENGTH} printable characters, got {quote_input(item)}")
            else:
                values[item] = None

    def finish(self) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[str, ...], int | None]:
        for column, values in self.filters.items():
            if len(values) > MAX_VALUES_PER_COLUMN:
                self.refuse(column, f"at most {MAX_VALUES_PER_COLUMN} values, got {len(values)}")
        if self.error_class is not None:
            summary = "; ".join(f"{quote_input(p.name)}: {p.reason}" for p in self.problems[:5])
            valid = ", ".join(PARAMETERS)
            detail = f"The query is not valid: {summary} (valid parameters: {valid})."
            raise self.error_class(detail, tuple(self.problems[:20]))
        filters = tuple((column, tuple(sorted(values))) for column, values in sorted(self.filters.items()) if values)
        return filters, tuple(self.fields), self.limit


def _parse_query(query: str) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[str, ...], int | None]:
    parsed = _Query()
    if query:
        for part in query.split("&"):
            if part:
                name, _, value = part.partition("=")
                parsed.add(name, value)
    return parsed.finish()
