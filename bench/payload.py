"""Benchmark: ``haechi protect`` on four payload shapes, through the real CLI.

    .venv/bin/python bench/payload.py [--runs 7] [--mode enforce]

Each figure is the median wall time of ``haechi protect <payload>`` minus the median wall
time of ``haechi protect`` on a tiny payload (process start-up, imports, config and key
loading, one audit append), as the reference's figures were measured. The in-process time
of ``Protector.protect`` alone is printed beside it. Reference figures (JavaScript 1.7.0, on
this machine class, start-up subtracted): (a) 295 ms, (b) 10.5 ms, (c) 65 ms, (d) 218 ms;
the target is at most a third of each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE_MS = {"a": 295.0, "b": 10.5, "c": 65.0, "d": 218.0}
FILLER = (
    "Could you summarise the quarterly report and list the open action items for the "
    "platform team before Friday? The deployment notes mention a regression in the "
    "billing service and a follow-up on the incident review. "
)


def chat_payload(rng: random.Random) -> dict:
    """(a) ~4 MB, 2,000 messages with emails, phones and IBANs sprinkled in."""
    messages = []
    for i in range(2000):
        parts = [FILLER * 11]
        if i % 5 == 0:
            parts.append(f" Reach me at user{i}.name@example.com.")
        if i % 7 == 0:
            parts.append(f" My number is 010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}.")
        if i % 11 == 0:
            parts.append(" Refund to GB82WEST12345698765432 please.")
        messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": "".join(parts)})
    return {"model": "llama3", "messages": messages}


def flat_payload() -> dict:
    """(b) one flat 256 KB string."""
    text = (FILLER * 2000)[: 256 * 1024 - 60] + " contact: minji.kim@example.com"
    return {"messages": [{"role": "user", "content": text}]}


def nested_payload(depth: int = 200) -> dict:
    """(c) containers nested 200 deep with a value at the bottom."""
    node: object = {"content": "reach me at deep.user@example.com"}
    for i in range(depth - 1):
        node = {"level": i, "child": node} if i % 2 else [node]
    return node  # type: ignore[return-value]


def wide_payload() -> dict:
    """(d) an object of 5,000 keys plus a list of 5,000 items."""
    return {
        "fields": {f"field_{i}": f"value {i} for record {i * 7}" for i in range(5000)},
        "items": [{"id": i, "note": f"item {i}"} for i in range(5000)],
    }


def run_cli(workdir: Path, payload: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "haechi", "protect", str(payload), "--json"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        raise SystemExit(f"haechi protect failed: {proc.stderr.decode()}")
    return elapsed


def median_cli(workdir: Path, payload: Path, runs: int) -> float:
    run_cli(workdir, payload)  # warm the page cache
    return statistics.median(run_cli(workdir, payload) for _ in range(runs))


def in_process(workdir: Path, payload: Path, runs: int) -> float:
    os.chdir(workdir)
    from haechi.jsoncodec import loads
    from haechi.runtime import Runtime

    runtime = Runtime.load("haechi.config.json")
    context = runtime.cli_context("cli protect")
    _, policy = runtime.policies.resolve((), {})
    text = payload.read_text()
    times = []
    for _ in range(runs):
        document = loads(text)
        start = time.perf_counter()
        runtime.protector.protect(document, context, policy)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mode", default="enforce", choices=("enforce", "dry-run"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="haechi-bench-payload-"))
    subprocess.run(
        [sys.executable, "-m", "haechi", "init", "--json"],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    config_path = workdir / "haechi.config.json"
    config = json.loads(config_path.read_text())
    config["policy"]["mode"] = args.mode
    config_path.write_text(json.dumps(config))

    rng = random.Random(7)
    payloads = {
        "a": chat_payload(rng),
        "b": flat_payload(),
        "c": nested_payload(),
        "d": wide_payload(),
    }
    tiny = workdir / "tiny.json"
    tiny.write_text('{"messages":[{"role":"user","content":"hi"}]}')
    baseline = median_cli(workdir, tiny, args.runs)
    print(
        f"mode {args.mode}; {args.runs} runs each; start-up baseline "
        f"{baseline * 1000:.1f} ms (median, subtracted)"
    )
    print(
        f"{'payload':<34}{'size':>10}{'CLI ms':>10}{'MB/s':>8}{'in-proc ms':>12}"
        f"{'ref ms':>9}{'speed-up':>10}"
    )
    labels = {
        "a": "(a) chat, 2,000 messages",
        "b": "(b) flat 256 KB string",
        "c": "(c) nesting depth 200",
        "d": "(d) 5,000 keys + 5,000 items",
    }
    for key, document in payloads.items():
        path = workdir / f"payload-{key}.json"
        path.write_text(json.dumps(document))
        size = path.stat().st_size
        cli_ms = max(0.0, (median_cli(workdir, path, args.runs) - baseline) * 1000)
        proc_ms = in_process(workdir, path, args.runs) * 1000
        rate = size / 1e6 / (cli_ms / 1000) if cli_ms else float("inf")
        speedup = REFERENCE_MS[key] / cli_ms if cli_ms else float("inf")
        print(
            f"{labels[key]:<34}{size / 1e6:>8.2f}MB{cli_ms:>10.1f}{rate:>8.1f}{proc_ms:>12.1f}"
            f"{REFERENCE_MS[key]:>9.1f}{speedup:>9.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
