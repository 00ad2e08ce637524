from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from haechi.canonical import b64url_decode, b64url_encode
from haechi.errors import TokenVaultError

CONTEXT = {"protocol": "cli", "operation": "cli protect", "direction": "request", "mode": "enforce"}
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
SECRET = "alice@example.com"


def _token(vault) -> str:
    return vault.tokenize(SECRET, "email", path_text="p", rule_id="email", context=CONTEXT).token


def test_disabled_policy_denies_and_audits(vault, events: list[dict]) -> None:
    token = _token(vault)
    with pytest.raises(
        TokenVaultError, match=r"^Token reveal is disabled by tokenVault.revealPolicy$"
    ):
        vault.reveal(token)
    [event] = events
    assert event == {
        "id": event["id"],
        "timestamp": event["timestamp"],
        "protocol": "token-vault",
        "operation": "token-vault:reveal",
        "identity": None,
        "mode": "n/a",
        "enforced": True,
        "blocked": True,
        "decision": "reveal_denied",
        "reason": "reveal_policy_disabled",
        "token": token,
        "tokenType": None,
        "count": None,
        "revealPolicy": "disabled",
        "summary": {"detectionCount": 0, "byType": {}, "byAction": {"reveal_denied": 1}},
    }
    assert UUID4.fullmatch(event["id"]) and ISO_MS.fullmatch(event["timestamp"])


def test_allow_dev_reveal_forces_local_dev(vault, events: list[dict]) -> None:
    token = _token(vault)
    assert vault.reveal(token, allow_dev_reveal=True) == ("email", SECRET)
    [event] = events
    assert (event["decision"], event["blocked"], event["tokenType"], event["revealPolicy"]) == (
        "reveal_allowed",
        False,
        "email",
        "local-dev",
    )
    assert SECRET not in json.dumps(event)


def test_unknown_token(make_vault, events: list[dict]) -> None:
    vault = make_vault(reveal_policy="local-dev")
    with pytest.raises(TokenVaultError, match=r"^Unknown token$"):
        vault.reveal("tok_email_0123456789abcdef")
    assert (events[-1]["decision"], events[-1]["reason"]) == ("reveal_failed", "unknown_token")


def test_raw_value_passed_as_token_is_never_logged(make_vault, events: list[dict]) -> None:
    vault = make_vault(reveal_policy="local-dev")
    with pytest.raises(TokenVaultError) as caught:
        vault.reveal(SECRET)
    assert SECRET not in str(caught.value)
    assert events[-1]["token"].startswith("nontoken_")
    assert SECRET not in json.dumps(events)


def test_expired_token(make_vault, clock, events: list[dict]) -> None:
    vault = make_vault(reveal_policy="local-dev", retention_days=1)
    token = _token(vault)
    clock.advance(days=1, seconds=1)
    with pytest.raises(TokenVaultError, match=r"^Token expired$"):
        vault.reveal(token)
    assert events[-1]["reason"] == "token_expired"


def test_tampered_envelope_gives_decrypt_failed(
    make_vault, vault_path: Path, events: list[dict]
) -> None:
    vault = make_vault(reveal_policy="local-dev")
    token = _token(vault)
    with sqlite3.connect(vault_path) as db:
        envelope = json.loads(
            db.execute("SELECT envelope FROM tokens WHERE token = ?", (token,)).fetchone()[0]
        )
        ct = bytearray(b64url_decode(envelope["ct"]))
        ct[0] ^= 1
        envelope["ct"] = b64url_encode(bytes(ct))
        db.execute("UPDATE tokens SET envelope = ? WHERE token = ?", (json.dumps(envelope), token))
    with pytest.raises(TokenVaultError, match=r"^Token decrypt failed$"):
        vault.reveal(token)
    assert (events[-1]["decision"], events[-1]["reason"]) == ("reveal_failed", "decrypt_failed")


def test_swapped_records_do_not_open(make_vault, vault_path: Path) -> None:
    """An envelope moved under another token fails: the token is in the AAD."""
    vault = make_vault(reveal_policy="local-dev")
    first, second = _token(vault), _token(vault)
    with sqlite3.connect(vault_path) as db:
        envelope = db.execute("SELECT envelope FROM tokens WHERE token = ?", (first,)).fetchone()[0]
        db.execute("UPDATE tokens SET envelope = ? WHERE token = ?", (envelope, second))
    with pytest.raises(TokenVaultError, match=r"Token decrypt failed"):
        vault.reveal(second)


def test_failing_audit_sink_stops_the_reveal(make_vault) -> None:
    vault = make_vault(reveal_policy="local-dev")
    token = _token(vault)

    def broken_sink(event: dict) -> None:
        raise OSError("disk full")

    vault._audit = broken_sink
    with pytest.raises(OSError):
        vault.reveal(token)
