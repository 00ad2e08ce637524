"""Fixtures for the proxy tests: a stub upstream process (one per session), Haechi work
directories made with the real ``haechi init``, real ``haechi proxy`` processes (one per
config, module scoped in the tests that use them) and an in-process app for the error
paths."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

ROOT = Path(__file__).resolve().parents[3]
STUB = ROOT / "tests" / "plugins" / "stub_upstream.py"

#: Raw values sent through the proxy; none may reach the upstream in enforce mode, nor the
#: audit log, the logs or an error body.
RAW_EMAIL = "minji.kim@example.com"
RAW_PHONE = "010-1234-5678"
RAW_CARD = "4111 1111 1111 1111"
RAW_KEY = "sk-live-abcdefghijklmnopqrstuvwx1234"
RAW_VALUES = (RAW_EMAIL, RAW_PHONE, RAW_CARD, RAW_KEY)


class Stub:
    """The stub upstream process and what it received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def requests(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/__stub/requests", timeout=10) as response:
            return json.load(response)

    def clear(self) -> None:
        request = urllib.request.Request(f"{self.url}/__stub/requests", method="DELETE")
        urllib.request.urlopen(request, timeout=10).close()

    def received_text(self) -> str:
        return json.dumps(self.requests(), ensure_ascii=False)


def _first_json_line(proc: subprocess.Popen, what: str) -> dict[str, Any]:
    line = proc.stdout.readline()
    if not line:
        stderr = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"{what} exited before listening: {stderr[-2000:]}")
    return json.loads(line)


@pytest.fixture(scope="session")
def stub() -> Iterator[Stub]:
    proc = subprocess.Popen([sys.executable, str(STUB)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        yield Stub(_first_json_line(proc, "stub upstream")["port"])
    finally:
        proc.terminate()
        proc.wait(10)


def make_workdir(base: Path, upstream: str, edit: Callable[[dict], None] | None = None) -> Path:
    """``haechi init`` in ``base``, pointed at ``upstream`` on an ephemeral port."""
    base.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "haechi", "init", "--json"], cwd=base, check=True,
                   capture_output=True)
    path = base / "haechi.config.json"
    config = json.loads(path.read_text())
    config["target"]["upstream"] = upstream
    config["proxy"]["port"] = 0
    config["policy"]["mode"] = "enforce"
    if edit is not None:
        edit(config)
    path.write_text(json.dumps(config, indent=2))
    return base


class ProxyProcess:
    """A running ``haechi proxy``; ``stop()`` sends SIGTERM and returns its output."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.workdir = workdir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "haechi", "proxy", *extra], cwd=workdir,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        announced = _first_json_line(self.proc, "haechi proxy")
        self.port = announced["port"]
        self.scheme = "https" if announced["tls"] else "http"
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.output = ""

    def stop(self, sig: int = signal.SIGTERM) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        self.output = out + err
        return self.output

    def audit_text(self) -> str:
        path = self.workdir / ".haechi" / "audit.jsonl"
        return path.read_text() if path.exists() else ""


@contextlib.contextmanager
def running_proxy(workdir: Path, *extra: str) -> Iterator[ProxyProcess]:
    proxy = ProxyProcess(workdir, *extra)
    try:
        yield proxy
    finally:
        proxy.stop()


def tls_for_localhost(directory: Path) -> tuple[Callable[[dict], None], ssl.SSLContext]:
    """A throwaway CA (trustme) and a certificate for 127.0.0.1 written under ``directory``:
    a config edit that makes the proxy serve TLS with it, and a client context trusting it."""
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    key_file, cert_file = directory / "key.pem", directory / "cert.pem"
    certificate.private_key_pem.write_to_path(str(key_file))
    certificate.cert_chain_pems[0].write_to_path(str(cert_file))

    def serve_tls(config: dict) -> None:
        config["proxy"]["tls"] = {"keyFile": str(key_file), "certFile": str(cert_file)}

    context = ssl.create_default_context()
    authority.configure_trust(context)
    return serve_tls, context


def assert_no_raw_values(*texts: str, values: tuple[str, ...] = RAW_VALUES) -> None:
    for text in texts:
        for value in values:
            assert value not in text, "a raw value leaked"


# -- in-process ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def app_client(workdir: Path, *, extra_plugins: tuple[Any, ...] = (),
                     **create_options: Any):
    """The proxy app for ``workdir`` in this process, behind a test client."""
    from haechi.plugins import create_plugin_manager
    from haechi.proxy.app import SERVER_OPTIONS, create_app
    from haechi.runtime import Runtime

    previous = os.getcwd()
    os.chdir(workdir)
    try:
        pm = create_plugin_manager(extra_plugins=extra_plugins)
        runtime = Runtime.load("haechi.config.json", pm=pm)
        app = create_app(runtime, **create_options)
        server = TestServer(app, host="127.0.0.1")
        # TestServer always sets handler_cancellation=True itself, as the proxy does.
        options = {k: v for k, v in SERVER_OPTIONS.items() if k != "handler_cancellation"}
        await server.start_server(**options)
        async with TestClient(server) as client:
            client.runtime = runtime  # type: ignore[attr-defined]
            yield client
    finally:
        os.chdir(previous)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def chat(content: str, **fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **fields}
