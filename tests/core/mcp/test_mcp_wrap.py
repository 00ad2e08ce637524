"""``haechi mcp-wrap`` as a real process around the scripted test server: both directions,
server-initiated messages, batches, a 5 MB result, a partial final line, stderr modes,
signals and exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from mcp_helpers import HAECHI, SCRIPTED_SERVER, Workspace, WrappedServer

PHONE = "010-2222-3333"
BIG_EMAIL = "big.result@example.com"
EMAIL = "wrap.user@example.com"
STDERR_SECRET = "ghp_" + "S" * 36
RAW = (PHONE, BIG_EMAIL, EMAIL, STDERR_SECRET, "2222-3333")


def test_both_directions_are_protected(workspace: Workspace) -> None:
    with WrappedServer(workspace) as server:
        server.initialize()
        echoed = server.request(1, "tools/call", {"name": "echo",
                                                  "arguments": {"text": f"to {EMAIL}"}})
        assert echoed["result"]["content"][0]["text"] == "to [REDACTED:email]"
        assert EMAIL not in json.dumps(server.received_by_server())
        server.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                     "params": {"name": "notify"}})
        notification, server_request, result = (server.receive() for _ in range(3))
        assert notification["method"] == "notifications/message"
        assert notification["params"]["data"] == "call me at 01*********33"
        assert server_request["id"] == "srv-1"
        assert "01*********33" in json.dumps(server_request["params"])
        assert result == {"jsonrpc": "2.0", "id": 2, "result": {
            "content": [{"type": "text", "text": "notified"}], "isError": False}}
        injected = server.request(3, "tools/call", {"name": "inject"})
        assert "Ignore all previous instructions" in injected["result"]["content"][0]["text"]
        assert server.close() == 0
    injection = [e for e in workspace.audit_records() if e.get("operation") == "result"
                 and e["summary"]["byType"].get("injection")]
    assert injection and injection[0]["summary"]["byAction"] == {"allow": 3}
    workspace.assert_audit_clean(RAW, cli=True)


def test_a_method_outside_the_allowlist_never_reaches_the_server(workspace) -> None:
    with WrappedServer(workspace) as server:
        server.initialize()
        reply = server.request(1, "resources/list")
        assert reply["error"]["code"] == -32003
        server.send({"jsonrpc": "2.0", "method": "notifications/not-allowed"})
        assert server.request(2, "ping") == {"jsonrpc": "2.0", "id": 2, "result": {}}
        assert server.close() == 0
    methods = [m.get("method") for m in server.received_by_server()]
    assert methods == ["initialize", "notifications/initialized", "ping"]
    workspace.assert_audit_clean(RAW)


def test_a_server_batch_becomes_an_error_for_the_client(workspace) -> None:
    with WrappedServer(workspace) as server:
        server.initialize()
        reply = server.request(1, "tools/call", {"name": "batch"})
        assert reply["id"] is None and reply["error"]["code"] == -32000
        assert "batch" in reply["error"]["data"]["reason"]
        assert server.close() == 0


def test_a_client_batch_is_refused_without_reaching_the_server(workspace) -> None:
    with WrappedServer(workspace) as server:
        server.send([{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
        assert server.receive()["error"]["code"] == -32000
        assert server.close() == 0
    assert server.received_by_server() == []


def test_a_5_mb_result_is_protected(workspace) -> None:
    with WrappedServer(workspace) as server:
        server.initialize()
        reply = server.request(1, "tools/call", {"name": "big",
                                                 "arguments": {"size": 5_000_000}})
        text = reply["result"]["content"][0]["text"]
        assert len(text) > 4_900_000 and text.endswith(" [REDACTED:email]")
        assert server.close() == 0
    workspace.assert_audit_clean(RAW)


def test_a_result_over_the_line_limit_fails_closed(workspace) -> None:
    limit = 1_000_000
    workspace.config["mcp"]["maxLineBytes"] = limit
    with WrappedServer(workspace) as server:
        server.initialize()
        reply = server.request(1, "tools/call", {"name": "big",
                                                 "arguments": {"size": limit + 1000}})
        assert reply["id"] is None and reply["error"]["code"] == -32000
        assert str(limit) in reply["error"]["data"]["reason"]
        assert server.request(2, "ping")["result"] == {}  # the session goes on
        assert server.close() == 0
    assert "line_too_long" in [e.get("decision") for e in workspace.audit_records()]


def test_a_partial_final_line_is_delivered_protected(workspace) -> None:
    with WrappedServer(workspace) as server:
        server.initialize()
        reply = server.request(1, "tools/call", {"name": "partial"})
        assert reply["result"]["content"][0]["text"] == "last words 01*********33"
        assert server.close() == 0
    workspace.assert_audit_clean(RAW)


def test_the_server_exit_code_comes_back(workspace) -> None:
    with WrappedServer(workspace) as server:
        server.initialize()
        server.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                     "params": {"name": "crash"}})
        assert server.receive_raw() == b""
        assert server.close() == 7


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 42), (signal.SIGTERM, 1)])
def test_signals_are_forwarded(workspace, signum, code) -> None:
    with WrappedServer(workspace) as server:
        server.initialize()  # the server is up and has installed its handler
        server.process.send_signal(signum)
        assert server.process.wait(timeout=20) == code


def test_stderr_is_filtered_line_by_line(workspace) -> None:
    with WrappedServer(workspace) as server:
        server.initialize()
        assert server.request(1, "tools/call", {"name": "stderr"})["id"] == 1
        assert server.close() == 0
        stderr = server.stderr_text()
    assert "plain log line" in stderr
    assert STDERR_SECRET not in stderr  # secrets block: the whole line is dropped
    dropped = [e for e in workspace.audit_records()
               if e.get("decision") == "stderr_line_dropped"]
    assert dropped and dropped[0]["summary"]["byType"] == {"secret": 1}
    workspace.assert_audit_clean(RAW)


@pytest.mark.parametrize(("mode", "secret_shown", "plain_shown"),
                         [("drop", False, False), ("inherit", True, True)])
def test_stderr_drop_and_inherit(workspace, mode, secret_shown, plain_shown) -> None:
    with WrappedServer(workspace, stderr_mode=mode) as server:
        server.initialize()
        server.request(1, "tools/call", {"name": "stderr"})
        assert server.close() == 0
        stderr = server.stderr_text()
    assert (STDERR_SECRET in stderr) is secret_shown
    assert ("plain log line" in stderr) is plain_shown


def test_the_rug_pull_is_refused_with_pin_tools_enforce(workspace) -> None:
    workspace.config["mcp"]["pinTools"] = "enforce"
    with WrappedServer(workspace, "--rug-pull") as server:
        server.initialize()
        assert "echo" in [t["name"] for t in server.request(1, "tools/list")["result"]["tools"]]
        second = server.request(2, "tools/list")["result"]["tools"]
        assert "echo" not in [t["name"] for t in second]
        assert server.request(3, "tools/call", {"name": "echo"})["error"]["code"] == -32004
        assert server.close() == 0
    workspace.assert_audit_clean(RAW)


def test_token_round_trip_through_the_wrapper(workspace) -> None:
    workspace.config["policy"]["actions"]["email"] = "tokenize"
    workspace.config["tokenVault"]["detokenizeResponses"] = True
    with WrappedServer(workspace) as server:
        server.initialize()
        reply = server.request(1, "tools/call", {"name": "echo",
                                                 "arguments": {"text": f"hi {EMAIL}"}})
        assert reply["result"]["content"][0]["text"] == f"hi {EMAIL}"
        sent = server.received_by_server()[-1]["params"]["arguments"]["text"]
        assert EMAIL not in sent and "[TOKEN:" in sent
        assert server.close() == 0
    workspace.assert_audit_clean(RAW)


def run_haechi(workspace: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HAECHI, *args], capture_output=True, text=True, check=False,
                          cwd=workspace.root, stdin=subprocess.DEVNULL, timeout=60)


def test_an_invalid_stderr_mode_is_rejected(workspace) -> None:
    proc = run_haechi(workspace, "mcp-wrap", "--config", str(workspace.write()),
                      "--stderr", "x", "--", sys.executable, str(SCRIPTED_SERVER))
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'haechi: mcp-wrap --stderr must be one of: filter | drop | inherit (got "x")')


def test_a_missing_server_command_is_an_error(workspace) -> None:
    proc = run_haechi(workspace, "mcp-wrap", "--config", str(workspace.write()))
    assert proc.returncode == 1 and "command after --" in proc.stderr
    proc = run_haechi(workspace, "mcp-wrap", "--config", str(workspace.write()), "--",
                      str(workspace.root / "no-such-server"))
    assert proc.returncode == 1 and "Could not start the MCP server command" in proc.stderr


def test_the_wrapper_exits_when_the_client_closes_stdin(workspace) -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [*HAECHI, "mcp-wrap", "--config", str(workspace.write()), "--", sys.executable,
         str(SCRIPTED_SERVER), "--record", str(workspace.root / "r.jsonl")],
        input=b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n', capture_output=True,
        timeout=60, check=False)
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert time.monotonic() - started < 30
