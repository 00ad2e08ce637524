"""The sliding window on its own, with scripted detections: the commit rule of spec
section 5, UTF-16 counting, and the held-text cap."""

from __future__ import annotations

import re

import attrs
import pytest
from haechi.proxy.streaming.window import SlidingWindow, WindowOverflow, utf16_length


@attrs.frozen
class Span:
    start: int
    end: int


@attrs.frozen
class Result:
    payload: str
    blocked: bool = False
    summary: dict = attrs.Factory(dict)


class Script:
    """Detects ``<...>`` spans (an unclosed ``<`` runs to the end of the text, as a
    still-growing match does) and protects by upper-casing them."""

    def __init__(self) -> None:
        self.protected: list[str] = []
        self.results: list[Result] = []

    def detect(self, text: str) -> list[Span]:
        return [Span(m.start(), m.end()) for m in re.finditer(r"<[^>]*>?", text)]

    def protect(self, text: str) -> Result:
        self.protected.append(text)
        return Result(re.sub(r"<[^>]*>?", lambda m: m.group(0).upper(), text))

    def window(self, size: int, max_held: int = 1000) -> SlidingWindow:
        return SlidingWindow(window=size, detect=self.detect, protect=self.protect,
                             on_result=self.results.append, max_held=max_held)


def test_nothing_is_released_while_the_text_fits_the_window():
    window = Script().window(10)
    assert window.push("0123456789") == ""
    assert window.held == 10
    assert window.push("ab") == "01"
    assert window.flush() == "23456789ab"


def test_commit_is_pulled_back_to_the_start_of_a_crossing_detection():
    script = Script()
    window = script.window(5)
    # commit would be 6, inside the growing match "<cdefghij" (2..11): pulled back to 2
    assert window.push("ab<cdefghij") == "ab"
    assert window.held == 9
    assert window.push("k>lmnopqrs") == "<CDEFGHIJK>lmn"
    assert script.protected == ["<cdefghijk>lmn"]  # a fresh protect of the segment
    assert window.flush() == "opqrs"


def test_a_clean_segment_is_released_without_a_protect_call():
    script = Script()
    window = script.window(4)
    assert window.push("plain text here") == "plain text "
    assert script.protected == [] and script.results == []


def test_window_counts_utf16_units_and_never_splits_a_character():
    window = Script().window(4)
    # four astral characters are eight UTF-16 units: two of them fit the window
    assert window.push("😀😀😀😀") == "😀😀"
    assert window.held == 4
    # an odd window cannot cut a surrogate pair: it holds one unit more instead
    odd = Script().window(3)
    assert odd.push("a😀😀") == "a"
    assert odd.held == 4
    assert utf16_length("a😀é") == 4


def test_held_text_is_capped():
    window = Script().window(4, max_held=20)
    window.push("<" + "x" * 10)
    with pytest.raises(WindowOverflow):
        for _ in range(5):
            window.push("y" * 5)


def test_released_results_reach_the_callback_once_each():
    script = Script()
    window = script.window(3)
    assert window.push("<a> <b> tail") == "<A> <B> t"
    assert window.flush() == "ail"
    assert [r.payload for r in script.results] == ["<A> <B> t", "ail"]
