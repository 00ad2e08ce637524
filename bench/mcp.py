"""Benchmark: what ``haechi mcp-wrap`` adds to an MCP stdio round trip.

    .venv/bin/python bench/mcp.py [--calls 400] [--mode enforce]

A client in this process sends ``tools/call`` requests one at a time to the scripted test
server (tests/core/mcp/servers/scripted_server.py), first directly and then through
``haechi mcp-wrap``, and times each request-to-response round trip.

- latency: ``echo`` with 1 KB of clean chat text in the arguments and the result (both
  directions are protected and audited); p50 and p99 of each path and the added p50/p99;
  target: added p50 <= 1 ms;
- throughput: sequential round trips per second for 1 KB and 1 MB results.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "core" / "mcp" / "servers" / "scripted_server.py"
TEXT_1KB = ("Please summarise the open action items for the platform team before Friday. "
            * 14)[:1024]


HAECHI = [sys.executable, "-m", "haechi"]


def make_workspace(root: Path, mode: str) -> Path:
    from haechi.config import default_config_dict
    from haechi.crypto.keyfile import create_key_file

    config = default_config_dict()
    config["keys"]["keyFile"] = str(root / "dev.keys.json")
    config["audit"]["path"] = str(root / "audit.jsonl")
    config["tokenVault"]["path"] = str(root / "vault.sqlite3")
    config["policy"]["mode"] = mode
    config["mcp"]["allowedMethods"] = ["initialize", "tools/call"]
    create_key_file(config["keys"]["keyFile"])
    path = root / "haechi.config.json"
    path.write_text(json.dumps(config))
    return path


class Client:
    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=cwd)
        self.next_id = 0

    def call(self, name: str, arguments: dict) -> float:
        """One round trip; returns its seconds."""
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                           "params": {"name": name, "arguments": arguments}}).encode() + b"\n"
        started = time.perf_counter()
        self.process.stdin.write(line)
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        elapsed = time.perf_counter() - started
        if b'"result"' not in reply:
            raise SystemExit(f"unexpected reply: {reply[:200]!r}")
        return elapsed

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(argv: list[str], cwd: Path, calls: int) -> dict[str, float]:
    client = Client(argv, cwd)
    client.call("echo", {"text": "warm-up"})
    latencies = [client.call("echo", {"text": TEXT_1KB}) for _ in range(calls)]
    rates = {}
    for label, size, count in (("1KB", 1024, calls), ("1MB", 1 << 20, max(10, calls // 20))):
        started = time.perf_counter()
        for _ in range(count):
            client.call("big", {"size": size})
        rates[label] = count / (time.perf_counter() - started)
    client.close()
    return {"p50": statistics.median(latencies) * 1000, "p99": percentile(latencies, 0.99) * 1000,
            "rate_1KB": rates["1KB"], "rate_1MB": rates["1MB"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--mode", default="enforce", choices=("dry-run", "report-only",
                                                              "enforce"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="haechi-bench-mcp-") as tmp:
        root = Path(tmp)
        config = make_workspace(root, options.mode)
        server = [sys.executable, str(SERVER), "--record", str(root / "received.jsonl")]
        direct = measure(server, root, options.calls)
        wrapped = measure([*HAECHI, "mcp-wrap", "--config", str(config), "--", *server],
                          root, options.calls)
    print(f"mcp-wrap benchmark ({options.calls} calls of 1 KB, mode {options.mode})")
    print(f"{'':24}{'direct':>12}{'wrapped':>12}{'added':>12}")
    for key, label in (("p50", "round trip p50 (ms)"), ("p99", "round trip p99 (ms)")):
        print(f"{label:24}{direct[key]:12.3f}{wrapped[key]:12.3f}"
              f"{wrapped[key] - direct[key]:12.3f}")
    for key, label in (("rate_1KB", "1 KB results / s"), ("rate_1MB", "1 MB results / s")):
        print(f"{label:24}{direct[key]:12.1f}{wrapped[key]:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
