"""Deterministic planning-like Parquet datasets for tests, built with Arrow compute (fast even at 1M rows).

Rows are numbered from 0; row ``i`` has ``entity = ENTITY_BASE + i`` and belongs to organisation
``ORGANISATION_BASE + i // rows_per_organisation``, so files are sorted by ``organisation-entity``.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ENTITY_BASE = 1_000_000
ORGANISATION_BASE = 600_000
QUALITIES = ("authoritative", "some", "usable")

_FIELDS: list[pa.Field[Any]] = [
    pa.field("entity", pa.int64()),
    pa.field("name", pa.string()),
    pa.field("dataset", pa.string()),
    pa.field("organisation-entity", pa.int64()),
    pa.field("reference", pa.string()),
    pa.field("prefix", pa.string()),
    pa.field("typology", pa.string()),
    pa.field("start-date", pa.date32()),
    pa.field("end-date", pa.date32()),
    pa.field("entry-date", pa.date32()),
    pa.field("geometry", pa.string()),
    pa.field("point", pa.string()),
    pa.field("quality", pa.string()),
    pa.field("json", pa.string()),
]
SCHEMA = pa.schema(_FIELDS)


def _text(*parts: Any) -> pa.Array[Any]:
    joined: pa.Array[Any] = pc.binary_join_element_wise(*parts, "")
    return joined


def _digits(array: pa.Array[Any]) -> pa.Array[Any]:
    return pc.cast(array, pa.string())


def planning_table(rows: int, *, start: int = 0, rows_per_organisation: int = 1000) -> pa.Table:
    """Rows ``start .. start+rows-1`` of the planning-like dataset (see module docstring for the numbering).

    Example: ``planning_table(2, rows_per_organisation=1)["organisation-entity"]`` → ``[600000, 600001]``.
    """
    index = pa.array(range(start, start + rows), pa.int64())
    entity = pc.add(index, ENTITY_BASE)
    organisation = pc.add(pc.divide(index, rows_per_organisation), ORGANISATION_BASE)
    x, y = _digits(pc.add(pc.multiply(pc.bit_wise_and(index, 1023), 7), 100_000)), _digits(pc.add(index, 200_000))
    polygon = _text("POLYGON((0.", x, " 51.", y, ", 0.", y, " 51.", x, ", 0.", x, " 51.", x, ", 0.", x, " 51.", y, "))")
    day = pc.bit_wise_and(index, 4095)
    start_date = pc.cast(pc.cast(pc.add(day, 10_000), pa.int32()), pa.date32())
    every_eighth = pc.equal(pc.bit_wise_and(index, 7), pa.scalar(0, pa.int64()))
    end_date = pc.if_else(every_eighth, start_date, pa.scalar(None, pa.date32()))
    quality = pc.take(pa.array(QUALITIES), pc.bit_wise_and(index, 1).cast(pa.int32()))
    columns = {
        "entity": entity,
        "name": _text("Area ", _digits(index)),
        "dataset": pa.repeat(pa.scalar("conservation-area"), rows),
        "organisation-entity": organisation,
        "reference": _text("CA-", pc.utf8_lpad(_digits(index), 8, "0")),
        "prefix": pa.repeat(pa.scalar("conservation-area"), rows),
        "typology": pa.repeat(pa.scalar("geography"), rows),
        "start-date": start_date,
        "end-date": end_date,
        "entry-date": pa.repeat(pa.scalar(datetime.date(2024, 1, 2)), rows),
        "geometry": polygon,
        "point": _text("POINT(0.", x, " 51.", y, ")"),
        "quality": quality,
        "json": _text('{"notes":"row ', _digits(index), '"}'),
    }
    return pa.Table.from_pydict(columns, schema=SCHEMA)


def parquet_bytes(table: pa.Table, *, row_group_size: int) -> bytes:
    """``table`` written as one Parquet file with row groups of ``row_group_size`` rows."""
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def write_planning_file(path: Path, rows: int, *, row_group_size: int, rows_per_organisation: int = 1000) -> Path:
    """Write ``rows`` planning-like rows to ``path``, one row group at a time (the writer's memory stays small)."""
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for start in range(0, rows, row_group_size):
            chunk = planning_table(
                min(row_group_size, rows - start), start=start, rows_per_organisation=rows_per_organisation
            )
            writer.write_table(chunk, row_group_size=row_group_size)
    return path
