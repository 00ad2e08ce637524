"""``haechi status``: the report's fields and the warnings of spec §1."""

from __future__ import annotations

from cli_harness import Workspace

STATUS_KEYS = {"ok", "command", "configPath", "protection", "target", "proxy", "tokenVault",
               "privacyProfile", "keys", "audit", "warnings"}


def test_status_of_a_fresh_init(workspace: Workspace):
    report = workspace.ok("status")
    assert set(report) == STATUS_KEYS
    assert report["command"] == "status" and report["configPath"] == "haechi.config.json"
    assert report["protection"] == {
        "policyMode": "dry-run", "enforced": False,
        "responseProtection": {"enabled": False, "mode": "enforce",
                               "failureMode": "fail-closed"},
        "streamingRequestMode": "block", "streamingResponseMode": "enforce",
    }
    assert report["target"] == {"type": "llm-http", "adapter": "openai-compatible",
                                "upstream": "http://127.0.0.1:9999"}
    assert report["tokenVault"]["revealPolicy"] == "disabled"
    keys = report["keys"]
    assert keys["provider"] == "local" and keys["exists"] is True
    assert keys["permissions"] == "0600"
    budget = keys["nonceBudget"]
    assert budget["used"] == 0 and budget["limit"] == 2**32
    assert budget["remaining"] == 2**32 and budget["usedPercent"] == 0.0
    assert budget["exhausted"] is False and budget["kid"].startswith("local-")
    assert report["audit"] == {"path": ".haechi/audit.jsonl", "exists": False, "chain": None,
                               "anchor": {"mode": "none", "path": None}}
    warnings = report["warnings"]
    assert len(warnings) == 3
    assert warnings[0].startswith("policy mode is dry-run")
    assert warnings[1].startswith("responseProtection.enabled is false")
    assert warnings[2].startswith("audit.anchor.mode is none: tail truncation")


def test_status_reports_the_audit_chain_and_nonce_usage(workspace: Workspace):
    workspace.enforce(email="encrypt")
    workspace.write_json("p.json", {"a": "x@example.com"})
    workspace.ok("protect", "p.json")
    report = workspace.ok("status")
    chain = report["audit"]["chain"]
    assert chain["valid"] is True and chain["records"] == 1
    assert report["audit"]["exists"] is True
    assert report["keys"]["nonceBudget"]["used"] >= 1  # a window is reserved before use
    assert not any(w.startswith("policy mode") for w in report["warnings"])


def test_status_warns_about_risky_settings(workspace: Workspace):
    def risky(config: dict) -> None:
        config["tokenVault"].update(revealPolicy="local-dev", detokenizeResponses=True)
        config["streaming"]["requestMode"] = "pass-through"
        config["audit"]["anchor"]["mode"] = "file"

    workspace.edit_config(risky)
    (workspace.state_dir / "dev.keys.json").chmod(0o644)
    report = workspace.ok("status")
    assert report["keys"]["permissions"] == "0644"
    assert report["audit"]["anchor"] == {"mode": "file", "path": ".haechi/audit.anchor.jsonl"}
    text = "\n".join(report["warnings"])
    for expected in ("revealPolicy is local-dev", "detokenizeResponses",
                     "pass-through", "0644", "audit.anchor.mode is file"):
        assert expected in text, expected


def test_status_warns_about_a_missing_key_file(workspace: Workspace):
    (workspace.state_dir / "dev.keys.json").unlink()
    report = workspace.ok("status")
    assert report["keys"]["exists"] is False and report["keys"]["nonceBudget"] is None
    assert any("missing" in w and "haechi init" in w for w in report["warnings"])


def test_status_refuses_an_invalid_config(workspace: Workspace):
    workspace.edit_config(lambda c: c["proxy"].update(port="8080", bogus=1))
    result = workspace.run("status")
    assert result.code == 1
    problems = result.stderr.splitlines()
    assert len(problems) == 2, result.stderr
    assert all(p.startswith("haechi: ") for p in problems)
    assert any("$.proxy.port" in p for p in problems)
    assert any("$.proxy.bogus" in p for p in problems)
