"""``haechi init``: the default config, the key file, and rotation with ``--force``."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

from cli_harness import Workspace, run_haechi
from haechi.canonical import b64url_decode
from haechi.crypto.local import LocalCryptoProvider

INIT_KEYS = {"ok", "command", "configPath", "created", "keyFile", "auditPath", "mode",
             "warnings"}


def _keys(root: Path) -> list[dict]:
    return json.loads((root / ".haechi" / "dev.keys.json").read_text())["keys"]


def test_init_in_an_empty_directory_creates_the_config_and_a_0600_key_file(tmp_path):
    result = run_haechi(tmp_path, "init")
    assert result.code == 0, result.describe()
    report = result.json
    assert set(report) == INIT_KEYS
    assert report["ok"] is True and report["command"] == "init"
    assert report["created"] is True
    assert report["configPath"] == "haechi.config.json"
    assert report["keyFile"] == ".haechi/dev.keys.json"
    assert report["auditPath"] == ".haechi/audit.jsonl"
    assert report["mode"] == "dry-run"
    assert len(report["warnings"]) == 2
    assert "haechi-crypto-kms" in report["warnings"][1]

    key_file = tmp_path / ".haechi" / "dev.keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = _keys(tmp_path)
    assert [k["status"] for k in keys] == ["active"]
    assert len(b64url_decode(keys[0]["k"])) == 32
    assert keys[0]["alg"] == "AES-256-GCM"
    assert json.loads((tmp_path / "haechi.config.json").read_text())["mode"] == "dry-run"


def test_init_again_keeps_the_config_and_the_key(workspace: Workspace):
    workspace.edit_config(lambda c: c["policy"].update(mode="enforce"))
    before = _keys(workspace.root)
    report = workspace.ok("init")
    assert report["created"] is False
    assert _keys(workspace.root) == before
    assert workspace.config()["policy"]["mode"] == "enforce"


def test_init_force_rotates_the_key_and_old_ciphertexts_still_decrypt(workspace: Workspace):
    workspace.enforce(email="tokenize", iban="encrypt")
    workspace.edit_config(lambda c: c["tokenVault"].update(revealPolicy="local-dev"))
    email, iban = "rotate.me@example.com", "GB82WEST12345698765432"
    protected = workspace.ok("protect", workspace.write_json("p.json", {"a": email, "b": iban}))
    payload = protected["payload"]
    token = payload["a"][len("[TOKEN:"):-1]
    envelope = json.loads(b64url_decode(payload["b"][len("[HAECHI_ENC:"):-1]))
    old_kid = _keys(workspace.root)[0]["kid"]
    assert envelope["kid"] == old_kid

    report = workspace.ok("init", "--force")
    assert report["created"] is True
    assert report["mode"] == "dry-run"  # --force rewrites the default config
    keys = _keys(workspace.root)
    assert [k["status"] for k in keys] == ["active", "retired"]
    assert keys[1]["kid"] == old_kid and keys[0]["kid"] != old_kid
    key_file = workspace.state_dir / "dev.keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # The vault envelope made under the retired key still opens (reveal forced on the CLI,
    # since --force reset the config to revealPolicy "disabled").
    revealed = workspace.ok("token-reveal", token, "--allow-dev-reveal")
    assert revealed["plaintext"] == email
    # So does the HAECHI_ENC envelope, with the AAD the encrypt action bound into it.
    aad = {
        "context": {"protocol": "llm-http", "operation": "cli protect",
                    "direction": "request", "mode": "enforce"},
        "path": "key_" + hashlib.sha256(b"b").hexdigest()[:12],
        "type": "iban",
        "ruleId": "iban",
    }
    plaintext = LocalCryptoProvider(key_file).decrypt(envelope, aad)
    assert plaintext.decode() == iban
    # New envelopes use the new key.
    workspace.enforce(iban="encrypt")
    fresh = workspace.ok("protect", "p.json")["payload"]["b"]
    assert json.loads(b64url_decode(fresh[len("[HAECHI_ENC:"):-1]))["kid"] == keys[0]["kid"]

