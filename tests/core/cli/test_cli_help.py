"""``haechi help``, ``help <cmd>``, ``config``, unknown commands and usage errors."""

from __future__ import annotations

import pytest
from cli_harness import Workspace, run_haechi

COMMANDS = ("init", "protect", "scan", "report", "status", "audit-verify", "policy-sign",
            "policy-verify", "token-reveal", "token-purge", "token-export", "config", "help",
            "plugins")


@pytest.mark.parametrize("args", [(), ("help",), ("--help",), ("-h",)],
                         ids=["none", "help", "--help", "-h"])
def test_help_lists_every_command_and_exits_0(tmp_path, args):
    result = run_haechi(tmp_path, *args)
    assert result.code == 0, result.describe()
    for command in COMMANDS:
        if command != "help":
            assert f"  {command} " in result.stdout, command
    assert result.stderr == ""


def test_help_for_one_command(tmp_path):
    result = run_haechi(tmp_path, "help", "protect")
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("haechi protect — ")
    assert lines[1] == "Usage:"
    assert "<input.json>" in lines[2]


def test_dash_dash_help_after_a_command_prints_its_help(tmp_path):
    result = run_haechi(tmp_path, "protect", "--help")
    assert result.code == 0, result.describe()
    assert result.stdout.startswith("haechi protect — ")


def test_an_unknown_command_is_exit_1_with_the_exact_message(tmp_path):
    result = run_haechi(tmp_path, "frobnicate")
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr == "haechi: Unknown command: frobnicate. Run 'haechi help' for usage.\n"


def test_a_usage_error_is_one_line_and_exit_1(workspace: Workspace):
    result = workspace.run("scan", "--direction", "sideways")
    assert result.code == 1
    assert result.stderr.startswith("haechi: ") and len(result.stderr.splitlines()) == 1


def test_config_prints_the_defaults(tmp_path):
    result = run_haechi(tmp_path, "config")
    assert result.code == 0
    report = result.json
    assert report["ok"] is True and report["command"] == "config"
    defaults = report["defaults"]
    assert defaults["mode"] == "dry-run"
    assert defaults["proxy"]["port"] == 11016
    assert defaults["policy"]["presets"] == ["korean-pii", "secrets-only", "llm-redact"]
    assert defaults["tokenVault"]["revealPolicy"] == "disabled"


def test_a_directory_as_input_is_one_error_line_without_a_traceback(workspace: Workspace):
    """Spec §1: any thrown error prints ``haechi: <message>`` and exits 1."""
    (workspace.root / "adir").mkdir()
    result = workspace.run("protect", "adir")
    assert result.code == 1
    assert result.stderr.startswith("haechi: ")
    assert "Traceback" not in result.stderr
