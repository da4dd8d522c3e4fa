"""The real edge and worker, wired for the local stack (the server takes fakes instead in tests).

The edge gets its configuration passed in rather than through ``DATASET_DOWNLOADS_EDGE_CONFIG``, so several
local servers (tests start many, on random ports) can live in one process without sharing the edge's
once-per-process configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dataset_downloads.distribution import EdgeFunction, WorkerFunction

# The local worker stands for one regional worker; the edge's configuration wants a real region name.
LOCAL_REGION = "eu-west-2"


def edge_config(worker_domain: str, source_base_url: str = "/source/") -> dict[str, Any]:
    """The edge configuration document of the local stack: one worker at ``worker_domain`` (``host:port``).

    >>> edge_config("127.0.0.1:8000")["workers"]
    {'eu-west-2': '127.0.0.1:8000'}
    """
    return {
        "workers": {LOCAL_REGION: worker_domain},
        "default_worker_region": LOCAL_REGION,
        "source_base_url": source_base_url,
    }


def real_edge(worker_domain: str) -> EdgeFunction:
    """The edge handler (``edge.handler.handle``) bound to the local configuration and region."""
    from edge.config import parse_config  # noqa: PLC0415  # imported when the real edge is wanted
    from edge.handler import handle  # noqa: PLC0415

    config = parse_config(json.dumps(edge_config(worker_domain)))

    def edge(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        return handle(event, config, LOCAL_REGION)

    return edge


def real_worker(
    source: str, results: str | None = None, threshold: int | None = None
) -> tuple[WorkerFunction, Callable[[], None]]:
    """The worker application for ``source`` (a folder or ``s3://bucket/prefix/``), built once, and a function
    that releases what it holds (its tracer's socket). Tracing follows the environment
    (``AWS_XRAY_DAEMON_ADDRESS``), as in Lambda. ``results`` is the results store (none: stream everything);
    ``threshold`` overrides the size above which results are stored (bytes).
    """
    from worker.app import App  # noqa: PLC0415  # pyarrow and friends load only when serving for real
    from worker.config import WorkerSettings  # noqa: PLC0415

    settings = WorkerSettings(source=source, results_url=results)
    if threshold is not None:
        settings = replace(settings, results_threshold=threshold)
    app = App(settings)
    return app.handle, app.tracer.close
