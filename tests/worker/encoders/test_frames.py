"""Tests for worker/encoders/frames.py: polars writes exactly the pyarrow CSV encoder's bytes, or stands aside."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.worker.encoders.conftest import all_types_batch
from worker.encoders import frames
from worker.encoders.csv import encode_csv


def both_paths(batch: pa.RecordBatch, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    """(polars path, pyarrow path) CSV bytes of one batch."""
    fast = b"".join(encode_csv(batch.schema, iter([batch])))
    with monkeypatch.context() as patch:
        patch.setattr(frames, "ENABLED", False)
        slow = b"".join(encode_csv(batch.schema, iter([batch])))
    return fast, slow


def test_polars_renders_when_it_can() -> None:
    # Else every comparison below would compare the pyarrow path with itself.
    assert frames.csv_renderer(pa.schema([("a", pa.int64())]), lambda array: array, "") is not None


def test_every_type_family_matches_the_pyarrow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = both_paths(all_types_batch(), monkeypatch)
    assert fast == slow


def test_awkward_values_match(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            'a "key", é': pa.array(["", None, "a,b", 'q"x', "l\nb", "c\rr", "\x01\x08\x0c\t\\/\x7f\u2028", " s "]),
            "date": pa.array([-719162, 2932896, 0, None, 1, 19000, -1, 5], pa.date32()),
            "uint": pa.array([0, 2**64 - 1, None, 1, 2, 3, 4, 5], pa.uint64()),
            "dict": pa.array(["x", None, "y", "x", "", "z", "x", "y"]).dictionary_encode(),
            "ts": pa.array([0, None, 1, 2, 3, 4, 5, 6], pa.timestamp("us", "UTC")),
            "bin": pa.array([b"", None, b"\x00\xff", b"a", b"b", b"c", b"d", b"e"]),
        }
    )
    fast, slow = both_paths(batch, monkeypatch)
    assert fast == slow


def test_one_column_of_nulls_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = both_paths(pa.record_batch({"a": pa.array([None, 1, None])}), monkeypatch)
    assert fast == slow


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=20),
    numbers=st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=20, max_size=20),
    days=st.lists(st.one_of(st.none(), st.dates()), min_size=20, max_size=20),
)
def test_any_supported_values_match(
    texts: list[str | None], numbers: list[int | None], days: list[dt.date | None]
) -> None:
    rows = len(texts)
    batch = pa.RecordBatch.from_pydict(
        {"t": pa.array(texts, pa.string()), "n": pa.array(numbers[:rows], pa.int64()), "d": pa.array(days[:rows])}
    )
    fast = b"".join(encode_csv(batch.schema, iter([batch])))
    frames.ENABLED = False
    try:
        slow = b"".join(encode_csv(batch.schema, iter([batch])))
    finally:
        frames.ENABLED = True
    assert fast == slow


def test_duplicate_names_use_the_pyarrow_path() -> None:
    schema = pa.schema([("a", pa.int64()), ("a", pa.int64())])
    assert frames.csv_renderer(schema, lambda array: array, "") is None
