"""Planning a scan: every 400 of a request against a dataset's schema, decided from the footer alone.

:func:`plan_scan` checks the columns, converts the filter values to the columns' types and prunes row groups by
their statistics (worker/pruning.py) without reading any data page; :mod:`worker.scan` executes the plan.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from edge.contract import DownloadRequest
from edge.errors import InvalidParam, quote_input
from worker.errors import InvalidFilterValue, UnknownColumn
from worker.pruning import kept_row_groups


@dataclass
class ScanStats:
    """Counters of one scan, updated while :func:`execute` runs (from several threads: use :meth:`count`)."""

    row_groups_read: int = 0  # row groups whose output columns were read
    row_groups_skipped_by_filter: int = 0  # kept by statistics, but their filter columns matched no row
    rows_read: int = 0
    rows_out: int = 0
    batches_out: int = 0
    decoder: str = "pyarrow"  # or "duckdb" (worker/duckscan.py)
    decoder_threads: int = 0  # DuckDB's queries at once, one thread each (worker/scan.py); 0 when pyarrow decoded
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, **deltas: int) -> None:
        """Add ``deltas`` to the named counters, atomically (row groups are read on several threads).

        >>> stats = ScanStats(); stats.count(rows_read=3, row_groups_read=1); (stats.rows_read, stats.row_groups_read)
        (3, 1)
        """
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)


@dataclass(frozen=True)
class ScanPlan:
    """What to read: the output schema, the typed filters and the row groups kept."""

    output_schema: pa.Schema
    filters: list[tuple[str, pa.Array[Any]]]
    row_groups_total: int
    row_groups: list[int]
    stats: ScanStats = field(default_factory=ScanStats)
    # Row-group masks already computed by the size estimate's count pass (worker/estimate.py): the scan takes
    # each one instead of reading the filter columns again (None: every row matches).
    masks: dict[int, pa.BooleanArray | None] = field(default_factory=dict)


def plan_scan(parquet_file: pq.ParquetFile, request: DownloadRequest) -> ScanPlan:
    """Validate ``request`` against the dataset's schema and choose the row groups to read.

    Raises UnknownColumn (naming the column, listing the dataset's) or InvalidFilterValue before any data is
    read. Example: ``?organisation-entity=7&fields=name`` on a file with four row groups of which one holds
    organisation 7 → output ``name``, filter ``organisation-entity`` in ``[7]``, row groups ``[2]`` of 4.
    """
    schema = parquet_file.schema_arrow
    _check_columns(schema, request)
    filters = [(column, _convert(schema.field(column), column, values)) for column, values in request.filters]
    output_fields = [schema.field(name) for name in request.fields] if request.fields else list(schema)
    output_schema = pa.schema(output_fields, metadata=_output_metadata(schema.metadata))
    metadata = parquet_file.metadata
    return ScanPlan(output_schema, filters, metadata.num_row_groups, kept_row_groups(metadata, filters))


def _check_columns(schema: pa.Schema, request: DownloadRequest) -> None:
    wanted = [(column, column) for column, _ in request.filters] + [("fields", name) for name in request.fields]
    missing = [(param, name) for param, name in wanted if schema.get_field_index(name) < 0]
    if not missing:
        return
    names = ", ".join(dict.fromkeys(quote_input(name) for _, name in missing))
    available = ", ".join(schema.names)
    plural = "Columns" if len({name for _, name in missing}) > 1 else "Column"
    raise UnknownColumn(
        f"{plural} {names} not in this dataset. Its columns are: {available}.",
        tuple(InvalidParam(param, f"no column {quote_input(name)}; columns: {available}") for param, name in missing),
    )


def _convert(column_field: pa.Field[Any], column: str, values: tuple[str, ...]) -> pa.Array[Any]:
    """The filter values as an array of the column's type (its value type, for a dictionary column)."""
    target = column_field.type
    if pa.types.is_dictionary(target):
        target = target.value_type
    if pa.types.is_nested(target):
        raise InvalidFilterValue(
            f"Column {quote_input(column)} holds {target} values and cannot be filtered on.",
            (InvalidParam(column, f"cannot filter a column of type {target}"),),
        )
    try:
        return pa.array(values, pa.string()).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    bad = [value for value in values if not _castable(value, target)] or list(values)
    problems = tuple(InvalidParam(column, f"{quote_input(value)} is not a valid {target}") for value in bad[:20])
    raise InvalidFilterValue(
        f"Column {quote_input(column)} holds {target} values; {quote_input(bad[0])} is not one.", problems
    )


def _castable(value: str, target: pa.DataType) -> bool:
    try:
        pa.array([value], pa.string()).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return False
    return True


def _output_metadata(metadata: dict[bytes, bytes] | None) -> dict[bytes | str, bytes | str] | None:
    # pandas metadata describes the writer's index and full column list; after projection it would lie.
    kept: dict[bytes | str, bytes | str] = {key: value for key, value in (metadata or {}).items() if key != b"pandas"}
    return kept or None
