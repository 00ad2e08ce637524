"""Search every byte the vault writes, and every audit event, for the raw values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from haechi.errors import TokenVaultError

CONTEXT = {"protocol": "cli", "operation": "cli protect", "direction": "request", "mode": "enforce"}
VALUES = {
    "email": "alice.plaintext@example.com",
    "phone": "010-9876-5432",
    "card": "4111111111111111",
    "kr_rrn": "900101-1234568",
    "api_key": "sk-live-PLAINTEXTSECRET0123456789",
}


def test_no_plaintext_in_vault_files_or_events(
    make_vault, vault_path: Path, events: list[dict], clock
) -> None:
    vault = make_vault(
        deterministic=True, deterministic_types=("email",), reveal_policy="local-dev"
    )
    scope = vault.scope()
    tokens = {
        type_: scope.tokenize(value, type_, path_text="p", rule_id=type_, context=CONTEXT).token
        for type_, value in VALUES.items()
    }
    scope.tokenize(
        VALUES["email"], "email", path_text="p", rule_id="email", context=CONTEXT
    )  # reuse
    for type_, token in tokens.items():
        assert vault.reveal(token) == (type_, VALUES[type_])
    scope.detokenize_text(" ".join(f"[TOKEN:{t}]" for t in tokens.values()))
    scope.audit_detokenize()
    for value in VALUES.values():  # raw values where a token belongs
        with pytest.raises(TokenVaultError):
            vault.reveal(value)
    vault.purge(VALUES["card"])
    vault.purge(tokens["phone"])
    clock.advance(days=31)
    vault.purge_expired()
    with pytest.raises(TokenVaultError):
        make_vault().reveal(tokens["email"])  # disabled policy: denied, audited

    written = b"".join(p.read_bytes() for p in vault_path.parent.iterdir())
    audit_text = json.dumps(events, ensure_ascii=False)
    exported = json.dumps(vault.export())
    assert len(events) >= 13
    for value in VALUES.values():
        for encoding in ("utf-8", "utf-16-le"):
            assert value.encode(encoding) not in written, value
        assert value not in audit_text
        assert value not in exported
