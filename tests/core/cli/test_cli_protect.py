"""``haechi protect``: dry-run and enforce, the output format of every action (spec §4),
blocking with exit 3, key renames, number leaves, and input errors."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from cli_harness import Workspace, run_haechi_tty
from haechi.canonical import b64url_decode

EMAIL = "minji.kim@example.com"
PHONE = "010-1234-5678"
CARD = "4111111111111111"
CHAT = {"messages": [{"role": "user", "content": f"mail {EMAIL} phone {PHONE}"}]}

NON_ENFORCE_WARNING = (
    "policy mode is dry-run: detections were audited but the payload was NOT modified or "
    'blocked. Set policy.mode to "enforce" to protect payloads.'
)
PROTECT_KEYS = {"ok", "mode", "enforced", "blocked", "auditId", "summary", "payload", "warnings"}


def segment(key: str) -> str:
    """The PII-safe path segment of an object key, computed independently of haechi."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:12]


def test_dry_run_is_the_default_warns_and_leaves_the_payload_unchanged(workspace: Workspace):
    report = workspace.ok("protect", workspace.write_json("chat.json", CHAT))
    assert set(report) == PROTECT_KEYS
    assert report["ok"] is True
    assert report["mode"] == "dry-run"
    assert report["enforced"] is False and report["blocked"] is False
    assert report["payload"] == CHAT
    assert report["warnings"] == [NON_ENFORCE_WARNING]
    assert report["summary"] == {"detectionCount": 2, "byType": {"email": 1, "phone": 1},
                                 "byAction": {"redact": 1, "mask": 1}}

    (event,) = workspace.audit_records()
    assert event["id"] == report["auditId"]
    assert event["enforced"] is False and event["blocked"] is False
    assert event["operation"] == "cli protect"
    assert event["protocol"] == "llm-http"
    # The intended actions are audited even though nothing was changed.
    assert {(d["type"], d["action"], d["enforced"]) for d in event["detections"]} == {
        ("email", "redact", False), ("phone", "mask", False)}


def test_dry_run_never_blocks_a_card(workspace: Workspace):
    report = workspace.ok("protect", workspace.write_json("card.json", {"c": CARD}))
    assert report["blocked"] is False and report["payload"] == {"c": CARD}
    assert workspace.audit_records()[-1]["detections"][0]["action"] == "block"


def test_enforce_redacts_and_masks_with_the_exact_formats(workspace: Workspace):
    workspace.enforce()
    report = workspace.ok("protect", workspace.write_json("chat.json", CHAT))
    assert report["warnings"] == []
    assert report["enforced"] is True and report["ok"] is True
    assert report["payload"]["messages"][0]["content"] == (
        "mail [REDACTED:email] phone 01*********78")
    (event,) = workspace.audit_records()
    content_path = f"{segment('messages')}[0].{segment('content')}"
    assert [(d["type"], d["ruleId"], d["path"], d["kind"]) for d in event["detections"]] == [
        ("email", "email", content_path, "value"), ("phone", "kr-phone", content_path, "value")]


def test_mask_of_a_short_span_is_all_stars(workspace: Workspace):
    workspace.enforce(pin="mask")
    workspace.edit_config(lambda c: c["filters"].update(
        customRules=[{"id": "pin-code", "type": "pin", "pattern": r"PIN\d{4}"}]))
    report = workspace.ok("protect", workspace.write_json("p.json", {"p": "use PIN1234 now"}))
    assert report["payload"] == {"p": "use ******* now"}


def test_tokenize_gives_a_vault_token(workspace: Workspace):
    workspace.enforce(email="tokenize")
    report = workspace.ok("protect", workspace.write_json("p.json", {"a": f"to {EMAIL}."}))
    assert re.fullmatch(r"to \[TOKEN:tok_email_[0-9a-f]{16}\]\.", report["payload"]["a"])


def test_deterministic_tokenize_repeats_the_token(workspace: Workspace):
    workspace.enforce(email="tokenize")
    workspace.edit_config(lambda c: c["tokenVault"].update(deterministic=True))
    name = workspace.write_json("p.json", {"a": EMAIL, "b": EMAIL})
    first = workspace.ok("protect", name)["payload"]
    second = workspace.ok("protect", name)["payload"]
    assert re.fullmatch(r"\[TOKEN:tok_email_[0-9a-f]{32}\]", first["a"])
    assert first["a"] == first["b"] == second["a"]


def test_encrypt_gives_a_v2_envelope(workspace: Workspace):
    workspace.enforce(email="encrypt")
    report = workspace.ok("protect", workspace.write_json("p.json", {"a": f"<{EMAIL}>"}))
    match = re.fullmatch(r"<\[HAECHI_ENC:([A-Za-z0-9_-]+)\]>", report["payload"]["a"])
    assert match, report["payload"]
    envelope = json.loads(b64url_decode(match.group(1)))
    assert set(envelope) == {"v", "alg", "kid", "iv", "ct", "tag", "aadHash", "aadEncoding",
                             "createdAt"}
    assert envelope["v"] == 2 and envelope["alg"] == "AES-256-GCM"
    assert envelope["aadEncoding"] == "nfkc-json-v2"
    assert len(b64url_decode(envelope["iv"])) == 12
    assert len(b64url_decode(envelope["tag"])) == 16
    assert EMAIL not in report["payload"]["a"]


@pytest.mark.parametrize("card", [CARD, int(CARD)], ids=["string", "json-number"])
def test_enforce_blocks_a_card_with_exit_3_and_null_payload(workspace: Workspace, card):
    workspace.enforce()
    report = workspace.ok("protect", workspace.write_json("card.json", {"amount": 3, "c": card}),
                          code=3)
    assert report["ok"] is False and report["blocked"] is True
    assert report["payload"] is None
    assert report["summary"]["byType"] == {"card": 1}
    (event,) = workspace.audit_records()
    assert event["blocked"] is True
    assert event["detections"][0]["kind"] == ("value" if isinstance(card, str) else "number")


def test_a_transformed_number_leaf_becomes_a_string(workspace: Workspace):
    workspace.enforce(card="mask")
    report = workspace.ok("protect", workspace.write_json("n.json", {"n": int(CARD), "k": 7}))
    assert report["payload"] == {"n": "41************11", "k": 7}


def test_renamed_keys_get_numbered_suffixes_on_collision(workspace: Workspace):
    workspace.enforce()
    document = {"a@example.com": 1, "b@example.com": {"c@example.com": 2},
                "[REDACTED:email]": 0}
    report = workspace.ok("protect", workspace.write_json("k.json", document))
    assert report["payload"] == {
        "[REDACTED:email]#2": 1,
        "[REDACTED:email]#3": {"[REDACTED:email]": 2},
        "[REDACTED:email]": 0,
    }
    kinds = [d["kind"] for d in workspace.audit_records()[0]["detections"]]
    assert kinds == ["key", "key", "key"]


def test_a_bare_string_document_is_protected(workspace: Workspace):
    workspace.enforce()
    report = workspace.ok("protect", workspace.write_json("s.json", f"hi {EMAIL}"))
    assert report["payload"] == "hi [REDACTED:email]"


def test_missing_input_file_is_exit_1_naming_the_file(workspace: Workspace):
    result = workspace.run("protect", "nowhere.json")
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("haechi: ") and "nowhere.json" in result.stderr


def test_invalid_json_input_is_exit_1_naming_the_file_without_its_content(workspace: Workspace):
    workspace.write_text("bad.json", f'{{"a": "{EMAIL}", oops}}')
    result = workspace.run("protect", "bad.json")
    assert result.code == 1
    assert result.stderr.startswith("haechi: ") and "bad.json" in result.stderr
    assert EMAIL not in result.stderr
    assert workspace.audit_records() == []


def test_nesting_beyond_the_limit_is_refused(workspace: Workspace):
    workspace.edit_config(lambda c: c["limits"].update(maxNestingDepth=5))
    deep: object = "x"
    for _ in range(6):
        deep = [deep]
    result = workspace.run("protect", workspace.write_json("deep.json", deep))
    assert result.code == 1
    assert "maxNestingDepth" in result.stderr


def test_human_output_shows_detections_but_no_value(workspace: Workspace):
    workspace.enforce()
    name = workspace.write_json("chat.json", CHAT)
    result = run_haechi_tty(workspace.root, "protect", name)
    assert result.code == 0, result.describe()
    assert "[REDACTED:email]" in result.stdout and "kr-phone" in result.stdout
    assert EMAIL not in result.stdout and PHONE not in result.stdout


def test_human_output_survives_a_lone_surrogate(workspace: Workspace):
    """JSON allows an unpaired ``\\ud800`` escape; printing it must not crash."""
    workspace.enforce()
    workspace.write_text("s.json", '{"s": "\\ud800 minji.kim@example.com"}')
    result = run_haechi_tty(workspace.root, "protect", "s.json")
    assert "Traceback" not in result.stderr
    assert result.code == 0, result.describe()
