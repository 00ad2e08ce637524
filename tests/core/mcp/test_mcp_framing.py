from __future__ import annotations

import pytest
from haechi.mcp.framing import OVERSIZE, LineSplitter
from hypothesis import given
from hypothesis import strategies as st


def split_all(splitter: LineSplitter, chunks: list[bytes]) -> list:
    items = []
    for chunk in chunks:
        items.extend(splitter.feed(chunk))
    final = splitter.finish()
    if final is not None:
        items.append(final)
    return items


def test_lines_across_chunk_boundaries() -> None:
    splitter = LineSplitter(100)
    assert split_all(splitter, [b'{"a"', b':1}\n{"b":2}\n\n{"c"', b":3}"]) == [
        b'{"a":1}', b'{"b":2}', b"", b'{"c":3}']


def test_a_line_of_exactly_the_limit_passes_and_one_more_byte_does_not() -> None:
    splitter = LineSplitter(8)
    assert splitter.feed(b"12345678\n123456789\nok\n") == [b"12345678", OVERSIZE, b"ok"]


def test_oversize_is_reported_once_and_the_rest_of_the_line_is_skipped() -> None:
    splitter = LineSplitter(10)
    items = []
    for _ in range(1000):
        items.extend(splitter.feed(b"y" * 64))
        assert len(splitter._buffer) <= 10  # never holds more than the limit
    items.extend(splitter.feed(b"tail\nnext\n"))
    assert items == [OVERSIZE, b"next"]


def test_an_oversize_partial_final_line_is_not_returned() -> None:
    splitter = LineSplitter(4)
    assert splitter.feed(b"abcdefgh") == [OVERSIZE]
    assert splitter.finish() is None


def test_a_partial_final_line_is_returned_by_finish() -> None:
    splitter = LineSplitter(64)
    assert splitter.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert splitter.finish() == b'{"b"'
    assert splitter.finish() is None


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LineSplitter(0)


@given(st.lists(st.binary(max_size=40), max_size=12), st.integers(1, 60))
def test_any_chunking_gives_the_lines_split_on_newline(chunks: list[bytes], limit: int) -> None:
    data = b"".join(chunks)
    expected = [OVERSIZE if len(line) > limit else line for line in data.split(b"\n")]
    if expected and expected[-1] == b"":
        expected.pop()  # a trailing newline ends the last line; nothing follows
    elif expected and expected[-1] is OVERSIZE and not data.endswith(b"\n"):
        pass  # an oversize partial final line is reported once by feed()
    assert split_all(LineSplitter(limit), chunks) == expected
