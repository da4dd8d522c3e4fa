"""Rewrite a Parquet dataset for fast filtered downloads, and prove the rewrite holds the same rows.

``dataset-downloads optimise SOURCE DEST`` sorts the rows by ``organisation-entity`` then ``entity`` (the
columns present), writes bounded row groups (at most 100,000 rows by default: the measured sweet spot, see
docs/performance.md) cut where the first sort key changes (:func:`row_group_sizes`), with statistics, a page
index, Bloom filters on the high-cardinality filter columns and zstd, then reads the result back and checks it:
same schema, same multiset of rows (a 64-bit digest per row, computed batch by batch and compared sorted), sort
order, row-group sizes and cuts.

Memory: the sort needs the whole decoded source in memory (about 2.5 times the Parquet size for text-heavy data)
plus one row group; writing and verifying stream batch by batch. Larger-than-memory inputs would need an
external merge sort, which datasets of this size (a few million rows) do not.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_downloads._rows import row_digests, sorted_violation

SORT_BY = ("organisation-entity", "entity")
BLOOM_COLUMNS = ("entity", "reference")
ROW_GROUP_ROWS = 100_000
# An organisation of at least ROW_GROUP_ROWS // MIN_GROUP_DIVISOR rows starts a row group of its own, and a row
# group of smaller ones closes at the first organisation boundary past that size (docs/performance.md).
MIN_GROUP_DIVISOR = 10
COMPRESSION_LEVEL = 3
BLOOM_FPP = 0.01
VERIFY_BATCH_ROWS = 65_536


class OptimiseError(Exception):
    """The rewrite could not be made or did not verify; ``code`` names the reason, ``status`` is the exit code."""

    status = 1
    code = "optimise-failed"


class UnknownColumn(OptimiseError):
    """A sort column the source does not have."""

    code = "unknown-column"


class VerificationFailed(OptimiseError):
    """The rewritten file differs from the source (schema, rows, order, row-group sizes or cuts)."""

    code = "verification-failed"


@dataclass(frozen=True)
class OptimiseReport:
    """What :func:`optimise` wrote and checked."""

    source: Path
    dest: Path
    rows: int
    row_groups: int
    sort_by: tuple[str, ...]
    bloom_filter_columns: tuple[str, ...]
    source_bytes: int
    dest_bytes: int
    verified: bool
    seconds: float


def optimise(
    source: Path,
    dest: Path,
    *,
    sort_by: Sequence[str] | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
    compression_level: int = COMPRESSION_LEVEL,
    bloom_filter_columns: Sequence[str] | None = None,
    verify: bool = True,
) -> OptimiseReport:
    """Rewrite ``source`` to ``dest`` (atomically: a temporary file renamed once verified).

    ``sort_by=None`` sorts by :data:`SORT_BY` columns the source has; an explicit column it lacks is an
    :class:`UnknownColumn`. ``bloom_filter_columns=None`` means :data:`BLOOM_COLUMNS` present in the source.
    """
    started = time.perf_counter()
    if row_group_rows < 1:
        raise OptimiseError(f"row_group_rows must be at least 1, got {row_group_rows}")
    if source.resolve() == dest.resolve():
        raise OptimiseError("SOURCE and DEST are the same file: write the rewrite elsewhere")
    if not dest.parent.is_dir():  # before reading a source that may take a minute
        raise OptimiseError(f"DEST's folder {dest.parent} does not exist: create it first")
    table = pq.read_table(source)
    keys = _sort_columns(table.schema, sort_by)
    blooms = tuple(c for c in (bloom_filter_columns if bloom_filter_columns is not None else BLOOM_COLUMNS))
    blooms = tuple(c for c in blooms if c in table.schema.names)
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        _write(table, tmp, keys, group=row_group_rows, level=compression_level, blooms=blooms)
        if verify:
            _verify(table, tmp, keys, row_group_rows)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return OptimiseReport(
        source=source,
        dest=dest,
        rows=table.num_rows,
        row_groups=pq.ParquetFile(dest).metadata.num_row_groups,
        sort_by=keys,
        bloom_filter_columns=blooms,
        source_bytes=source.stat().st_size,
        dest_bytes=dest.stat().st_size,
        verified=verify,
        seconds=time.perf_counter() - started,
    )


def _sort_columns(schema: pa.Schema, sort_by: Sequence[str] | None) -> tuple[str, ...]:
    if sort_by is None:
        return tuple(c for c in SORT_BY if c in schema.names)
    missing = [c for c in sort_by if c not in schema.names]
    if missing:
        raise UnknownColumn(f"cannot sort by {', '.join(missing)}: the columns are {', '.join(schema.names)}")
    return tuple(sort_by)


def row_group_sizes(key: pa.ChunkedArray[Any] | pa.Array[Any], group: int) -> list[int]:
    """Row-group sizes for rows sorted by ``key`` (the first sort key): at most ``group`` rows each, cut where the
    key changes, so a filter on one key value reads only its own row groups, whose statistics prove every row
    matches (no filter column read, no row decoded for nothing). A run of at least ``group // 10`` equal keys
    starts a row group; shorter runs share one until it reaches that size; a run longer than ``group`` fills
    whole row groups. Nulls (sorted last) count as one more value.

    >>> row_group_sizes(pa.array([1] * 25 + [2] * 3 + [3] * 4 + [None] * 2), 10)
    [10, 10, 5, 3, 4, 2]
    >>> row_group_sizes(pa.array([1, 1, 2, 3, 3, 3]), 100)
    [6]
    """
    minimum = max(1, group // MIN_GROUP_DIVISOR)
    array = key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key
    encoded = pc.run_end_encode(array) if len(array) else None  # type: ignore[attr-defined]  # stubs lag
    ends: list[int] = encoded.run_ends.to_pylist() if encoded is not None else []
    sizes: list[int] = []
    current = 0
    for start, end in zip([0, *ends], ends, strict=False):
        left = end - start
        if current and (current >= minimum or left >= minimum):
            sizes.append(current)
            current = 0
        while left:
            take = min(left, group - current)
            current, left = current + take, left - take
            if current == group:
                sizes.append(current)
                current = 0
    if current:
        sizes.append(current)
    return sizes


def _write(
    table: pa.Table, path: Path, keys: tuple[str, ...], *, group: int, level: int, blooms: tuple[str, ...]
) -> None:
    """Write ``table`` sorted by ``keys``, one ``take`` per row group so only one sorted group is extra memory."""
    ordering: list[tuple[str, Literal["ascending"]]] = [(k, "ascending") for k in keys]
    nulls_last: Any = [(k, "ascending", "at_end") for k in keys]  # pyarrow-stubs lag 3-tuple sort keys
    indices = pc.sort_indices(table, sort_keys=nulls_last) if keys else None
    sorting = pq.SortingColumn.from_ordering(table.schema, ordering, null_placement="at_end") if keys else None
    if indices is None:
        sizes = [min(group, table.num_rows - offset) for offset in range(0, table.num_rows, group)]
    else:
        sizes = row_group_sizes(table.column(keys[0]).take(indices), group)
    ndv = max(1, min(group, table.num_rows))
    with pq.ParquetWriter(
        path,
        table.schema,
        compression="zstd",
        compression_level=level,
        write_statistics=True,
        write_page_index=True,
        bloom_filter_options={c: {"ndv": ndv, "fpp": BLOOM_FPP} for c in blooms} or None,
        sorting_columns=sorting,
    ) as writer:
        if table.num_rows == 0:
            writer.write_table(table)
        offset = 0
        for size in sizes:
            part = table.slice(offset, size) if indices is None else table.take(indices.slice(offset, size))
            writer.write_table(part, row_group_size=size)
            offset += size


def _verify(source: pa.Table, path: Path, keys: tuple[str, ...], group: int) -> None:
    """Read the rewrite back and compare it with the source rows; raise :class:`VerificationFailed`."""
    written = pq.ParquetFile(path, pre_buffer=False)
    if not written.schema_arrow.remove_metadata().equals(source.schema.remove_metadata()):
        raise VerificationFailed(f"schema differs: {written.schema_arrow} != {source.schema}")
    meta = written.metadata
    sizes = [
        n for n in (meta.row_group(i).num_rows for i in range(meta.num_row_groups)) if n
    ]  # an empty file: one empty group
    keyed = written.read(columns=list(keys)) if keys else None  # read once: for the cuts and for the order
    expected = row_group_sizes(keyed.column(0), group) if keyed is not None else None
    if any(size > group for size in sizes) or (expected is not None and sizes != expected):
        raise VerificationFailed(f"row groups are not cut as planned (at most {group} rows): {sizes[:10]}")
    batches: Iterable[pa.RecordBatch] = written.iter_batches(VERIFY_BATCH_ROWS)
    if keyed is not None:
        violation = sorted_violation(keyed.to_batches(VERIFY_BATCH_ROWS), keys)
        if violation is not None:
            raise VerificationFailed(f"rows are not sorted by {', '.join(keys)} at row {violation}")
    theirs = row_digests(batches)
    ours = row_digests(source.to_batches(VERIFY_BATCH_ROWS))
    if len(theirs) != len(ours) or not (theirs == ours).all():
        raise VerificationFailed(f"rows differ: {len(ours)} rows read, {len(theirs)} written, or different values")


def main(argv: Sequence[str] | None = None) -> int:
    """``dataset-downloads optimise SOURCE DEST [options]``: rewrite, verify, print a summary; exit status."""
    parser = argparse.ArgumentParser(prog="dataset-downloads optimise", description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the Parquet file to rewrite")
    parser.add_argument("dest", type=Path, help="where to write the optimised file (not the source)")
    parser.add_argument("--row-group-rows", type=int, default=ROW_GROUP_ROWS, help="rows per row group")
    parser.add_argument("--sort-by", default=None, help=f"comma-separated columns (default: {','.join(SORT_BY)})")
    parser.add_argument("--compression-level", type=int, default=COMPRESSION_LEVEL, help="zstd level")
    parser.add_argument("--no-bloom", action="store_true", help="write no Bloom filters")
    parser.add_argument("--no-verify", action="store_true", help="skip reading the rewrite back")
    args = parser.parse_args(argv)
    try:
        report = optimise(
            args.source,
            args.dest,
            sort_by=args.sort_by.split(",") if args.sort_by else None,
            row_group_rows=args.row_group_rows,
            compression_level=args.compression_level,
            bloom_filter_columns=() if args.no_bloom else None,
            verify=not args.no_verify,
        )
    except (OptimiseError, OSError, pa.ArrowException) as error:
        print(f"dataset-downloads optimise: {getattr(error, 'code', 'error')}: {error}", file=sys.stderr)
        return OptimiseError.status
    print(
        f"{report.dest}: {report.rows:,} rows in {report.row_groups} row groups, sorted by "
        f"{', '.join(report.sort_by) or 'nothing'}, {report.source_bytes:,} → {report.dest_bytes:,} bytes, "
        f"{'verified' if report.verified else 'not verified'} in {report.seconds:.1f} s"
    )
    return 0
