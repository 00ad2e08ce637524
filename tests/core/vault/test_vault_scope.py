from __future__ import annotations

import json

import attrs
import pytest

CONTEXT = {
    "protocol": "openai-compatible",
    "operation": "request:POST chat",
    "direction": "request",
    "mode": "enforce",
}


def _issue(scope, value: str, type_: str = "email") -> str:
    return scope.tokenize(value, type_, path_text="p", rule_id=type_, context=CONTEXT).token


def test_only_this_requests_tokens_are_restored(vault, events: list[dict]) -> None:
    other_request = vault.scope()
    foreign = _issue(other_request, "mallory@example.com")
    scope = vault.scope()
    mine = _issue(scope, "alice@example.com")
    text = f"Reply to [TOKEN:{mine}] and [TOKEN:{foreign}] and [TOKEN:{mine}]."
    restored_text, restored, not_restored = scope.detokenize_text(text)
    assert (
        restored_text == f"Reply to alice@example.com and [TOKEN:{foreign}] and alice@example.com."
    )
    assert (restored, not_restored) == (1, 0)
    assert scope.tokens == frozenset({mine})
    scope.audit_detokenize()
    [event] = events
    assert (event["operation"], event["decision"], event["count"], event["reason"]) == (
        "token-vault:detokenize",
        "detokenize",
        1,
        None,
    )
    assert "alice@example.com" not in json.dumps(event)


def test_reveal_policy_does_not_apply_to_detokenize(vault) -> None:
    assert vault.reveal_policy == "disabled"
    scope = vault.scope()
    token = _issue(scope, "010-1234-5678", "phone")
    assert scope.detokenize_text(f"[TOKEN:{token}]")[0] == "010-1234-5678"


def test_unrestorable_tokens_are_left_and_counted(vault, clock, events: list[dict]) -> None:
    scope = vault.scope()
    gone, expired, fine = (_issue(scope, f"user{i}@example.com") for i in range(3))
    vault.purge(gone)
    record = vault.store.get(expired)
    vault.store.delete(expired)
    stale = attrs.evolve(record, expires_at="2000-01-01T00:00:00.000Z")
    vault.store.issue(stale, now="1999-01-01T00:00:00.000Z")
    text, restored, not_restored = scope.detokenize_text(
        f"[TOKEN:{gone}] [TOKEN:{expired}] [TOKEN:{fine}]"
    )
    assert text == f"[TOKEN:{gone}] [TOKEN:{expired}] user2@example.com"
    assert (restored, not_restored) == (1, 2)
    scope.audit_detokenize()
    assert (events[-1]["count"], events[-1]["reason"]) == (1, "2 tokens not restored")


def test_marker_edge_cases(vault) -> None:
    scope = vault.scope()
    token = _issue(scope, "alice@example.com")
    cases = {
        f"[TOKEN:{token}][TOKEN:{token}]": "alice@example.comalice@example.com",
        f"[TOKEN:{token}": f"[TOKEN:{token}",  # unterminated
        f"[TOKEN:{token}x]": f"[TOKEN:{token}x]",  # a different (unknown) token
        f"[token:{token}]": f"[token:{token}]",  # case matters
        f"[[TOKEN:{token}]]": "[alice@example.com]",
        "no markers": "no markers",
    }
    for given, expected in cases.items():
        assert scope.detokenize_text(given)[0] == expected, given


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 7, 13, 1000])
def test_streaming_detokenize_across_split_markers(vault, chunk_size: int) -> None:
    other = vault.scope()
    foreign = _issue(other, "mallory@example.com")
    scope = vault.scope()
    mine = _issue(scope, "alice@example.com")
    text = (
        f"Hi [TOKEN:{mine}], not [TOKEN:{foreign}]; [brackets] stay, [TOK too, end [TOKEN:{mine}]"
    )
    stream = scope.stream()
    pieces = [stream.feed(text[i : i + chunk_size]) for i in range(0, len(text), chunk_size)]
    output = "".join(pieces) + stream.flush()
    assert output == text.replace(f"[TOKEN:{mine}]", "alice@example.com")


def test_streaming_flushes_an_unfinished_marker(vault) -> None:
    scope = vault.scope()
    stream = scope.stream()
    assert stream.feed("tail [TOKEN:tok_ema") == "tail "
    assert stream.flush() == "[TOKEN:tok_ema"
