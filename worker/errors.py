"""Typed worker errors. Before the first byte each becomes a problem+json response with its class's status;
after it, the stream fails and the error is logged (see worker/response.py).
"""

from __future__ import annotations

from edge.errors import Problem


class WorkerError(Problem):
    """Base of the worker's errors (status 500 ``internal-error`` unless a subclass says otherwise)."""


class DatasetNotFound(WorkerError):
    status = 404
    code = "dataset-not-found"
    title = "Dataset not found"


class UnknownColumn(WorkerError):
    """A filter or ``fields`` column the dataset does not have; the detail lists the dataset's columns."""

    status = 400
    code = "unknown-column"
    title = "Unknown column"


class InvalidFilterValue(WorkerError):
    """A filter value that cannot be converted to its column's type (``entity=12x`` on an integer column)."""

    status = 400
    code = "invalid-filter-value"
    title = "Invalid filter value"


class NoGeometry(WorkerError):
    """GeoJSON asked of a dataset with neither a ``geometry`` nor a ``point`` column."""

    status = 400
    code = "no-geometry"
    title = "Dataset has no geometry"


class SourceUnavailable(WorkerError):
    """The source could not be read (S3 errors after retries, unreadable file) before the first byte."""

    status = 502
    code = "source-unavailable"
    title = "Source unavailable"


class SourceBusy(WorkerError):
    """The source throttled us (S3 SlowDown) past our retries: try again later."""

    status = 503
    code = "source-busy"
    title = "Source busy"


class SourceChanged(WorkerError):
    """The source object changed while it was being read (version pin failed): the download must fail."""

    status = 503
    code = "source-changed"
    title = "Source changed during the download"


class CorruptSource(WorkerError):
    """The source object is not a readable Parquet file."""

    status = 502
    code = "corrupt-source"
    title = "Source is not a readable Parquet file"
