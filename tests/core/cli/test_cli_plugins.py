"""``haechi plugins --json`` and the example detector plugin of ``docs/examples/``
(installed into the venv through its entry point by ``requirements-dev.txt``)."""

from __future__ import annotations

import importlib.metadata

from cli_harness import Workspace, luhn_check_digit

BUILTIN_MODULES = ("haechi.detect.builtin", "haechi.actions.builtin", "haechi.crypto.local",
                   "haechi.vault.sqlite_store", "haechi.audit.chain", "haechi.cli.builtin")
EXAMPLE_DIST = "haechi-example-detector"


def employee_id(six_digits: str) -> str:
    return f"EMP-{six_digits}{luhn_check_digit(six_digits)}"


def test_plugins_json_lists_builtins_and_the_example_plugin(workspace: Workspace):
    report = workspace.ok("plugins", "--json")
    assert report["ok"] is True and report["command"] == "plugins"
    by_name = {p["name"]: p for p in report["plugins"]}
    core_version = importlib.metadata.version("haechi")
    for module in BUILTIN_MODULES:
        plugin = by_name[module]
        assert (plugin["distribution"], plugin["version"], plugin["builtin"]) == (
            "haechi", core_version, True)
    assert by_name["haechi.cli.builtin"]["hooks"] == ["haechi_register_cli_commands"]
    example = by_name["example-employee-id"]
    assert example["distribution"] == EXAMPLE_DIST
    assert example["version"] == importlib.metadata.version(EXAMPLE_DIST)
    assert example["builtin"] is False
    assert example["hooks"] == ["haechi_register_detectors"]


def test_the_example_plugin_detects_and_masks_employee_ids(workspace: Workspace):
    valid = employee_id("123456")
    invalid = valid[:-1] + str((int(valid[-1]) + 1) % 10)  # wrong check digit
    document = {"note": f"badge {valid}, not {invalid}"}
    name = workspace.write_json("emp.json", document)

    dry = workspace.ok("protect", name)
    assert dry["summary"]["byType"] == {"employee_id": 1}
    (event,) = workspace.audit_records()
    assert event["detections"][0]["ruleId"] == "acme-employee-id"

    workspace.enforce(employee_id="mask")
    enforced = workspace.ok("protect", name)
    assert enforced["summary"]["byAction"] == {"mask": 1}
    assert enforced["payload"] == {"note": f"badge EM*******{valid[-2:]}, not {invalid}"}
    assert valid not in workspace.audit_path.read_text()


def test_scan_reports_employee_ids(workspace: Workspace):
    valid = employee_id("987654")
    report = workspace.ok("scan", "-", stdin=f"id={valid}\n", code=3)
    (detection,) = report["results"][0]["detections"]
    assert (detection["type"], detection["start"], detection["end"]) == ("employee_id", 3, 14)
