"""Stream inspection: SSE and NDJSON filters between an upstream and a client.

A filter is fed the upstream's bytes as they arrive and returns the bytes that may be
sent to the client now. Each frame is protected before it leaves; the streamed text of
choice 0 goes through a :class:`~haechi.proxy.streaming.window.SlidingWindow` so a value
split across frames is still caught. Differences from the reference (spec section 15):

- the held tail is flushed *before* ``[DONE]``, before the frame that finishes the
  choice (``finish_reason``, ``done``, ``stop``) and before Anthropic's flush types, so a
  client that stops reading there loses nothing (quirk 5);
- a block stops the stream and :meth:`StreamFilter.error_frame` gives the final event
  the client SDKs raise on (quirk 6);
- with a ``detokenizer``, tokens issued for this request are restored in the streamed
  text, even when a token arrives split across frames.

A filter never raises for what the upstream sends: an oversize frame, a runaway match,
a frame nested too deep or a failing protect call all end in ``blocked`` (fail closed).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import attrs

from haechi import jsoncodec
from haechi.errors import HaechiError, NestingTooDeep
from haechi.proxy.streaming.delta import DeltaSlot, ends_choice, find_delta
from haechi.proxy.streaming.framing import Framer, FrameTooLarge, LineFramer, SseFramer
from haechi.proxy.streaming.tally import DetectionTally
from haechi.proxy.streaming.window import SlidingWindow, SpanLike, WindowOverflow

__all__ = [
    "BLOCK_MESSAGES",
    "DEFAULT_MAX_FRAME_BYTES",
    "NdjsonFilter",
    "SseFilter",
    "StreamFilter",
    "stream_filter_for",
]

#: The default of ``responseProtection.maxBytes``.
DEFAULT_MAX_FRAME_BYTES = 1_048_576

#: ``block_reason`` -> the message of the error frame (never a value).
BLOCK_MESSAGES = {
    "policy_block": "Response stream blocked by Haechi policy",
    "frame_too_large": "Response stream frame exceeds responseProtection.maxBytes",
    "match_too_long": "Response stream holds a possible match longer than the inspection "
                      "limit",
    "frame_too_deeply_nested": "Response stream frame nesting exceeds "
                               "limits.maxNestingDepth",
    "protection_failed": "Response stream could not be protected",
    "stream_aborted": "Response stream ended early",
}

_LINE_BREAK = re.compile(r"\r\n|\n|\r")
#: The summary of a protect call that found nothing (nothing suppressed or dropped either).
_CLEAN_SUMMARY = {"detectionCount": 0, "byType": {}, "byAction": {}}


class _Blocked(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class _DeltaFrame:
    """The last frame that carried streamed text: a held tail is sent in a copy of it."""

    prefix: bytes
    frame: Any
    slot: DeltaSlot


class StreamFilter(ABC):
    """Inspects one streamed response. Subclasses know the wire format.

    :param route: a :class:`~haechi.proxy.streaming.StreamRoute` or anything with the
        same attributes.
    :param protect_text: ``text -> ProtectResult`` (response direction, stream mode,
        ``audit=False``).
    :param protect_json: ``document -> ProtectResult``, likewise.
    :param window: ``streaming.maxMatchBytes`` (UTF-16 code units).
    :param detokenizer: a ``TokenScope.stream()`` to restore this request's tokens.
    :param detect_text: ``text -> spans``, detection without side effects (no token
        issued, nothing audited); required when the route has a ``delta_path``.
    :param max_frame_bytes: ``responseProtection.maxBytes``: the largest frame accepted.
    """

    _FRAMER: ClassVar[type[Framer]]

    def __init__(
        self,
        *,
        route: Any,
        protect_text: Callable[[str], Any],
        protect_json: Callable[[Any], Any],
        window: int,
        detokenizer: Any = None,
        detect_text: Callable[[str], Sequence[SpanLike]] | None = None,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.route = route
        self.blocked = False
        self.block_reason: str | None = None
        self._protect_text = protect_text
        self._protect_json = protect_json
        self._detokenizer = detokenizer
        self._tally = DetectionTally()
        self._framer = self._FRAMER(max_frame_bytes)
        self._last_delta: _DeltaFrame | None = None
        self._last_clean: bytes | None = None
        self._window: SlidingWindow | None = None
        if route.delta_path is not None:
            if detect_text is None:
                raise ValueError("A stream route with a delta_path needs detect_text "
                                 "(see StreamProtection.for_runtime).")
            self._window = SlidingWindow(window=window, detect=detect_text,
                                         protect=protect_text, on_result=self._accept,
                                         max_held=window + max_frame_bytes)

    # -- the interface the proxy uses -----------------------------------------------------

    @property
    def summary(self) -> dict[str, Any]:
        """Detections tallied over every protected part of the stream so far."""
        return self._tally.as_dict()

    @property
    def buffered_bytes(self) -> int:
        """Bytes held while waiting for the end of a frame."""
        return self._framer.buffered

    @property
    def held_units(self) -> int:
        """UTF-16 units of streamed text held back by the window."""
        return 0 if self._window is None else self._window.held

    def feed(self, chunk: bytes) -> bytes:
        """Take upstream bytes; return the bytes that may be sent to the client now."""
        if self.blocked:
            return b""
        out: list[bytes] = []
        with self._fail_closed():
            for raw in self._framer.push(chunk):
                self._frame(raw, out)
        return b"" if self.blocked else b"".join(out)

    def finish(self) -> bytes:
        """The upstream ended: the unterminated last frame and the held tail."""
        if self.blocked:
            return b""
        out: list[bytes] = []
        with self._fail_closed():
            rest = self._framer.rest()
            if rest.strip():
                self._frame(rest, out)
            self._flush_tail(out)
        return b"" if self.blocked else b"".join(out)

    def error_frame(self, *, audit_id: str | None = None) -> bytes:
        """The last event to send after a block (or when the stream must end early)."""
        reason = self.block_reason or "stream_aborted"
        return self._render_error(reason, BLOCK_MESSAGES[reason], audit_id)

    # -- frames ---------------------------------------------------------------------------

    @contextmanager
    def _fail_closed(self) -> Iterator[None]:
        try:
            yield
        except _Blocked as blocked:
            self._block(blocked.reason)
        except FrameTooLarge:
            self._block("frame_too_large")
        except WindowOverflow:
            self._block("match_too_long")
        except (NestingTooDeep, RecursionError):
            self._block("frame_too_deeply_nested")
        except HaechiError:
            self._block("protection_failed")

    def _block(self, reason: str) -> None:
        self.blocked = True
        self.block_reason = reason

    def _accept(self, result: Any) -> None:
        self._tally.add(result.summary)
        if result.blocked:
            raise _Blocked("policy_block")

    def _frame(self, raw: bytes, out: list[bytes]) -> None:
        prefix, data = self._split(raw)
        if data is None:
            if prefix:  # an SSE frame without data (a comment, a bare event)
                out.append(prefix + b"\n")
            return
        if self._is_done(data):
            self._flush_tail(out)
            out.append(self._render_text(prefix, data))
            return
        try:
            document = jsoncodec.loads(data)
        except ValueError:
            result = self._protect_text(data)
            self._accept(result)
            out.append(self._render_text(prefix, result.payload))
            return
        if self._window is None:
            out.append(self._render_json(prefix, self._protected(document)))
        else:
            self._delta_frame(prefix, document, self._window, out)

    def _delta_frame(
        self, prefix: bytes, document: Any, window: SlidingWindow, out: list[bytes]
    ) -> None:
        path = self.route.delta_path
        if isinstance(document, dict) and isinstance(document.get("type"), str) \
                and document["type"] in self.route.flush_types:
            self._flush_tail(out)
        slot = find_delta(document, path)
        last = ends_choice(document, path)
        if slot is None:
            if last:
                self._flush_tail(out)
            out.append(self._render_json(prefix, self._protected(document)))
            return
        delta = slot.take()
        payload = self._protected(document)
        text = window.push(delta)
        if last:
            text += window.flush()
        slot.put(self._detokenized(text, last))
        out.append(self._render_json(prefix, payload))
        self._last_delta = _DeltaFrame(prefix, payload, slot)

    def _protected(self, document: Any) -> Any:
        """``document`` protected. Consecutive frames often differ only in their delta
        (same id, model, index...): when a frame, delta removed, is byte for byte the last
        one found clean, it is clean again (detection is a function of the text) and is
        not scanned twice."""
        key = jsoncodec.dumps_compact(document)
        if key == self._last_clean:
            return document
        result = self._protect_json(document)
        self._accept(result)
        self._last_clean = key if result.summary == _CLEAN_SUMMARY else None
        return result.payload

    def _flush_tail(self, out: list[bytes]) -> None:
        if self._window is None or self._last_delta is None:
            return
        text = self._detokenized(self._window.flush(), True)
        if text:
            self._last_delta.slot.put(text)
            out.append(self._render_json(self._last_delta.prefix, self._last_delta.frame))

    def _detokenized(self, text: str, last: bool) -> str:
        if self._detokenizer is None:
            return text
        restored = self._detokenizer.feed(text) if text else ""
        return restored + self._detokenizer.flush() if last else restored

    # -- the wire format ------------------------------------------------------------------

    @abstractmethod
    def _split(self, raw: bytes) -> tuple[bytes, str | None]:
        """``(kept bytes, data text or None)`` of one frame."""

    def _is_done(self, data: str) -> bool:
        """Whether ``data`` is the end-of-stream sentinel (SSE's ``[DONE]``)."""
        return False

    @abstractmethod
    def _render_json(self, prefix: bytes, document: Any) -> bytes: ...

    @abstractmethod
    def _render_text(self, prefix: bytes, text: str) -> bytes: ...

    @abstractmethod
    def _render_error(self, reason: str, message: str, audit_id: str | None) -> bytes: ...


class SseFilter(StreamFilter):
    """Server-sent events (OpenAI-compatible, Anthropic, Gemini ``alt=sse``, llama.cpp).

    ``data:`` lines are joined with ``\\n``; ``event:``, ``id:``, ``retry:`` and comment
    lines are kept and sent before the re-serialized ``data:`` line.
    """

    _FRAMER = SseFramer

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Whether the upstream names its events (``event:`` lines): then so does the
        #: error event.
        self._named_events = False

    def _split(self, raw: bytes) -> tuple[bytes, str | None]:
        kept: list[str] = []
        data: list[str] = []
        for line in _LINE_BREAK.split(raw.decode("utf-8", "replace")):
            if line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
            elif line == "data":
                data.append("")
            elif line:
                kept.append(line + "\n")
                self._named_events = self._named_events or line.startswith("event:")
        prefix = "".join(kept).encode("utf-8")
        return prefix, ("\n".join(data) if data else None)

    def _is_done(self, data: str) -> bool:
        return data.strip() == "[DONE]"

    def _render_json(self, prefix: bytes, document: Any) -> bytes:
        return b"".join((prefix, b"data: ", jsoncodec.dumps_compact(document), b"\n\n"))

    def _render_text(self, prefix: bytes, text: str) -> bytes:
        lines = "".join(f"data: {line}\n" for line in text.split("\n"))
        return prefix + lines.encode("utf-8") + b"\n"

    def _render_error(self, reason: str, message: str, audit_id: str | None) -> bytes:
        # The SDKs raise on: an event named "error" (anthropic, whose upstream names every
        # event), an "error" member of the data (openai), data that starts with {"error":
        # and carries an HTTP status as "code" (google-genai, which cannot parse an
        # "event:" line: so the event is named only when the upstream names its own).
        error: dict[str, Any] = {"type": "haechi_policy_block", "code": 502,
                                 "status": "haechi_response_policy_block",
                                 "reason": reason, "message": message}
        if audit_id is not None:
            error["auditId"] = audit_id
        prefix = b"event: error\n" if self._named_events else b""
        return self._render_json(prefix, {"error": error, "type": "error"})


class NdjsonFilter(StreamFilter):
    """JSON lines (Ollama). An error is a ``{"error": "..."}`` line, as Ollama sends."""

    _FRAMER = LineFramer

    def _split(self, raw: bytes) -> tuple[bytes, str | None]:
        text = raw.decode("utf-8", "replace")
        return b"", (text if text.strip() else None)

    def _render_json(self, prefix: bytes, document: Any) -> bytes:
        return jsoncodec.dumps_compact(document) + b"\n"

    def _render_text(self, prefix: bytes, text: str) -> bytes:
        return text.encode("utf-8") + b"\n"

    def _render_error(self, reason: str, message: str, audit_id: str | None) -> bytes:
        error: dict[str, Any] = {"error": message, "reason": reason}
        if audit_id is not None:
            error["auditId"] = audit_id
        return self._render_json(b"", error)


_FILTERS: dict[str, type[StreamFilter]] = {"sse": SseFilter, "ndjson": NdjsonFilter}


def stream_filter_for(route: Any, **kwargs: Any) -> StreamFilter:
    """The filter for ``route.stream_format``; ``kwargs`` go to :class:`StreamFilter`."""
    try:
        filter_cls = _FILTERS[route.stream_format]
    except KeyError:
        raise ValueError(f"Unknown stream format: {route.stream_format!r}.") from None
    return filter_cls(route=route, **kwargs)
