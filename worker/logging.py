"""One structured JSON log line per request: the fields of its trace, timings and outcome.

Lambda sends a function's stderr to CloudWatch Logs, where each line is one event, so a JSON line per request
can be queried with Logs Insights by any field (``trace_id``, ``cache_key``, ``dataset``…).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Mapping
from typing import TextIO

_lock = threading.Lock()  # the local server logs from many threads: one write per line, never interleaved


def format_request(fields: Mapping[str, object], now: float | None = None) -> str:
    """The log line for one request (no newline): ``time``, ``level``, ``message`` first, then ``fields``.

    >>> format_request({"status": 200, "trace_id": "1-a-b"}, now=0.0)
    '{"time":"1970-01-01T00:00:00.000Z","level":"info","message":"request","status":200,"trace_id":"1-a-b"}'
    """
    stamp = time.time() if now is None else now
    failed = bool(fields.get("error")) or _status(fields) >= 500
    head: dict[str, object] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp * 1000) % 1000:03d}Z",
        "level": "error" if failed else "info",
        "message": "request",
    }
    body = {str(key): value for key, value in fields.items() if str(key) not in head}
    return json.dumps({**head, **body}, default=str, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def log_request(fields: Mapping[str, object], stream: TextIO | None = None) -> None:
    """Write one JSON line for a request to ``stream`` (default: the current ``sys.stderr``); never raises."""
    try:
        line = format_request(fields)
    except (TypeError, ValueError):
        line = format_request({key: str(value) for key, value in fields.items()})
    try:
        out = stream if stream is not None else sys.stderr
        with _lock:
            out.write(line + "\n")
            out.flush()
    except Exception:  # noqa: S110  # a log line is never worth failing a download for
        pass


def _status(fields: Mapping[str, object]) -> int:
    status = fields.get("status")
    return status if isinstance(status, int) else 0
