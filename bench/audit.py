"""Audit chain throughput and the O(1) append claim.

    .venv/bin/python bench/audit.py [--records 100000]

Prints appends per second for one process and for four processes sharing one log, and,
on a log of ``--records`` lines, the time of the 100th and the 10,000th append of a
writer (each the median of the 100 appends ending there): equal figures mean an append
does not depend on the file's length. Also prints the one-off cost of reading the head
from the end of the big file and the verify rate.
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

from haechi.audit import AuditChain, verify_audit_chain

EVENT = {
    "schemaVersion": "1",
    "id": "00000000-0000-4000-8000-000000000000",
    "timestamp": "2024-05-01T12:00:00.000Z",
    "protocol": "openai-compatible",
    "operation": "request:POST chat.completions",
    "mode": "enforce",
    "enforced": True,
    "blocked": False,
    "payloadShapeHash": "0123456789ab",
    "detections": [
        {"type": "email", "ruleId": "email", "path": "key_0123456789ab[0]", "kind": "value",
         "confidence": 0.9, "action": "redact", "enforced": True},
    ],
    "summary": {"detectionCount": 1, "byType": {"email": 1}, "byAction": {"redact": 1}},
}  # fmt: skip

WRITER = """
import json, sys
from haechi.audit import AuditChain
chain, event = AuditChain(sys.argv[1], lock_timeout=120), json.loads(sys.argv[3])
for _ in range(int(sys.argv[2])):
    chain.record(event)
"""


def appends_per_second_one_process(path: Path, count: int) -> float:
    chain = AuditChain(path)
    start = time.perf_counter()
    for _ in range(count):
        chain.record(EVENT)
    return count / (time.perf_counter() - start)


def appends_per_second_four_processes(path: Path, count_each: int) -> float:
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", WRITER, str(path), str(count_each), json.dumps(EVENT)]
    # Start-up (interpreter + imports) is measured separately and subtracted.
    start = time.perf_counter()
    subprocess.run([*command[:3], str(path.with_suffix(".warm")), "0", "{}"], check=True)
    startup = time.perf_counter() - start
    start = time.perf_counter()
    writers = [subprocess.Popen(command) for _ in range(4)]
    if any(writer.wait() for writer in writers):
        raise SystemExit("a writer failed")
    elapsed = time.perf_counter() - start - startup
    result = verify_audit_chain(path)
    assert result["valid"] and result["records"] == 4 * count_each, result
    return 4 * count_each / elapsed


def append_times_on_a_big_log(path: Path, records: int) -> dict[str, float]:
    filler = AuditChain(path)
    for _ in range(records):
        filler.record(EVENT)
    filler.close()

    writer = AuditChain(path)
    timings = []
    for _ in range(10_000):
        start = time.perf_counter()
        writer.record(EVENT)
        timings.append(time.perf_counter() - start)
    return {
        "first append (reads the head from the end)": timings[0],
        "100th append (median of appends 1..100)": statistics.median(timings[:100]),
        "10,000th append (median of 9,901..10,000)": statistics.median(timings[9900:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one = appends_per_second_one_process(root / "one" / "audit.jsonl", args.appends)
        print(f"1 process : {one:10,.0f} appends/s ({args.appends:,} appends)")
        four = appends_per_second_four_processes(root / "four" / "audit.jsonl", args.appends // 4)
        print(
            f"4 processes: {four:10,.0f} appends/s total ({args.appends:,} appends, "
            "one valid chain)"
        )

        big = root / "big" / "audit.jsonl"
        times = append_times_on_a_big_log(big, args.records)
        print(f"On a log of {args.records:,} lines:")
        for label, seconds in times.items():
            print(f"  {label:45s} {seconds * 1e6:9.1f} µs")
        start = time.perf_counter()
        result = verify_audit_chain(big)
        elapsed = time.perf_counter() - start
        print(
            f"verify_audit_chain: {result['records']:,} records in {elapsed:.2f} s "
            f"({result['records'] / elapsed:,.0f} records/s), valid={result['valid']}"
        )


if __name__ == "__main__":
    main()
