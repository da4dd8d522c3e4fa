"""Shared streaming machinery of the text encoders: slice batches, render rows, buffer bytes into chunks.

A text format is a head, rows each followed by a separator, and a tail. The driver pulls a batch before it
writes anything (so an error in the first batch happens before the first byte), keeps back the separator of
the last row written so far (so the tail replaces it only when the input ended cleanly), and never writes
the tail if the batch iterator raises: a truncated download does not parse as complete.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias, cast

import pyarrow as pa
import pyarrow.compute as pc

from worker.parallelism import process_at_once

MIN_CHUNK = 64 * 1024
MAX_CHUNK = 1024 * 1024
MAX_SLICE_ROWS = 65_536
# Rendering a slice makes a few copies of its text: slicing by input bytes bounds that memory. Each slice costs
# about 20 kernel calls a column, so bigger slices pay that less often: the pyarrow renderers (the Lambda zip's),
# one CPU, 360k rows of the sorted benchmark file, 1 -> 4 MiB: CSV 0.52-0.57 -> 0.43-0.51 s, NDJSON 0.72-0.81 ->
# 0.62-0.79 s. Fresh processes, Lambda zip, A/B: unsorted full GeoJSON 10.60 -> 9.37 s, sorted full CSV on one CPU
# 7.49 -> 6.26 s with the CSV kernels before it; peaks the same (203 MB: the copies fit in the heap faulted in at init).
SLICE_INPUT_BYTES = 4 * 1024 * 1024

# The slices of one batch are rendered this many at a time, each on a pool thread (polars' writers and pyarrow's
# kernels release the GIL): 2 in the two-at-once profile (worker/parallelism.py), else 1, on the caller's thread.
# The next batch is pulled only when this one's slices are out, so a sparse scan's bytes are never held back.
# Measured two at once, in-process: sorted full CSV 3.1-3.5 s -> 2.7-2.8 s, NDJSON 4.4-4.8 s -> 3.5-4.1 s,
# unsorted full JSON 5.4-6.1 s -> 5.2-5.3 s, for +10-30 MB of peak RSS.
RENDER_AT_ONCE = process_at_once()

TEXT = pa.large_string()
Column: TypeAlias = "pa.Array[Any]"
# A rendered slice's rows: bytes, or a view of an Arrow buffer (text_view: no copy).
Text: TypeAlias = bytes | memoryview


def slices(
    batch: pa.RecordBatch, input_bytes: int | None = None, *, at_once: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Split a batch into equal slices of at most about ``input_bytes`` (default ``SLICE_INPUT_BYTES``; at most
    ``MAX_SLICE_ROWS`` rows each), as many as a multiple of ``at_once`` (default ``RENDER_AT_ONCE``) when there is
    more than one: rendered that many at a time, no thread waits for a short last slice (11,865 rows in slices of
    up to 5,809, two at once: 2,967 x 4, not 5,809 + 5,809 + 247).

    >>> [part.num_rows for part in slices(pa.record_batch({"n": list(range(10))}), 32, at_once=2)]
    [2, 3, 2, 3]
    >>> [part.num_rows for part in slices(pa.record_batch({"n": list(range(10))}), 40, at_once=2)]
    [5, 5]
    """
    rows = batch.num_rows
    if rows == 0:
        return
    per_row = max(1, batch.nbytes // rows)
    step = max(1, min(MAX_SLICE_ROWS, (input_bytes or SLICE_INPUT_BYTES) // per_row))
    count = -(-rows // step)
    if count > 1:
        multiple = at_once or RENDER_AT_ONCE
        count = min(rows, -(-count // multiple) * multiple)
    bounds = [rows * part // count for part in range(count + 1)]
    for start, end in itertools.pairwise(bounds):
        yield batch.slice(start, end - start)


def concat(*parts: Column | str, null: str | None = None) -> Column:
    """Element-wise concatenation of ``large_string`` arrays and constant strings: null if any part is, or with
    a null part written as ``null`` when given.

    >>> concat("<", pa.array(["a", None], TEXT), ">").to_pylist()
    ['<a>', None]
    >>> concat("<", pa.array(["a", None], TEXT), ">", null="").to_pylist()
    ['<a>', '<>']
    """
    merged: list[Column | str] = []
    for part in parts:  # adjacent constants as one: fewer parts for the kernel to walk for every row
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return join([pa.scalar(part, TEXT) if isinstance(part, str) else part for part in merged], "", null=null)


def join(parts: Sequence[Column | pa.Scalar[Any]], separator: str, *, null: str | None = None) -> Column:
    """Element-wise join of ``large_string`` arrays and scalars with ``separator`` between them; a null part
    makes the row null, or is written as ``null`` when given.
    """
    join_: Any = pc.binary_join_element_wise  # the stubs accept neither mixed scalars and arrays nor lists
    if null is None:
        return cast(Column, join_(*parts, pa.scalar(separator, TEXT)))
    return cast(Column, join_(*parts, pa.scalar(separator, TEXT), null_handling="replace", null_replacement=null))


def fill(array: Column, text: str) -> Column:
    """``array`` with its nulls replaced by ``text``."""
    return cast(Column, pc.fill_null(array, pa.scalar(text, TEXT)))


def choose(mask: Column, when_true: Column | str, when_false: Column | str) -> Column:
    """Element-wise ``when_true if mask else when_false`` (constants may be plain strings), as ``large_string``."""
    if_else: Any = pc.if_else
    options = [pa.scalar(part, TEXT) if isinstance(part, str) else part for part in (when_true, when_false)]
    return cast(Column, if_else(mask, *options))


def text_bytes(array: Column) -> bytes:
    """The concatenated UTF-8 of a null-free string or large_string array, copied once.

    >>> text_bytes(pa.array(["a,b\\n", "c\\n"]))
    b'a,b\\nc\\n'
    """
    return _values(array).to_pybytes()


def text_view(array: Column) -> memoryview:
    """The concatenated values of a null-free string or binary array (large or not), as a view of the array's own
    buffer: no copy (a rendered slice's text goes straight to :func:`stream_rows`, which cuts it into chunks).

    >>> bytes(text_view(pa.array(["a,b\\n", "c\\n"])))
    b'a,b\\nc\\n'
    """
    return memoryview(_values(array))


def _values(array: Column) -> pa.Buffer:
    if len(array) == 0:
        return pa.py_buffer(b"")
    offsets_buffer, data = array.buffers()[1:3]
    if offsets_buffer is None or data is None:
        raise TypeError(f"not a string array: {array.type}")
    large = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    offsets = memoryview(offsets_buffer).cast("q" if large else "i")
    start, end = offsets[array.offset], offsets[array.offset + len(array)]
    return data[start:end]


def present_bytes(array: Column, among: bytes) -> set[int]:
    """Which of the bytes ``among`` occur anywhere in a string array's values, so columns without special
    characters skip their escaping kernels altogether. One ``find`` (memchr) per byte over the values: 4x faster
    than deleting every other byte with ``translate`` for CSV's four, as fast for JSON's 34 (docs/performance.md).

    >>> sorted(present_bytes(pa.array(['a"b', "c"]), b'",'))
    [34]
    """
    data = text_bytes(array)
    return {byte for byte in among if data.find(byte) != -1}


def stream_rows(
    batches: Iterator[pa.RecordBatch],
    render: Callable[[pa.RecordBatch], Text],
    *,
    head: bytes,
    separator: bytes,
    tail: bytes,
    empty: bytes,
    slice_bytes: int | None = None,
) -> Iterator[bytes]:
    """Yield ``head``, every slice's rendered rows (each row ending in ``separator``) and ``tail``, the
    last row's separator dropped; ``empty`` alone when there are no rows. ``render`` must return whole rows;
    it gets slices of about ``slice_bytes`` of input (:func:`slices`).
    """
    pending = bytearray()  # not yet yielded: under MIN_CHUNK of rows, or the held-back separator
    started = False
    first = True
    keep = len(separator)
    with _Renderer(render) as renderer:
        for batch in batches:
            for text in renderer.render(slices(batch, slice_bytes)):
                if not text:
                    continue
                if not started:
                    pending += head
                    started = True
                if first or len(pending) + len(text) - keep >= MIN_CHUNK:
                    # The first chunk goes out at once for time-to-first-byte; then at least MIN_CHUNK each.
                    first = False
                    yield from _drain(pending, text, keep)
                    pending = bytearray(_rest(pending, text, keep))
                else:
                    pending += text
    if not started:
        if empty:
            yield empty
        return
    yield from _drain(pending[: len(pending) - keep], tail, 0)


class _Renderer:
    """Renders the slices of one batch, :data:`RENDER_AT_ONCE` at a time, yielding the texts in order (an error
    at its slice's place). Closing it waits for the renders in flight and drops the rest.
    """

    def __init__(self, render: Callable[[pa.RecordBatch], Text]) -> None:
        self._render = render
        self._pool = ThreadPoolExecutor(RENDER_AT_ONCE, thread_name_prefix="render") if RENDER_AT_ONCE > 1 else None

    def render(self, parts: Iterator[pa.RecordBatch]) -> Iterator[Text]:
        batch_slices = list(parts)
        if self._pool is None or len(batch_slices) == 1:  # one slice: nothing to do side by side
            return map(self._render, batch_slices)
        return self._pool.map(self._render, batch_slices)

    def __enter__(self) -> _Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _drain(prefix: bytes | bytearray, text: Text, keep: int) -> Iterator[bytes]:
    """Yield ``prefix + text`` but its last ``keep`` bytes, in equal chunks of at most ``MAX_CHUNK``, copying
    each byte once (no joined copy: ``text`` is a whole rendered slice, megabytes of it).
    """
    end = len(prefix) + len(text) - keep
    if end <= 0:
        return
    # Equal parts rather than MAX_CHUNK plus a sliver: no tiny trailing chunk.
    size = -(-end // -(-end // MAX_CHUNK))
    head = len(prefix)
    with memoryview(text) as view:
        for start in range(0, end, size):
            stop = min(end, start + size)
            if start >= head:
                yield bytes(view[start - head : stop - head])
            elif stop <= head:
                yield bytes(prefix[start:stop])
            else:
                yield bytes(prefix[start:]) + view[: stop - head]


def _rest(prefix: bytes | bytearray, text: Text, keep: int) -> bytes:
    """The last ``keep`` bytes of ``prefix + text`` (what :func:`_drain` held back)."""
    if keep == 0:
        return b""
    if keep <= len(text):
        return bytes(text[len(text) - keep :])
    return bytes(prefix[len(prefix) + len(text) - keep :]) + text
