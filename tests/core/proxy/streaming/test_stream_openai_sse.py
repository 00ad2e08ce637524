"""SSE inspection on OpenAI-compatible chat streams: split values, chunking, outcomes,
``[DONE]`` ordering and the frame format."""

from __future__ import annotations

import json

import pytest
from stream_harness import (
    CARD,
    EMAIL,
    OPENAI_CHAT,
    OPENAI_RESPONSES,
    PHONE,
    openai_chunk,
    openai_stream,
    openai_text,
    run,
    split_every,
    split_into,
    sse,
    sse_events,
    sse_json,
)

SENTENCE = f"Sure. Write to {EMAIL} or call {PHONE} before noon, thanks!"
PROTECTED = "Sure. Write to [REDACTED:email] or call 01*********78 before noon, thanks!"


@pytest.mark.parametrize("frames", [2, 3, 10])
def test_a_value_split_across_frames_is_caught(make_filter, frames):
    # The email alone, split so each frame holds only a part of it.
    pieces = ["Reply to ", *split_into(EMAIL, frames), " today."]
    out = run(make_filter(OPENAI_CHAT), openai_stream(pieces))
    assert openai_text(out) == "Reply to [REDACTED:email] today."
    assert EMAIL.encode() not in out
    for part in split_into(EMAIL, frames):  # no piece of it got through on its own
        if len(part) > 4:
            assert part.encode() not in out


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 64])
def test_chunk_boundaries_inside_frames_do_not_matter(make_filter, chunk_size):
    out = run(make_filter(OPENAI_CHAT), openai_stream(split_every(SENTENCE, 3)), chunk_size)
    assert openai_text(out) == PROTECTED


def test_utf8_characters_split_across_chunks(make_filter):
    text = f"안녕하세요 😀 {EMAIL} 감사합니다 😀"
    stream = openai_stream(split_every(text, 2))
    out = run(make_filter(OPENAI_CHAT), stream, chunk_size=1)  # every multi-byte char split
    assert openai_text(out) == "안녕하세요 😀 [REDACTED:email] 감사합니다 😀"


def test_held_tail_is_flushed_before_the_finish_frame_and_done(make_filter):
    out = run(make_filter(OPENAI_CHAT), openai_stream(["Hi ", "there, ", EMAIL]))
    events = sse_events(out)
    assert events[-1]["data"] == "[DONE]"
    frames = sse_json(out)
    assert frames[-1]["choices"][0]["finish_reason"] == "stop"
    # Short answers are entirely in the held tail: it must all arrive before the finish.
    text_before_finish = "".join(f["choices"][0]["delta"].get("content") or ""
                                 for f in frames[:-1])
    assert text_before_finish == "Hi there, [REDACTED:email]"


def test_tail_is_flushed_before_done_without_a_finish_frame(make_filter):
    stream = openai_chunk("Hello ") + openai_chunk(EMAIL) + b"data: [DONE]\n\n"
    out = run(make_filter(OPENAI_CHAT), stream)
    assert sse_events(out)[-1]["data"] == "[DONE]"
    assert openai_text(out) == "Hello [REDACTED:email]"


def test_stream_without_done_flushes_at_finish(make_filter):
    stream = openai_chunk("call ") + openai_chunk(PHONE)
    f = make_filter(OPENAI_CHAT)
    out = f.feed(stream)
    assert openai_text(out) == ""  # all of it is still within the window
    assert openai_text(out + f.finish()) == "call 01*********78"


def test_text_beyond_the_window_is_released_early(make_filter):
    f = make_filter(OPENAI_CHAT, window=32)
    long_text = "word " * 40
    out = f.feed(openai_stream(split_every(long_text, 10), done=False))
    assert len(openai_text(out)) >= len(long_text) - 32 - 10
    assert openai_text(out + f.finish()) == long_text


def test_commit_is_pulled_back_to_the_start_of_a_crossing_match(make_filter):
    # With a 24-unit window, the commit point falls inside the email: nothing of it may
    # leave before the whole value has been seen.
    f = make_filter(OPENAI_CHAT, window=24)
    first = f.feed(openai_chunk("x" * 30 + " " + EMAIL[:12]))
    assert b"minji" not in first
    rest = f.feed(openai_chunk(EMAIL[12:] + " done")) + f.finish()
    assert openai_text(first + rest) == "x" * 30 + " [REDACTED:email] done"


def test_block_stops_the_stream_with_a_visible_error_event(make_filter):
    f = make_filter(OPENAI_CHAT)
    pieces = ["Your card: ", *split_into(CARD, 3), " is on file."]
    out = run(f, openai_stream(pieces))
    assert f.blocked and f.block_reason == "policy_block"
    assert CARD.encode() not in out and b"4111" not in out
    events = sse_events(out)
    # OpenAI's upstream does not name its events, so neither does the error event
    assert events[-1]["event"] is None
    error = json.loads(events[-1]["data"])["error"]
    assert error["type"] == "haechi_policy_block" and error["reason"] == "policy_block"
    assert "[DONE]" not in [e["data"] for e in events]
    assert f.summary["byAction"] == {"block": 1}
    assert f.feed(openai_chunk("more")) == b"" and f.finish() == b""


def test_block_in_frame_extras(make_filter):
    frame = sse({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": json.dumps({"card": CARD})}}]}}]})
    f = make_filter(OPENAI_CHAT)
    out = f.feed(openai_chunk("ok ") + frame)
    assert f.blocked and out == b""
    assert b"haechi_policy_block" in f.error_frame(audit_id="a-1")
    assert json.loads(sse_events(f.error_frame(audit_id="a-1"))[0]["data"])["error"][
        "auditId"] == "a-1"


def test_the_error_event_is_named_when_the_upstream_names_its_events(make_filter):
    f = make_filter(OPENAI_CHAT)
    f.feed(sse({"choices": []}, "chunk") + openai_chunk(CARD))
    assert f.finish() == b"" and f.blocked
    events = sse_events(f.error_frame())
    assert events[0]["event"] == "error"
    assert json.loads(events[0]["data"])["error"]["message"] == (
        "Response stream blocked by Haechi policy")


def test_frame_extras_are_protected(make_filter):
    args = json.dumps({"to": EMAIL})
    frame = sse({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"name": "send", "arguments": args}}]}}]})
    out = run(make_filter(OPENAI_CHAT), frame + b"data: [DONE]\n\n")
    assert EMAIL.encode() not in out
    call = sse_json(out)[0]["choices"][0]["delta"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"to": "[REDACTED:email]"}


def test_other_choices_are_protected_per_frame(make_filter):
    stream = (openai_chunk("mail ", index=0) + openai_chunk(f"mail {EMAIL}", index=1)
              + openai_chunk(EMAIL, index=0) + b"data: [DONE]\n\n")
    out = run(make_filter(OPENAI_CHAT), stream)
    assert openai_text(out, 0) == "mail [REDACTED:email]"
    # choice 1 is not held back: it is protected in its own frame, right away
    assert openai_text(out, 1) == "mail [REDACTED:email]"
    assert EMAIL.encode() not in out


def test_dry_run_passes_values_and_tallies_them(make_filter):
    f = make_filter(OPENAI_CHAT, mode="dry-run")
    out = run(f, openai_stream(split_every(SENTENCE, 4)))
    assert openai_text(out) == SENTENCE
    assert not f.blocked
    assert f.summary["byType"] == {"email": 1, "phone": 1}


def test_summary_tallies_the_whole_stream(make_filter):
    f = make_filter(OPENAI_CHAT, window=40)
    text = " ".join([f"a {EMAIL} b {PHONE}"] * 5) + " " + "pad " * 30
    out = run(f, openai_stream(split_every(text, 5)))
    assert f.summary == {"detectionCount": 10, "byType": {"email": 5, "phone": 5},
                         "byAction": {"redact": 5, "mask": 5}}
    assert EMAIL.encode() not in out and PHONE.encode() not in out


def test_crlf_multiline_data_and_other_lines(make_filter):
    stream = (b"id: 1\r\nevent: chunk\r\ndata: {\"choices\":[{\"index\":0,\r\n"
              b"data: \"delta\":{\"content\":\"" + EMAIL.encode() + b"\"}}]}\r\n\r\n"
              b": keep-alive\r\n\r\n"
              b"data: [DONE]\r\n\r\n")
    out = run(make_filter(OPENAI_CHAT), stream, chunk_size=5)
    events = sse_events(out)
    assert events[0]["event"] == "chunk" and b"id: 1\n" in out
    assert b": keep-alive\n\n" in out
    assert openai_text(out) == "[REDACTED:email]"
    assert events[-1]["data"] == "[DONE]"


def test_non_json_data_is_protected_per_frame(make_filter):
    out = run(make_filter(OPENAI_CHAT), sse(f"plain {EMAIL}\nsecond line {PHONE}"))
    assert sse_events(out)[0]["data"] == ("plain [REDACTED:email]\n"
                                          "second line 01*********78")


def test_frame_only_route_protects_each_frame(make_filter):
    # /v1/responses has no delta path: frames are protected whole, nothing is held.
    frame = sse({"type": "response.output_text.delta", "delta": f"to {EMAIL}"},
                "response.output_text.delta")
    f = make_filter(OPENAI_RESPONSES)
    out = f.feed(frame)
    assert sse_json(out)[0]["delta"] == "to [REDACTED:email]"
    assert f.held_units == 0


def test_an_unterminated_last_frame_is_still_inspected(make_filter):
    out = run(make_filter(OPENAI_CHAT), openai_chunk(f"mail {EMAIL}").rstrip(b"\n"))
    assert openai_text(out) == "mail [REDACTED:email]"


def test_a_route_with_a_delta_path_needs_detect_text(runtime):
    from haechi.proxy.streaming import SseFilter

    with pytest.raises(ValueError, match="detect_text"):
        SseFilter(route=OPENAI_CHAT, protect_text=print, protect_json=print, window=10)
