"""The query-string half of the request contract: parameters, their spellings and limits (DESIGN §1).

:func:`parse_query` accumulates every problem of a query so one error lists them all; :mod:`edge.contract`
re-exports the names here and parses the path.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from edge.errors import InvalidParam, InvalidParameter, RequestError, UnknownParameter, quote_input

FILTER_PARAMETERS = ("entity", "organisation-entity", "quality", "reference")
ALIASES = {"organization-entity": "organisation-entity"}
PARAMETERS = (*FILTER_PARAMETERS, "fields", "limit")
MAX_VALUE_LENGTH = 200
MAX_VALUES_PER_COLUMN = 100
MAX_FIELDS = 100
MAX_LIMIT = 100_000_000

_FIELD = re.compile(r"[a-z0-9_-]{1,100}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

Filters = tuple[tuple[str, tuple[str, ...]], ...]


def decode(text: str, *, plus_is_space: bool) -> str:
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
            name = decode(raw_name, plus_is_space=True)
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
            value = decode(raw_value, plus_is_space=True)
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

    def finish(self) -> tuple[Filters, tuple[str, ...], int | None]:
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


def parse_query(query: str) -> tuple[Filters, tuple[str, ...], int | None]:
    """The filters (sorted, values deduplicated and sorted), ``fields`` and ``limit`` of a query string (no ``?``),
    or a :class:`~edge.errors.RequestError` listing every problem found.

    >>> parse_query("Organization-Entity=2,1&limit=05")
    ((('organisation-entity', ('1', '2')),), (), 5)
    """
    parsed = _Query()
    if query:
        for part in query.split("&"):
            if part:
                name, _, value = part.partition("=")
                parsed.add(name, value)
    return parsed.finish()
