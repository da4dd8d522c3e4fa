"""The text driver: chunk sizes, the first chunk's promptness, separators held back, sliced arrays."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from typing import cast

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.worker.encoders.conftest import SourceFailed, batch_of, collect_until_error
from worker.encoders import chunking
from worker.encoders.chunking import (
    MAX_CHUNK,
    MIN_CHUNK,
    TEXT,
    present_bytes,
    slices,
    stream_rows,
    text_bytes,
    text_view,
)


def render(batch: pa.RecordBatch) -> bytes:
    return b"".join(b"%d;" % n for n in batch.column(0).to_pylist() if n is not None)


def wide(rows: int, start: int = 0) -> pa.RecordBatch:
    return batch_of({"n": pa.array(range(start, start + rows), pa.int64())})


def test_chunks_are_bounded_and_never_empty() -> None:
    batches = [wide(50_000, i * 50_000) for i in range(8)]
    chunks = list(stream_rows(iter(batches), render, head=b"[", separator=b";", tail=b"]", empty=b"[]"))
    assert all(chunks)
    assert all(len(chunk) <= MAX_CHUNK for chunk in chunks)
    assert all(len(chunk) >= MIN_CHUNK for chunk in chunks[1:-1])
    assert b"".join(chunks) == b"[" + b";".join(b"%d" % n for n in range(400_000)) + b"]"


def test_first_chunk_is_yielded_before_the_second_batch_is_pulled() -> None:
    pulled: list[int] = []

    def source() -> object:
        for index in range(3):
            pulled.append(index)
            yield wide(10, index * 10)

    chunks = stream_rows(source(), render, head=b"", separator=b"", tail=b"", empty=b"")  # type: ignore[arg-type]
    assert next(chunks).startswith(b"0;1;")
    assert pulled == [0]


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(st.lists(st.binary(max_size=9), max_size=6), max_size=8),
    head=st.binary(max_size=5),
    separator=st.sampled_from([b"", b";", b",\n"]),
    tail=st.binary(max_size=5),
    limits=st.sampled_from([(1, 2), (4, 7), (8, 8), (3, 30)]),
)
def test_any_renders_give_the_whole_text_in_bounded_chunks(
    rows: list[list[bytes]], head: bytes, separator: bytes, tail: bytes, limits: tuple[int, int]
) -> None:
    # Each batch renders to its rows, each ending with the separator; tiny chunk limits exercise every split.
    texts = [b"".join(row + separator for row in batch) for batch in rows]
    batches = [wide(1, index) for index in range(len(texts))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunking, "MIN_CHUNK", limits[0])
        patch.setattr(chunking, "MAX_CHUNK", limits[1])
        chunks = list(
            stream_rows(
                iter(batches),
                lambda b: texts[b.column(0)[0].as_py()],
                head=head,
                separator=separator,
                tail=tail,
                empty=b"E",
            )
        )
    body = b"".join(texts)
    expected = head + body[: len(body) - len(separator)] + tail if body else b"E"
    assert b"".join(chunks) == expected
    assert all(isinstance(chunk, bytes) and 0 < len(chunk) <= max(limits[1], len(b"E")) for chunk in chunks)


@pytest.mark.parametrize("at_once", [1, 2, 3])
def test_slices_rendered_side_by_side_come_out_in_order(monkeypatch: pytest.MonkeyPatch, at_once: int) -> None:
    monkeypatch.setattr(chunking, "RENDER_AT_ONCE", at_once)

    def slow_first(batch: pa.RecordBatch) -> bytes:
        # Later slices finish first: the order must come from the input, not from completion.
        first = batch.column(0)[0].as_py()
        time.sleep(0.02 if first % 7 == 0 else 0)
        return render(batch)

    batches = [wide(200, i * 200) for i in range(5)]
    chunks = stream_rows(iter(batches), slow_first, head=b"[", separator=b";", tail=b"]", empty=b"", slice_bytes=8 * 20)
    assert b"".join(chunks) == b"[" + b";".join(b"%d" % n for n in range(1000)) + b"]"


def test_a_failing_slice_fails_at_its_place_and_closing_stops_the_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunking, "RENDER_AT_ONCE", 2)
    monkeypatch.setattr(chunking, "MIN_CHUNK", 1)

    def failing(batch: pa.RecordBatch) -> bytes:
        if batch.column(0)[0].as_py() >= 500:
            raise SourceFailed
        return render(batch)

    chunks = stream_rows(iter([wide(1000)]), failing, head=b"", separator=b";", tail=b"]", empty=b"", slice_bytes=800)
    # Every row before the failing slice, and no tail.
    assert collect_until_error(chunks) == b";".join(b"%d" % n for n in range(500))
    before = {thread.name for thread in threading.enumerate()}
    rest = cast(
        Generator[bytes, None, None],
        stream_rows(iter([wide(1000)] * 3), render, head=b"", separator=b"", tail=b"", empty=b"", slice_bytes=80),
    )
    next(rest)
    rest.close()  # a client that went away: the pool is shut down, no render thread is left
    assert {thread.name for thread in threading.enumerate() if thread.name.startswith("render")} <= before


def test_empty_and_zero_row_batches() -> None:
    zero = wide(0)
    assert list(stream_rows(iter([zero]), render, head=b"[", separator=b";", tail=b"]", empty=b"[]")) == [b"[]"]
    assert list(stream_rows(iter([]), render, head=b"", separator=b"", tail=b"", empty=b"")) == []


def test_slices_bound_input_bytes() -> None:
    big = batch_of({"s": pa.array(["x" * 1000] * 5000, TEXT)})
    parts = list(slices(big))
    assert sum(part.num_rows for part in parts) == 5000
    assert len(parts) > 1


@pytest.mark.parametrize(
    "array",
    [
        pytest.param(pa.array(["ab", "c", "def"]), id="string"),
        pytest.param(pa.array(["ab", "c", "def"], TEXT), id="large-string"),
        pytest.param(pa.array(["zz", "ab", "c", "def"]).slice(1), id="sliced"),
    ],
)
def test_text_bytes_and_view(array: pa.Array) -> None:  # type: ignore[type-arg]
    assert text_bytes(array) == b"abcdef"
    view = text_view(array)
    assert bytes(view) == b"abcdef"
    assert len(text_view(array.slice(1, 1))) == 1


def test_text_view_shares_the_arrays_buffer() -> None:
    array = pa.array(["ab", "c"], TEXT)
    view = text_view(array)
    data = array.buffers()[2]
    assert data is not None
    # No copy: stream_rows cuts its chunks straight out of Arrow's buffer.
    assert cast(pa.Buffer, view.obj).address == data.address


def test_stream_rows_takes_views_and_keeps_back_the_separator() -> None:
    rows = [batch_of({"s": pa.array(["a", "b", "c"], TEXT)}), batch_of({"s": pa.array(["d"], TEXT)})]
    out = stream_rows(
        iter(rows),
        lambda batch: text_view(chunking.concat(batch.column(0), ",\n")),
        head=b"[\n",
        separator=b",\n",
        tail=b"\n]",
        empty=b"[]",
    )
    assert b"".join(out) == b"[\na,\nb,\nc,\nd\n]"


def test_present_bytes() -> None:
    assert present_bytes(pa.array(["a,b", "c"]), b',"') == {ord(",")}
    assert present_bytes(pa.array(["ab"]), b',"') == set()
