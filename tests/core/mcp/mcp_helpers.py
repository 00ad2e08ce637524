"""Helpers of the MCP tests: a workspace (config, key file, audit log), the command line
that starts ``haechi``, and a line-level driver for a wrapped server."""

from __future__ import annotations

import contextlib
import copy
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from haechi.audit.verify import verify_audit_chain
from haechi.config import default_config_dict
from haechi.crypto.keyfile import create_key_file
from haechi.runtime import Runtime

HERE = Path(__file__).parent
SCRIPTED_SERVER = HERE / "servers" / "scripted_server.py"
NODE_DIR = HERE / "node"

#: Allowed methods that let the official SDK client and the test servers work.
SDK_METHODS = ["initialize", "notifications/initialized", "tools/list", "tools/call", "ping"]


HAECHI = [sys.executable, "-m", "haechi"]


class Workspace:
    """A directory with a config (absolute paths), a key file and an audit log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_path = root / "haechi.config.json"
        self.audit_path = root / ".haechi" / "audit.jsonl"
        self.config: dict[str, Any] = copy.deepcopy(default_config_dict())
        self.config["keys"]["keyFile"] = str(root / ".haechi" / "dev.keys.json")
        self.config["audit"]["path"] = str(self.audit_path)
        self.config["tokenVault"]["path"] = str(root / ".haechi" / "token-vault.sqlite3")
        self.config["policy"]["mode"] = "enforce"
        self.config["mcp"]["allowedMethods"] = list(SDK_METHODS)
        create_key_file(self.config["keys"]["keyFile"])
        self.write()

    def write(self) -> Path:
        self.config_path.write_text(json.dumps(self.config, indent=2))
        return self.config_path

    def runtime(self) -> Runtime:
        self.write()
        return Runtime.load(self.config_path, env={})

    def audit_records(self) -> list[dict[str, Any]]:
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]

    def assert_audit_clean(self, raw_values: Iterable[str], *, cli: bool = False) -> None:
        """The audit log verifies (through ``haechi audit-verify`` when ``cli``) and holds
        none of ``raw_values``."""
        if cli:
            proc = subprocess.run([*HAECHI, "audit-verify", "--config", str(self.config_path),
                                   "--json"], capture_output=True, text=True, check=False,
                                  cwd=self.root)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert json.loads(proc.stdout)["result"]["valid"] is True
        else:
            assert verify_audit_chain(self.audit_path)["valid"] is True
        text = self.audit_path.read_text(encoding="utf-8")
        for raw in raw_values:
            assert raw not in text, "a raw value reached the audit log"



class WrappedServer:
    """``haechi mcp-wrap`` around the scripted server, driven line by line.

    Our side plays the MCP client: :meth:`send` writes one message to the wrapper's stdin
    and :meth:`receive` reads the next line from its stdout (a reader thread keeps
    stdout drained, so a large message never blocks the wrapper).
    """

    def __init__(self, workspace: Workspace, *server_args: str, stderr_mode: str = "filter",
                 command: list[str] | None = None) -> None:
        self.workspace = workspace
        self.record_path = workspace.root / "server-received.jsonl"
        workspace.write()
        server = command or [sys.executable, str(SCRIPTED_SERVER), "--record",
                             str(self.record_path), *server_args]
        self.stderr_path = workspace.root / "wrapper-stderr.log"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [*HAECHI, "mcp-wrap", "--config", str(workspace.config_path),
             "--stderr", stderr_mode, "--", *server],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            cwd=workspace.root,
        )
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(b"")

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: Any) -> None:
        self.send_raw(json.dumps(message).encode() + b"\n")

    def receive_raw(self, timeout: float = 20.0) -> bytes:
        """The next stdout line, or ``b""`` when stdout ended."""
        return self._lines.get(timeout=timeout)

    def receive(self, timeout: float = 20.0) -> Any:
        line = self.receive_raw(timeout)
        assert line, "the wrapper's stdout ended"
        return json.loads(line)

    def request(self, message_id: Any, method: str, params: Any = None) -> Any:
        message = {"jsonrpc": "2.0", "id": message_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.receive()

    def initialize(self) -> None:
        reply = self.request(0, "initialize", {"protocolVersion": "2025-06-18",
                                              "capabilities": {},
                                              "clientInfo": {"name": "test", "version": "1"}})
        assert reply["result"]["serverInfo"]["name"] == "scripted"
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def received_by_server(self) -> list[Any]:
        if not self.record_path.exists():
            return []
        return [json.loads(line) for line in self.record_path.read_bytes().splitlines()]

    def stderr_text(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def close(self, timeout: float = 20.0) -> int:
        """Close the wrapper's stdin and return its exit code."""
        assert self.process.stdin is not None
        if not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        code = self.process.wait(timeout=timeout)
        self._stderr.close()
        return code

    def __enter__(self) -> WrappedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._stderr.closed:
            self._stderr.close()
