"""Every environment variable the worker reads, in one place, turned into typed settings once at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DATASET_SOURCE = "DATASET_SOURCE"
CACHE_UNFILTERED_MAX_AGE = "CACHE_UNFILTERED_MAX_AGE"
CACHE_FILTERED_MAX_AGE = "CACHE_FILTERED_MAX_AGE"
CACHE_ERROR_MAX_AGE = "CACHE_ERROR_MAX_AGE"
GZIP_LEVEL = "GZIP_LEVEL"
# Delivery of large results through the results store (docs/performance.md "Delivery").
RESULTS_URL = "RESULTS_URL"
RESULTS_BASE_URL = "RESULTS_BASE_URL"
RESULTS_THRESHOLD_BYTES = "RESULTS_THRESHOLD_BYTES"
RESULTS_LEASE_SECONDS = "RESULTS_LEASE_SECONDS"
RESULTS_WAIT_SECONDS = "RESULTS_WAIT_SECONDS"
# Lambda streams the first 6 MB of a response uncapped, then 2 MB/s: results estimated above this many bytes (as
# delivered, i.e. after gzip when the client accepts it) are stored and redirected to instead. 5 MiB leaves about
# 0.7 MB of the 6 MB for the estimate's error (docs/performance.md "Delivery").
DEFAULT_RESULTS_THRESHOLD = 5 * 1024 * 1024
# Set by the Lambda runtime loop on every invocation from Lambda-Runtime-Trace-Id (read per request).
TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"


@dataclass(frozen=True)
class WorkerSettings:
    """The worker's configuration. ``source`` is ``s3://bucket/prefix/`` or a local folder."""

    source: str
    unfiltered_max_age: int = 3600
    filtered_max_age: int = 300
    error_max_age: int = 60
    # 1: isal at ~350 MB/s of input per core, 3.25x on planning data; zlib level 6 ran at 20 MB/s (docs/performance.md)
    gzip_level: int = 1
    # ``s3://bucket/results/`` or a local folder; ``None`` streams every result (no results store).
    results_url: str | None = None
    # Where the distribution serves the results store: the redirect's Location is this plus the object name.
    results_base_url: str = "/results/"
    results_threshold: int = DEFAULT_RESULTS_THRESHOLD
    # Longer than the function's timeout, so a lease outlives its writer only when the writer crashed.
    results_lease_seconds: float = 90.0
    # How long a request whose result another request is writing waits for it before streaming it itself.
    results_wait_seconds: float = 20.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkerSettings:
        """Read the settings from the environment (``DATASET_SOURCE`` is required)."""
        env = os.environ if environ is None else environ
        source = env.get(DATASET_SOURCE, "")
        if not source:
            raise RuntimeError(f"{DATASET_SOURCE} is not set: an s3://bucket/prefix/ URL or a local folder")
        return cls(
            source=source,
            unfiltered_max_age=int(env.get(CACHE_UNFILTERED_MAX_AGE, "3600")),
            filtered_max_age=int(env.get(CACHE_FILTERED_MAX_AGE, "300")),
            error_max_age=int(env.get(CACHE_ERROR_MAX_AGE, "60")),
            gzip_level=int(env.get(GZIP_LEVEL, "1")),
            results_url=env.get(RESULTS_URL) or None,
            results_base_url=env.get(RESULTS_BASE_URL) or "/results/",
            results_threshold=int(env.get(RESULTS_THRESHOLD_BYTES, str(DEFAULT_RESULTS_THRESHOLD))),
            results_lease_seconds=float(env.get(RESULTS_LEASE_SECONDS, "90")),
            results_wait_seconds=float(env.get(RESULTS_WAIT_SECONDS, "20")),
        )
