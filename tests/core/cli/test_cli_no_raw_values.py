""""No raw value anywhere": known sensitive values go through every command, then the audit
log, the anchor, the vault and key files, and the stdout and stderr of every command are
searched for each value and its obvious variants.

Excluded by design, and only these: the stdout of ``protect`` in dry-run (it shows the
payload unchanged), of ``token-reveal --allow-dev-reveal`` (it prints the plaintext), and
of ``token-purge <arg>`` (it echoes the operator's own argument).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from cli_harness import CliResult, Workspace, kr_rrn

RAW = {
    "email": "minji.kim@example.com",
    "phone": "010-1234-5678",
    "card": "4111 1111 1111 1111",
    "kr_rrn": kr_rrn("900101123456"),
    "iban": "GB82WEST12345698765432",
    "us_ssn": "219-09-9999",
    "api_key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "aws_key": "AKIAIOSFODNN7EXAMPLE",
    "github_token": "ghp_" + "R4wT0kenV4lue9" * 2 + "xYzW0123",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtaW5qaSJ9.c2lnbmF0dXJlLXJhdy12YWx1ZQ",
    "password": "hunter2hunter2hunter2",
    "key_email": "jae.lee@example.org",
}

#: Payload leaves the policy rewrites (email tokenize, phone mask, IBAN encrypt, SSN redact).
ALLOWED = {
    "messages": [{"role": "user", "content": (
        f"mail {RAW['email']} phone {RAW['phone']} refund {RAW['iban']} ssn {RAW['us_ssn']}")}],
    RAW["key_email"]: {"note": f"also {RAW['email']}"},
}
#: Payload leaves that block (card, RRN, API keys, secrets).
BLOCKED = {
    "card": RAW["card"],
    "card_number": int(RAW["card"].replace(" ", "")),
    "rrn": RAW["kr_rrn"],
    "creds": f"{RAW['api_key']} {RAW['aws_key']} {RAW['github_token']} {RAW['jwt']}",
    "config": f"password={RAW['password']}",
}


def variants(value: str) -> set[str]:
    """The value, without its separators, its digits alone, and lower case."""
    found = {value, value.lower(), re.sub(r"[\s.-]", "", value)}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 8:
        found.add(digits)
    return found


def outputs(result: CliResult, *, stdout: bool = True) -> list[tuple[str, str]]:
    label = "haechi " + " ".join(result.args)
    found = [(f"{label} [stderr]", result.stderr)]
    if stdout:
        found.append((f"{label} [stdout]", result.stdout))
    return found


@pytest.fixture(scope="module")
def searched(initialized_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Run the scenario once; return ``[(where, text)]`` of everything that must be clean."""
    root = tmp_path_factory.mktemp("no-raw") / "ws"
    shutil.copytree(initialized_dir, root)
    ws = Workspace(root)
    texts: list[tuple[str, str]] = []

    def run(*args: str, stdin: str | None = None, codes=(0,), stdout: bool = True) -> CliResult:
        result = ws.run(*args, stdin=stdin)
        assert result.code in codes, result.describe()
        texts.extend(outputs(result, stdout=stdout))
        return result

    ws.write_json("allowed.json", ALLOWED)
    ws.write_json("blocked.json", BLOCKED)
    every_value = "\n".join(RAW.values()) + "\n"
    ws.write_text("values.txt", every_value)
    ws.write_text("values.jsonl", "\n".join(json.dumps({"v": v}) for v in RAW.values()))
    ws.write_text("broken.json", f'{{"a": "{RAW["email"]}", "b": {RAW["card"]}}}')

    ws.edit_config(lambda c: c["audit"]["anchor"].update(mode="file"))
    run("protect", "allowed.json", stdout=False)  # dry-run shows the payload by design
    run("protect", "blocked.json", stdout=False)
    ws.enforce(email="tokenize", iban="encrypt", us_ssn="redact")
    protected = run("protect", "allowed.json").json
    assert protected["payload"] is not None
    run("protect", "blocked.json", codes=(3,))
    run("protect", "broken.json", codes=(1,))
    run("scan", "values.txt", "values.jsonl", codes=(3,))
    run("scan", "--jsonl", "values.jsonl", "--direction", "response", codes=(3,))
    run("scan", "-", "--direction", "response", stdin=every_value, codes=(3,))
    token = protected["payload"]["messages"][0]["content"].split("[TOKEN:")[1].split("]")[0]
    run("token-reveal", token, codes=(1,))
    run("token-reveal", token, "--allow-dev-reveal", stdout=False)
    run("token-reveal", RAW["email"], "--allow-dev-reveal", codes=(1,))
    run("token-purge", RAW["card"], stdout=False)
    run("token-export")
    run("token-purge", token, stdout=False)
    run("token-purge", "--expired")
    for command in ("report", "status", "audit-verify", "config", "plugins"):
        run(command)

    for path in sorted(ws.state_dir.iterdir()):
        texts.append((str(path.relative_to(root)), path.read_bytes().decode("utf-8", "replace")))
    assert any(name.startswith(".haechi/token-vault") for name, _ in texts)
    assert any(name == ".haechi/audit.anchor.jsonl" for name, _ in texts)
    return texts


@pytest.mark.parametrize("name", sorted(RAW))
def test_raw_value_appears_nowhere(searched, name):
    leaks = [(where, variant) for variant in sorted(variants(RAW[name]))
             for where, text in searched if variant in text]
    assert leaks == []


def test_the_scenario_did_audit_every_protect(searched):
    audit = dict(searched)[".haechi/audit.jsonl"]
    events = [json.loads(line) for line in audit.splitlines()]
    protects = [e for e in events if e.get("operation") == "cli protect"]
    assert [e["blocked"] for e in protects] == [False, False, False, True]
    assert {"email", "phone", "iban", "us_ssn", "card", "kr_rrn", "api_key", "secret"} <= {
        d["type"] for e in protects for d in e["detections"]}
