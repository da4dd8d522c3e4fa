"""Row-level checks over streams of record batches: a digest per row, and the first row out of sort order.

Used by :mod:`dataset_downloads.optimise` to prove a rewrite holds the same multiset of rows without holding two
copies of the data: each row becomes an unambiguous text (every value length-prefixed, nulls marked) hashed to
64 bits; the sorted digests of two files are equal exactly when their rows are (up to 2⁻⁶⁴ collisions).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

_COLON = pa.scalar(":", pa.large_string())
_BAR = pa.scalar("|", pa.large_string())


# pyarrow-stubs lag pyarrow 26 (3-tuple sort keys, scalar separators): Arrow values are typed Any here.
def _as_text(column: Any) -> Any:
    """Each value as text: Arrow's cast where it exists (numbers, dates, strings), else Python's repr."""
    try:
        return pc.cast(column, pa.large_string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else repr(v) for v in column.to_pylist()], pa.large_string())


def _encoded(column: Any) -> Any:
    """``len:value`` per value, ``N`` for null: no two different rows join to the same text."""
    text = _as_text(column)
    length: Any = pc.cast(pc.utf8_length(text), pa.large_string())
    return pc.fill_null(pc.binary_join_element_wise(length, text, _COLON), "N")


def row_digests(batches: Iterable[pa.RecordBatch]) -> npt.NDArray[np.uint64]:
    """The sorted 64-bit BLAKE2b digests of every row: equal arrays ⇔ equal row multisets.

    >>> batch = pa.record_batch({"a": [2, 1]})
    >>> bool((row_digests([batch]) == row_digests([batch.take([1, 0])])).all())
    True
    """
    parts: list[npt.NDArray[np.uint64]] = []
    for batch in batches:
        if batch.num_rows == 0:
            continue
        columns = [_encoded(batch.column(i)) for i in range(batch.num_columns)]
        join: Any = pc.binary_join_element_wise
        rows: list[str] = (join(*columns, _BAR) if len(columns) > 1 else columns[0]).to_pylist()
        digests = b"".join(hashlib.blake2b(row.encode(), digest_size=8).digest() for row in rows)
        parts.append(np.frombuffer(digests, dtype=np.uint64))
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint64)


def sorted_violation(batches: Iterable[pa.RecordBatch], keys: tuple[str, ...]) -> int | None:
    """The index of the first row that sorts before its predecessor by ``keys`` (nulls last), or None.

    >>> sorted_violation([pa.record_batch({"k": [1, 3, 2]})], ("k",))
    2
    """
    ordering: Any = [(k, "ascending", "at_end") for k in keys]
    previous: pa.Table | None = None
    seen = 0
    for batch in batches:
        table = pa.Table.from_batches([batch]).select(list(keys))
        window = table if previous is None else pa.concat_tables([previous, table])
        order = pc.sort_indices(window, sort_keys=ordering).to_numpy()
        # rank[i] = position of row i in the stable sort: it drops exactly where a row sorts before its predecessor
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        wrong = np.flatnonzero(np.diff(rank) < 0)
        if len(wrong):
            return seen + int(wrong[0]) + (1 if previous is None else 0)
        seen += batch.num_rows
        previous = table.slice(table.num_rows - 1) if table.num_rows else previous
    return None
