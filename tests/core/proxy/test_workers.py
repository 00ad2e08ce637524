"""The opt-in multi-process proxy: workers share the port, their audit events form one
valid chain, a rate limit refuses to start, and SIGTERM drains every worker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.core.proxy.conftest import RAW_EMAIL, chat, make_workdir

REQUESTS = 24


def _launch(workdir: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "haechi", "proxy", "--workers", str(workers),
                             "--port", "0"], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _post(port: int) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(chat(f"write to {RAW_EMAIL}")).encode(),
        headers={"Content-Type": "application/json", "Connection": "close"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def _announced_port(proc: subprocess.Popen) -> int:
    line = proc.stdout.readline()
    assert line, proc.stderr.read()[-2000:]
    return json.loads(line)["port"]


def _post_all(port: int) -> None:
    """REQUESTS chat requests, eight at a time, each on a connection of its own."""
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: _post(port), range(REQUESTS))) == [200] * REQUESTS


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_two_workers_share_the_port_and_one_audit_chain(tmp_path, stub):
    workdir = make_workdir(tmp_path / "w", stub.url)
    proc = _launch(workdir, 2)
    try:
        port = _announced_port(proc)
        workers = [pid for pid in _children(proc.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2
        _post_all(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert RAW_EMAIL not in out + err

    audit_text = (workdir / ".haechi" / "audit.jsonl").read_text()
    assert RAW_EMAIL not in audit_text
    assert len(audit_text.splitlines()) >= REQUESTS
    verify = subprocess.run([sys.executable, "-m", "haechi", "audit-verify", "--json"],
                            cwd=workdir, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert RAW_EMAIL not in stub.received_text()


def test_a_rate_limit_refuses_more_than_one_worker(tmp_path, stub):
    def edit(config):
        config["policy"]["rate"] = {"requestsPerMinute": 10}

    proc = _launch(make_workdir(tmp_path / "w", stub.url, edit), 2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert out == ""
    assert "policy.rate is enforced per process" in err


def _metric_total(text: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets) in a Prometheus text page."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((f"{name}{{", f"{name} ")))


def test_a_metrics_scrape_of_any_worker_counts_the_requests_of_all(tmp_path, stub):
    """Each request opens its own connection, so the kernel spreads them over both
    workers; every scrape (also a new connection, so any worker) sees all of them."""
    metrics_dirs = set(Path(tempfile.gettempdir()).glob("haechi-metrics-*"))
    workdir = make_workdir(tmp_path / "w", stub.url)
    proc = _launch(workdir, 2)
    try:
        port = _announced_port(proc)
        # The run's metrics directory exists while it runs, and is removed after it.
        assert len(set(Path(tempfile.gettempdir()).glob("haechi-metrics-*")) - metrics_dirs) == 1
        _post_all(port)
        for _ in range(8):
            scrape = urllib.request.Request(f"http://127.0.0.1:{port}/__haechi/metrics",
                                            headers={"Connection": "close"})
            with urllib.request.urlopen(scrape, timeout=30) as response:
                text = response.read().decode()
            assert _metric_total(text, "haechi_requests_total") == REQUESTS
            assert _metric_total(text, "haechi_request_duration_seconds_count") == REQUESTS
            # One protect call per request (response protection is off by default).
            assert _metric_total(text, "haechi_protect_batch_size_sum") == REQUESTS
            assert RAW_EMAIL not in text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert RAW_EMAIL not in out + err
    assert set(Path(tempfile.gettempdir()).glob("haechi-metrics-*")) <= metrics_dirs
