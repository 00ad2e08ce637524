"""``haechi policy-sign`` / ``policy-verify``, and ``policy.bundlePath`` replacing the
inline policy.

Bundles for the verify tests are signed here with the algorithm of spec §4, independently
of haechi's signer, so they also show that a reference-signed bundle verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from cli_harness import Workspace
from haechi.canonical import b64url_decode, b64url_encode, canonicalize

POLICY = {"presets": [], "defaultAction": "redact",
          "actions": {"card": "block", "email": "mask"}}
SIGNED_AT = "2024-05-01T12:00:00.000Z"


def reference_bundle(workspace: Workspace, policy: dict, *, signed_at: str = SIGNED_AT,
                     kid: str | None = None) -> dict:
    keys = json.loads((workspace.state_dir / "dev.keys.json").read_text())["keys"]
    key = next(k for k in keys if k["kid"] == kid) if kid else keys[0]
    signing_key = hmac.new(b64url_decode(key["k"]), b"haechi:policy-bundle:signing:v1",
                           hashlib.sha256).digest()
    unsigned = {"version": 1, "alg": "HS256", "kid": key["kid"], "signedAt": signed_at,
                "policy": policy}
    mac = hmac.new(signing_key, canonicalize(unsigned).encode(), hashlib.sha256).digest()
    return {**unsigned, "signature": b64url_encode(mac)}


def write_bundle(workspace: Workspace, name: str = "policy.bundle.json", **changes) -> str:
    bundle = reference_bundle(workspace, POLICY)
    bundle.update(changes)
    return workspace.write_json(name, bundle)


def test_policy_sign_writes_a_bundle_that_verifies(workspace: Workspace):
    workspace.write_json("policy.json", POLICY)
    signed = workspace.ok("policy-sign", "policy.json", "--out", "out.bundle.json")
    assert signed["ok"] is True and signed["command"] == "policy-sign"
    assert signed["outPath"] == "out.bundle.json"
    bundle = json.loads((workspace.root / "out.bundle.json").read_text())
    assert bundle == reference_bundle(workspace, POLICY, signed_at=signed["signedAt"],
                                      kid=signed["kid"])
    verified = workspace.ok("policy-verify", "out.bundle.json")
    assert verified["result"]["valid"] is True


def test_policy_verify_accepts_a_reference_signed_bundle(workspace: Workspace):
    name = write_bundle(workspace)
    kid = json.loads((workspace.root / name).read_text())["kid"]
    verified = workspace.ok("policy-verify", name)
    assert verified == {"ok": True, "command": "policy-verify", "bundlePath": name,
                        "result": {"valid": True, "kid": kid, "signedAt": SIGNED_AT,
                                   "policy": POLICY}}


def test_a_tampered_bundle_fails_verification_with_exit_1(workspace: Workspace):
    name = write_bundle(workspace, policy={**POLICY, "actions": {"card": "allow"}})
    result = workspace.run("policy-verify", name)
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr == "haechi: Policy bundle signature verification failed\n"


def test_a_malformed_bundle_is_invalid(workspace: Workspace):
    workspace.write_json("odd.json", {"version": 1, "alg": "none"})
    result = workspace.run("policy-verify", "odd.json")
    assert result.code == 1
    assert result.stderr.startswith("haechi: Invalid policy bundle")


def test_a_bundle_of_a_retired_key_verifies_and_of_an_unknown_key_does_not(
        workspace: Workspace):
    name = write_bundle(workspace)
    workspace.ok("init", "--force")  # the signing key is now retired
    assert workspace.ok("policy-verify", name)["result"]["valid"] is True
    (workspace.state_dir / "dev.keys.json").unlink()
    workspace.ok("init")  # a fresh, unrelated key file
    result = workspace.run("policy-verify", name)
    assert result.code == 1 and result.stderr.startswith("haechi: ")


def test_bundle_path_replaces_the_inline_policy(workspace: Workspace):
    write_bundle(workspace)
    workspace.edit_config(lambda c: c["policy"].update(mode="enforce",
                                                      bundlePath="policy.bundle.json"))
    workspace.write_json("p.json", {"a": "minji.kim@example.com"})
    report = workspace.ok("protect", "p.json")
    assert report["mode"] == "enforce"  # the mode is kept from the config
    assert report["payload"] == {"a": "mi*****************om"}  # the bundle's email:mask


def test_a_tampered_bundle_path_stops_protect_before_any_audit(workspace: Workspace):
    write_bundle(workspace, policy={**POLICY, "actions": {"card": "allow"}})
    workspace.edit_config(lambda c: c["policy"].update(mode="enforce",
                                                      bundlePath="policy.bundle.json"))
    workspace.write_json("p.json", {"c": "4111111111111111"})
    result = workspace.run("protect", "p.json")
    assert result.code == 1
    assert "Policy bundle signature verification failed" in result.stderr
    assert workspace.audit_records() == []
