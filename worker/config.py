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
# Set by the Lambda runtime loop on every invocation from Lambda-Runtime-Trace-Id (read per request).
TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"


@dataclass(frozen=True)
class WorkerSettings:
    """The worker's configuration. ``source`` is ``s3://bucket/prefix/`` or a local folder."""

    source: str
    unfiltered_max_age: int = 3600
    filtered_max_age: int = 300
    error_max_age: int = 60
    gzip_level: int = 6

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
            gzip_level=int(env.get(GZIP_LEVEL, "6")),
        )
