from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

from haechi.crypto.keyfile import load_key_file, rotate_key_file
from haechi.crypto.local import LocalCryptoProvider
from haechi.vault.tokens import audit_safe_token

RANDOM = re.compile(r"tok_email_[0-9a-f]{16}")
CONTEXT = {"protocol": "cli", "operation": "cli protect", "direction": "request", "mode": "enforce"}
DETERMINISTIC = re.compile(r"tok_email_[0-9a-f]{32}")


def _tokenize(vault, value: str = "alice@example.com", type_: str = "email") -> str:
    return vault.tokenize(
        value, type_, path_text="messages[0].content", rule_id="email", context=CONTEXT
    ).token


def test_random_token_format_and_uniqueness(vault) -> None:
    first, second = _tokenize(vault), _tokenize(vault)
    assert RANDOM.fullmatch(first) and RANDOM.fullmatch(second)
    assert first != second


def test_deterministic_token_format_matches_independent_hmac(make_vault, key_path: Path) -> None:
    vault = make_vault(deterministic=True)
    token = _tokenize(vault)
    assert DETERMINISTIC.fullmatch(token)
    raw_key = load_key_file(key_path).active.key
    derived = hmac.new(raw_key, b"haechi:token-vault:deterministic:v1", hashlib.sha256).digest()
    expected = hmac.new(derived, b"email:alice@example.com", hashlib.sha256).hexdigest()[:32]
    assert token == f"tok_email_{expected}"
    assert _tokenize(vault) == token
    assert _tokenize(vault, "bob@example.com") != token


def test_deterministic_types_limits_determinism(make_vault) -> None:
    vault = make_vault(deterministic=True, deterministic_types=("phone",))
    assert _tokenize(vault) != _tokenize(vault)  # email stays random
    phone = _tokenize(vault, "010-1234-5678", "phone")
    assert phone == _tokenize(vault, "010-1234-5678", "phone")
    assert re.fullmatch(r"tok_phone_[0-9a-f]{32}", phone)


def test_rotation_changes_deterministic_tokens(make_vault, key_path: Path, clock) -> None:
    before = _tokenize(make_vault(deterministic=True))
    rotate_key_file(key_path)
    after = _tokenize(
        make_vault(deterministic=True, crypto=LocalCryptoProvider(key_path, clock=clock))
    )
    assert DETERMINISTIC.fullmatch(after) and after != before


def test_audit_safe_token(crypto) -> None:
    assert audit_safe_token("tok_email_0123456789abcdef", crypto) == "tok_email_0123456789abcdef"
    assert audit_safe_token("tok_kr_rrn_" + "a" * 32, crypto) == "tok_kr_rrn_" + "a" * 32
    assert audit_safe_token(None, crypto) is None
    raw = "alice@example.com"
    safe = audit_safe_token(raw, crypto)
    assert re.fullmatch(r"nontoken_[0-9a-f]{32}", safe) and raw not in safe
    assert safe == audit_safe_token(raw, crypto)
    assert audit_safe_token("tok_email_SHORT", crypto).startswith("nontoken_")

    class NoHmac:
        pass

    assert audit_safe_token(raw, NoHmac()) == "[REDACTED:non-token]"
