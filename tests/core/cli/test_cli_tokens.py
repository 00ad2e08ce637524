"""``haechi token-reveal`` governance, ``token-purge`` and ``token-export``."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_harness import Workspace

EMAIL = "reveal.me@example.com"
PHONE = "010-2222-3333"


def issue_tokens(workspace: Workspace) -> tuple[str, str]:
    """Tokenize an email and a phone; return their tokens."""
    workspace.enforce(email="tokenize", phone="tokenize")
    report = workspace.ok("protect", workspace.write_json("p.json", {"a": EMAIL, "b": PHONE}))
    return report["payload"]["a"][7:-1], report["payload"]["b"][7:-1]


def vault_bytes(workspace: Workspace) -> bytes:
    """Every byte of the vault's files (the database and any WAL or journal)."""
    files = sorted(workspace.state_dir.glob("token-vault*"))
    assert files, "no vault file was written"
    return b"".join(Path(f).read_bytes() for f in files)


def vault_events(workspace: Workspace) -> list[dict]:
    return [e for e in workspace.audit_records() if e.get("protocol") == "token-vault"]


def test_reveal_is_denied_by_default_and_audited(workspace: Workspace):
    token, _ = issue_tokens(workspace)
    result = workspace.run("token-reveal", token)
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr == "haechi: Token reveal is disabled by tokenVault.revealPolicy\n"
    (event,) = vault_events(workspace)
    assert event["decision"] == "reveal_denied"
    assert event["reason"] == "reveal_policy_disabled"
    assert event["blocked"] is True and event["token"] == token
    assert event["operation"] == "token-vault:reveal"


@pytest.mark.parametrize("how", ["flag", "config"])
def test_dev_reveal_prints_the_plaintext_and_audits_it(workspace: Workspace, how):
    token, _ = issue_tokens(workspace)
    if how == "flag":
        revealed = workspace.ok("token-reveal", token, "--allow-dev-reveal")
    else:
        workspace.edit_config(lambda c: c["tokenVault"].update(revealPolicy="local-dev"))
        revealed = workspace.ok("token-reveal", token)
    assert revealed == {"ok": True, "token": token, "type": "email", "plaintext": EMAIL}
    (event,) = vault_events(workspace)
    assert event["decision"] == "reveal_allowed" and event["tokenType"] == "email"
    assert event["revealPolicy"] == "local-dev"


def test_the_vault_never_holds_the_plaintext(workspace: Workspace):
    issue_tokens(workspace)
    data = vault_bytes(workspace)
    for raw in (EMAIL, PHONE, PHONE.replace("-", "")):
        assert raw.encode() not in data
        assert raw.encode("utf-16-le") not in data


def test_reveal_of_an_unknown_token_fails_and_is_audited(workspace: Workspace):
    result = workspace.run("token-reveal", "tok_email_0123456789abcdef", "--allow-dev-reveal")
    assert result.code == 1
    assert result.stderr == "haechi: Unknown token\n"
    (event,) = vault_events(workspace)
    assert (event["decision"], event["reason"]) == ("reveal_failed", "unknown_token")


def test_a_non_token_argument_is_never_logged_as_is(workspace: Workspace):
    result = workspace.run("token-reveal", EMAIL, "--allow-dev-reveal")
    assert result.code == 1
    assert EMAIL not in result.stderr
    (event,) = vault_events(workspace)
    assert event["token"].startswith("nontoken_") and len(event["token"]) == 9 + 32
    assert EMAIL not in workspace.audit_path.read_text()


def test_purge_one_token(workspace: Workspace):
    email_token, phone_token = issue_tokens(workspace)
    report = workspace.ok("token-purge", email_token)
    assert report["command"] == "token-purge"
    assert report["result"]["token"] == email_token and report["result"]["purged"] is True
    assert report["result"]["purgedAt"].endswith("Z")
    again = workspace.ok("token-purge", email_token)
    assert again["result"]["purged"] is False
    assert [t["token"] for t in workspace.ok("token-export")["tokens"]] == [phone_token]
    failed = workspace.run("token-reveal", email_token, "--allow-dev-reveal")
    assert failed.code == 1 and failed.stderr == "haechi: Unknown token\n"
    assert [e["decision"] for e in vault_events(workspace)][:2] == ["purge", "purge"]


def test_purge_expired_counts(workspace: Workspace):
    issue_tokens(workspace)
    report = workspace.ok("token-purge", "--expired")
    assert report["result"]["purged"] == 0  # nothing has expired yet
    assert set(report["result"]) == {"purged", "purgedAt"}
    assert vault_events(workspace)[-1]["decision"] == "purge_expired"
    assert len(workspace.ok("token-export")["tokens"]) == 2


def test_purge_needs_a_token_or_expired(workspace: Workspace):
    result = workspace.run("token-purge")
    assert result.code == 1 and result.stderr.startswith("haechi: ")


def test_export_lists_metadata_but_never_plaintext(workspace: Workspace):
    email_token, phone_token = issue_tokens(workspace)
    result = workspace.run("token-export")
    assert result.code == 0
    tokens = result.json["tokens"]
    assert {t["token"] for t in tokens} == {email_token, phone_token}
    for entry in tokens:
        assert set(entry) == {"token", "type", "createdAt", "expiresAt", "metadata"}
        assert set(entry["metadata"]) == {"path", "ruleId"}
        assert entry["metadata"]["path"].startswith("key_")
    assert EMAIL not in result.stdout and PHONE not in result.stdout
    only_phone = workspace.ok("token-export", "--type", "phone")["tokens"]
    assert [t["token"] for t in only_phone] == [phone_token]
