"""Streaming gzip: standard, deterministic, independent of chunking, no trailer after an error; Accept-Encoding."""

from __future__ import annotations

import gzip
import random
import struct
import zlib
from collections.abc import Iterator

import pytest

from worker import compress
from worker.compress import MIN_CHUNK, accepts_gzip, gzip_chunks

HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, mtime 0, no name, XFL 0 (level 6), OS unknown


def body() -> bytes:
    rng = random.Random(7)
    return b"".join(b"%d,%s\n" % (i, rng.randbytes(8).hex().encode()) for i in range(60_000))


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_standard_gzip_with_a_fixed_header() -> None:
    data = body()
    out = b"".join(gzip_chunks(pieces(data, 10_000), 6))
    assert out[:10] == HEADER
    assert out[10:] == zlib.compress(data, 6, wbits=-15) + struct.pack("<II", zlib.crc32(data), len(data))
    assert gzip.decompress(out) == data


@pytest.mark.parametrize(("level", "xfl"), [pytest.param(1, 4, id="fast"), pytest.param(9, 2, id="best")])
def test_level_sets_the_extra_flags(level: int, xfl: int) -> None:
    out = b"".join(gzip_chunks([b"abc"], level))
    assert out[8] == xfl
    assert gzip.decompress(out) == b"abc"


def test_same_bytes_whatever_the_chunking() -> None:
    data = body()
    outputs = {b"".join(gzip_chunks(pieces(data, size))) for size in (333, 777, 65_536, len(data))}
    assert len(outputs) == 1


def test_output_chunks_are_not_tiny() -> None:
    chunks = list(gzip_chunks(pieces(body(), 4096)))
    assert all(chunks)
    assert all(len(chunk) >= MIN_CHUNK for chunk in chunks[1:-1])


def test_empty_input_is_a_valid_empty_member() -> None:
    assert gzip.decompress(b"".join(gzip_chunks([]))) == b""


def test_an_input_error_propagates_without_the_trailer() -> None:
    def failing() -> Iterator[bytes]:
        yield from pieces(body(), 50_000)
        raise RuntimeError("source failed")

    received = bytearray()

    def drain() -> None:
        for chunk in gzip_chunks(failing()):
            received.extend(chunk)

    with pytest.raises(RuntimeError, match="source failed"):
        drain()
    assert received
    with pytest.raises(EOFError):
        gzip.decompress(bytes(received))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(None, False, id="absent"),
        pytest.param("", False, id="empty"),
        pytest.param("gzip", True, id="gzip"),
        pytest.param("GZip", True, id="case"),
        pytest.param("x-gzip", True, id="x-gzip"),
        pytest.param("gzip, deflate, br", True, id="browser"),
        pytest.param("br;q=1.0, gzip;q=0.8, *;q=0.1", True, id="weighted"),
        pytest.param("gzip;q=0", False, id="refused"),
        pytest.param("gzip;q=0.000", False, id="refused-decimals"),
        pytest.param("gzip ; q=0 , *", False, id="refused-beats-star"),
        pytest.param("*", True, id="star"),
        pytest.param("*;q=0", False, id="star-refused"),
        pytest.param("identity", False, id="identity"),
        pytest.param("br", False, id="br-only"),
        pytest.param("gzip;q=abc", False, id="malformed-q"),
        pytest.param("gzip;q=0.5;level=1", True, id="extra-params"),
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_fast_levels_use_isal_and_still_decompress() -> None:
    data = body()
    out = b"".join(gzip_chunks(pieces(data, 10_000), 1))
    assert gzip.decompress(out) == data
    if compress.isal_zlib is not None:
        assert out[10:-8] != zlib.compress(data, 1, wbits=-15)  # ISA-L's stream, not zlib's


def test_without_isal_zlib_writes_the_same_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compress, "isal_zlib", None)
    data = body()
    out = b"".join(gzip_chunks(pieces(data, 777), 1))
    assert out[10:-8] == zlib.compress(data, 1, wbits=-15)
    assert gzip.decompress(out) == data


@pytest.mark.parametrize("level", [pytest.param(level, id=f"level-{level}") for level in (0, 1, 3)])
def test_isal_levels_are_independent_of_chunking(level: int) -> None:
    data = body()
    outputs = {b"".join(gzip_chunks(pieces(data, size), level)) for size in (333, 65_536, 300_000, len(data))}
    assert len(outputs) == 1
