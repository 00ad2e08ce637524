"""``haechi mcp-stdio`` as a process: spec section 14, check 15, on one input stream."""

from __future__ import annotations

import json
import subprocess

from mcp_helpers import HAECHI, Workspace

PHONE = "010-1234-5678"
CARD = "4111111111111111"


def test_mcp_stdio_filters_stdin_to_stdout(workspace: Workspace) -> None:
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "sms", "arguments": {"to": PHONE}}},
        {"jsonrpc": "2.0", "id": 2, "method": "resources/list"},
        [{"jsonrpc": "2.0", "id": 3, "method": "ping"}],
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"card": CARD}},
        {"jsonrpc": "2.0", "id": 5, "result": {"content": [{"type": "text",
                                                            "text": f"sent to {PHONE}"}]}},
        {"jsonrpc": "2.0", "method": "notifications/unlisted"},
    ]
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines) + b"\n"
    proc = subprocess.run([*HAECHI, "mcp-stdio", "--config", str(workspace.write())],
                          input=data[:-2], capture_output=True, timeout=60, check=False,
                          cwd=workspace.root)  # the last line ends without a newline
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == 5  # the notification was dropped silently
    assert out[0]["params"]["arguments"]["to"] == "01*********78"
    assert out[1]["error"]["code"] == -32003
    assert out[2]["error"]["code"] == -32000 and out[2]["id"] is None
    assert out[3]["error"]["code"] == -32001 and out[3]["id"] == 4
    assert out[4]["result"]["content"][0]["text"] == "sent to 01*********78"
    for raw in (PHONE, CARD):
        assert raw.encode() not in proc.stdout + proc.stderr
    workspace.assert_audit_clean([PHONE, CARD, "1234-5678"], cli=True)
