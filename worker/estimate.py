"""Estimate a result's size before its first byte, from Parquet metadata, to choose streaming or the store.

bytes ~ rows * (uncompressed Parquet bytes per row of the output columns * format factor + per-row overhead),
times :data:`GZIP_RATIO` when the response is gzip-compressed. ``rows`` is the row count of the row groups
kept after pruning (an upper bound when filtered), capped by ``limit``. When a filtered estimate exceeds the
threshold, a count pass reads only the filter columns of the kept row groups to replace the bound with the
exact count. Factors were measured on the planning-like samples (docs/performance.md "Delivery") and round
up: over-estimating costs one stored object; under-estimating streams past Lambda's uncapped 6 MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow.parquet as pq

from edge.contract import DownloadRequest, Format
from worker.scan import ScanPlan, projected_chunks, row_group_mask

# Measured: gzip output is 12-17 % of text formats' bytes on the samples; 25 % leaves room for less
# repetitive data.
GZIP_RATIO = 0.25


@dataclass(frozen=True)
class FormatCost:
    """Output bytes per row: ``factor`` times the values' uncompressed Parquet bytes, plus ``per_column`` bytes
    per output column (JSON keys, quotes, separators) and ``per_row`` bytes (brackets, newlines).
    """

    factor: float
    per_column: int = 0
    per_row: int = 0
    keyed: bool = False  # each value is preceded by its column's name


COSTS = {
    # Measured factors: CSV 1.2, JSON and NDJSON 1.1 plus keys, GeoJSON 1.1 plus keys and the feature wrapper.
    Format.CSV: FormatCost(1.3, per_column=1, per_row=2),
    Format.JSON: FormatCost(1.2, per_column=4, per_row=4, keyed=True),
    Format.NDJSON: FormatCost(1.2, per_column=4, per_row=4, keyed=True),
    Format.GEOJSON: FormatCost(1.3, per_column=4, per_row=64, keyed=True),
}
# Parquet out is zstd like the sources usually are: their compressed bytes, with a margin for other codecs.
PARQUET_FACTOR = 1.2


@dataclass(frozen=True)
class Estimate:
    """The estimated size of a result as delivered, the rows it was based on, and whether they were counted."""

    bytes: int
    rows: int
    counted: bool = False


def estimate_result(
    parquet: pq.ParquetFile, plan: ScanPlan, request: DownloadRequest, gzip: bool, threshold: int
) -> Estimate:
    """The delivered size of ``request``'s result (see the module docstring); ``threshold`` decides whether
    a filtered estimate is worth a count pass.
    """
    rows, per_row = _row_bounds(parquet, plan, request)
    ratio = GZIP_RATIO if gzip and request.format is not Format.PARQUET else 1.0
    estimate = _estimate(rows, per_row, ratio, request)
    if plan.filters and estimate.bytes > threshold:
        counted = count_matching(parquet, plan, limit=request.limit)
        estimate = Estimate(_estimate(counted, per_row, ratio, request).bytes, counted, counted=True)
    return estimate


def _estimate(rows: int, per_row: float, ratio: float, request: DownloadRequest) -> Estimate:
    if request.limit is not None:
        rows = min(rows, request.limit)
    return Estimate(int(rows * per_row * ratio), rows)


def _row_bounds(parquet: pq.ParquetFile, plan: ScanPlan, request: DownloadRequest) -> tuple[int, float]:
    """Rows in the kept row groups, and the output bytes per row (before compression)."""
    metadata = parquet.metadata
    output = set(plan.output_schema.names)
    parquet_out = request.format is Format.PARQUET  # sized by compressed bytes, text by decoded ones
    rows = 0
    value_bytes = 0
    for index in plan.row_groups:
        row_group = metadata.row_group(index)
        rows += row_group.num_rows
        for column in projected_chunks(row_group, output):
            value_bytes += column.total_compressed_size if parquet_out else column.total_uncompressed_size
    if not rows:
        return 0, 0.0
    if parquet_out:
        return rows, value_bytes / rows * PARQUET_FACTOR
    cost = COSTS[request.format]
    names = sum(len(name.encode()) for name in plan.output_schema.names) if cost.keyed else 0
    overhead = cost.per_column * len(output) + cost.per_row + names
    return rows, value_bytes / rows * cost.factor + overhead


def count_matching(parquet: pq.ParquetFile, plan: ScanPlan, limit: int | None = None) -> int:
    """Rows of the kept row groups matching every filter, reading only the filter columns (the scan's own mask,
    :func:`worker.scan.row_group_mask`, so the count follows the scan's rule), and keeps the masks in
    ``plan.masks`` for the scan. Stops once ``limit`` is reached.
    """
    total = 0
    for index in plan.row_groups:
        mask = plan.masks[index] = row_group_mask(parquet, plan, index)
        total += parquet.metadata.row_group(index).num_rows if mask is None else mask.true_count
        if limit is not None and total >= limit:
            return limit
    return total
