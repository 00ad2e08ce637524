"""The README demo: ``scripts/demo``. Runs the real ``haechi`` command in a fresh working
directory — init, enforce mode, protect a bundled chat payload, a blocked card payload,
report, audit-verify — and shows that the audit log holds none of the raw values.
No server or network is needed. ``--keep`` keeps the working directory.

``--proxy`` adds a step on loopback: it starts the bundled stub upstream
(:mod:`haechi.demo_upstream`) and ``haechi proxy`` in front of it, sends one chat request
with an email (tokenized, restored in the reply) and a phone number, shows what the upstream
saw and what the client got (also saved as ``proxy-exchange.json`` in the working directory),
then verifies the audit log again. It fails if the upstream saw a raw value.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.json import JSON
from rich.panel import Panel
from rich.table import Table

__all__ = ["main"]

console = Console(markup=False, emoji=False, highlight=False)

RAW_VALUES = ("minji.kim@example.com", "010-1234-5678", "GB82WEST12345698765432",
              "+442079460958", "jae.lee@example.org", "4111 1111 1111 1111")
#: The chat message the ``--proxy`` step sends: an email and a phone of ``RAW_VALUES``.
PROXY_MESSAGE = "Hi, this is Minji: write to minji.kim@example.com or call 010-1234-5678."
PROXY_EXCHANGE_FILE = "proxy-exchange.json"
LOOPBACK_URL = "http://127.0.0.1:"


def raw_values_in(text: str) -> list[str]:
    """The demo's raw values found in ``text``, also with their spaces or dashes removed."""
    return [value for value in RAW_VALUES
            if any(variant in text for variant in
                   {value, value.replace(" ", ""), value.replace("-", "")})]


def haechi(workdir: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([sys.executable, "-m", "haechi", *args, "--json"], cwd=workdir,
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 3):
        console.print(proc.stderr)
        raise SystemExit(f"demo: 'haechi {' '.join(args)}' failed ({proc.returncode})")
    return proc.returncode, json.loads(proc.stdout)


def step(title: str) -> None:
    console.rule(title)


def edit_config(workdir: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    config_path = workdir / "haechi.config.json"
    config = json.loads(config_path.read_text())
    edit(config)
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/demo", description="Run the real haechi commands on bundled payloads.")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--proxy", action="store_true",
                        help="also send one request through haechi proxy to a stub upstream")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="haechi-demo-"))
    try:
        code = run_demo(workdir)
        if code == 0 and args.proxy:
            code = run_proxy_demo(workdir)
        return code
    finally:
        if args.keep:
            console.print(f"kept {workdir} (haechi.config.json, .haechi/)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run_demo(workdir: Path) -> int:
    examples = resources.files("haechi") / "examples"
    for name in ("chat-payload.json", "card-payload.json"):
        (workdir / name).write_bytes((examples / name).read_bytes())
    console.print(Panel(f"Haechi demo in {workdir}", expand=False))

    step("1. haechi init")
    _, init = haechi(workdir, "init")
    console.print(f"config {init['configPath']}, key file {init['keyFile']} (0600), "
                  f"audit log {init['auditPath']}")
    edit_config(workdir, lambda config: config["policy"].update(mode="enforce"))
    console.print('policy.mode set to "enforce"')

    step("2. haechi protect chat-payload.json")
    console.print("Input:")
    console.print(JSON((workdir / "chat-payload.json").read_text()))
    _, protected = haechi(workdir, "protect", "chat-payload.json")
    table = Table(title="Detections")
    for column in ("type", "count"):
        table.add_column(column)
    for type_, count in sorted(protected["summary"]["byType"].items()):
        table.add_row(type_, str(count))
    console.print(table)
    console.print("Protected payload (what the model would receive):")
    console.print(JSON(json.dumps(protected["payload"])))

    step("3. haechi protect card-payload.json")
    code, blocked = haechi(workdir, "protect", "card-payload.json")
    console.print(f"exit {code}, blocked={blocked['blocked']}, payload={blocked['payload']}")

    step("4. haechi report")
    _, report = haechi(workdir, "report")
    console.print(JSON(json.dumps(report["summary"])))

    step("5. haechi audit-verify")
    return 0 if audit_is_clean(workdir) else 1


def audit_is_clean(workdir: Path, *other_outputs: str) -> bool:
    """``haechi audit-verify``, then search the audit log (and ``other_outputs``, e.g. the
    proxy's log lines) for the raw values."""
    _, verify = haechi(workdir, "audit-verify")
    result = verify["result"]
    console.print(f"valid={result['valid']} records={result['records']} "
                  f"head={result.get('headHash')}")
    audit_text = (workdir / verify["auditPath"]).read_text()
    leaked = raw_values_in("\n".join((audit_text, *other_outputs)))
    where = "the audit log" + (" and the proxy's output" if other_outputs else "")
    console.print(f"raw values in {where}: " + ("NONE" if not leaked else str(leaked)))
    return result["valid"] and not leaked


class ListeningProcess:
    """A child process that prints one JSON line once it listens; ``stop()`` sends SIGTERM,
    waits, and keeps what it printed in ``output``."""

    def __init__(self, what: str, workdir: Path, *args: str) -> None:
        self.what = what
        self.output = ""
        self.proc = subprocess.Popen([sys.executable, "-m", *args], cwd=workdir, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def announcement(self) -> dict[str, Any]:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.stop()
            console.print(self.output[-2000:])
            raise SystemExit(f"demo: {self.what} exited before listening")
        return json.loads(line)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        self.output = out + err
        return self.proc.returncode


def loopback_json(url: str, body: dict[str, Any] | None = None) -> Any:
    """GET ``url`` (or POST ``body`` to it) on this machine and return the JSON answer."""
    if not url.startswith(LOOPBACK_URL):
        raise ValueError("the demo only talks to http://127.0.0.1")
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    # S310: the scheme and host are checked above.
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as error:
        console.print(error.read().decode("utf-8", "replace"))
        raise SystemExit(f"demo: {url} answered HTTP {error.code}") from None


def _tokenize_emails_through(upstream: str) -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        config["target"]["upstream"] = upstream
        config["responseProtection"]["enabled"] = True
        config["policy"]["actions"]["email"] = "tokenize"
        config["tokenVault"]["detokenizeResponses"] = True
    return edit


def run_proxy_demo(workdir: Path) -> int:
    step("6. haechi proxy in front of a stub upstream")
    with contextlib.ExitStack() as running:
        upstream = ListeningProcess("the demo upstream", workdir, "haechi.demo_upstream",
                                    "--port", "0")
        running.callback(upstream.stop)
        upstream_url = f"{LOOPBACK_URL}{upstream.announcement()['port']}"
        edit_config(workdir, _tokenize_emails_through(upstream_url))
        console.print(f"demo upstream (python -m haechi.demo_upstream) on {upstream_url}; "
                      'target.upstream set to it, email: "tokenize", '
                      "responseProtection and detokenizeResponses on")
        proxy = ListeningProcess("haechi proxy", workdir, "haechi", "proxy", "--port", "0")
        running.callback(proxy.stop)
        proxy_url = f"{LOOPBACK_URL}{proxy.announcement()['port']}"
        console.print(f"haechi proxy on {proxy_url}")

        request = {"model": "demo-model", "messages": [{"role": "user", "content": PROXY_MESSAGE}]}
        console.print(f"Client sends POST {proxy_url}/v1/chat/completions:")
        console.print(JSON(json.dumps(request)))
        reply = loopback_json(f"{proxy_url}/v1/chat/completions", request)
        received = loopback_json(f"{upstream_url}/__demo/received")
        console.print("What the upstream received:")
        console.print(JSON(json.dumps(received)))
        answer = reply["choices"][0]["message"]["content"]
        console.print("What the client got back (the proxy restored this request's tokens):")
        console.print(answer)
        (workdir / PROXY_EXCHANGE_FILE).write_text(json.dumps(
            {"sent": request, "upstreamReceived": received, "clientReceived": reply},
            indent=2) + "\n")
    console.print(f"demo upstream stopped (exit {upstream.proc.returncode}), "
                  f"haechi proxy stopped (exit {proxy.proc.returncode})")
    leaked = raw_values_in(json.dumps(received, ensure_ascii=False))
    if leaked:
        console.print(f"FAILED: the upstream saw {len(leaked)} raw value(s)")
        return 1
    console.print("raw values seen by the upstream: NONE")

    step("7. haechi audit-verify (now with the proxy's events)")
    return 0 if audit_is_clean(workdir, upstream.output, proxy.output) else 1


if __name__ == "__main__":
    sys.exit(main())
