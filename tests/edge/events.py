"""Sample CloudFront events from ``events/``, by name, as fresh deep copies (the handler mutates them)."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"


@cache
def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def load_event(name: str) -> dict[str, Any]:
    """The event ``events/{name}.json`` (e.g. ``cloudfront-viewer-request-csv-filtered``), deep-copied."""
    return copy.deepcopy(_read(name))


def event_names(prefix: str = "cloudfront-") -> list[str]:
    """Every sample event whose file name starts with ``prefix``, sorted."""
    return sorted(path.stem for path in EVENTS.glob(f"{prefix}*.json"))


def cf_request(event: dict[str, Any]) -> dict[str, Any]:
    """``Records[0].cf.request`` of an event."""
    request: dict[str, Any] = event["Records"][0]["cf"]["request"]
    return request
