"""The README demo (``python -m haechi.demo``) runs end to end and leaks no raw value."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from haechi import demo

TOKEN = re.compile(r"\[TOKEN:[^\]]+\]")


def assert_no_raw_value(text: str) -> None:
    for value in demo.RAW_VALUES:
        for variant in {value, value.replace(" ", ""), value.replace("-", "")}:
            assert variant not in text, value


def test_demo_exits_0_and_reports_no_raw_values(tmp_path: Path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "haechi.demo", "--keep"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "raw values in the audit log: NONE" in proc.stdout
    assert "valid=True" in proc.stdout

    (workdir,) = tmp_path.glob("haechi-demo-*")  # kept by --keep
    audit = (workdir / ".haechi" / "audit.jsonl").read_text()
    events = [json.loads(line) for line in audit.splitlines()]
    assert [e["blocked"] for e in events] == [False, True]  # chat protected, card blocked
    assert_no_raw_value(audit)


def test_demo_removes_its_working_directory_by_default(tmp_path: Path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "haechi.demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not list(tmp_path.glob("haechi-demo-*"))


def test_demo_with_proxy_sends_one_request_and_the_upstream_sees_no_raw_value(tmp_path: Path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "haechi.demo", "--proxy", "--keep"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "6. haechi proxy in front of a stub upstream" in proc.stdout
    assert "raw values seen by the upstream: NONE" in proc.stdout
    assert "raw values in the audit log and the proxy's output: NONE" in proc.stdout
    assert proc.stdout.count("valid=True") == 2

    (workdir,) = tmp_path.glob("haechi-demo-*")
    exchange = json.loads((workdir / demo.PROXY_EXCHANGE_FILE).read_text())
    (received,) = exchange["upstreamReceived"]
    upstream_text = received["messages"][-1]["content"]
    assert_no_raw_value(json.dumps(exchange["upstreamReceived"]))  # nor the phone
    (token,) = TOKEN.findall(upstream_text)  # the email, tokenized
    assert token.startswith("[TOKEN:tok_email_")
    answer = exchange["clientReceived"]["choices"][0]["message"]["content"]
    assert "minji.kim@example.com" in answer and "[TOKEN:" not in answer  # restored

    audit = (workdir / ".haechi" / "audit.jsonl").read_text()
    assert_no_raw_value(audit)
    events = [json.loads(line) for line in audit.splitlines()]
    assert [e["count"] for e in events if e.get("decision") == "detokenize"] == [1]


def test_demo_proxy_step_fails_when_the_upstream_sees_a_raw_value(tmp_path: Path, capsys):
    # A fresh `haechi init` is in dry-run mode: the proxy forwards the message unchanged.
    subprocess.run([sys.executable, "-m", "haechi", "init", "--json"], cwd=tmp_path,
                   check=True, capture_output=True)
    assert demo.run_proxy_demo(tmp_path) == 1
    assert "FAILED: the upstream saw 2 raw value(s)" in capsys.readouterr().out


def test_raw_values_in_finds_values_without_their_separators():
    assert demo.raw_values_in("call 01012345678 or pay 4111111111111111") == [
        "010-1234-5678", "4111 1111 1111 1111"]
    assert demo.raw_values_in("call 01*********78, pay [REDACTED:card]") == []


def test_the_bundled_upstream_answers_and_repeats_the_tokens_it_received():
    marker = "[TOKEN:tok_email_0123456789abcdef0123456789abcdef]"
    body = {"model": "m", "messages": [
        {"role": "user", "content": f"mail {marker}, again {marker}, [TOKEN:not-a-vault-token]"}]}
    proc = subprocess.Popen([sys.executable, "-m", "haechi.demo_upstream", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{json.loads(proc.stdout.readline())['port']}"
        request = urllib.request.Request(f"{url}/v1/chat/completions",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            completion = json.load(response)
        with urllib.request.urlopen(f"{url}/__demo/received", timeout=10) as response:
            received = json.load(response)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["content"] == (
        f"Demo upstream: your request carried 1 token(s): {marker}")
    assert received == [body]
