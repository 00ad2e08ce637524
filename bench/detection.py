"""Detection benchmark: precision/recall per type on the labeled corpus, and throughput.

Run: ``.venv/bin/python bench/detection.py [--mb 4] [--runs 5]``

The corpus is ``tests/fixtures/detection-corpus.json`` (regenerate it with
``tests/fixtures/generate_detection_corpus.py``). A detection counts as a true positive
when a label of the same type and value is still unmatched in its case; every other
detection is a false positive of its type, every unmatched label a false negative.

Throughput scans seeded chat-style text (2 KB messages with emails, phones and IBANs
sprinkled in) with all built-in rules through ``scan_many``, the pipeline's entry point,
and reports the median of several runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "haechi-core" / "src"))

from haechi.detect import DetectionEngine  # noqa: E402
from haechi.detect.builtin import BUILTIN_RULES, BuiltinDetector  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "detection-corpus.json"
_CHAT_WORDS = (
    "the a to and of please can you summarize this meeting notes project timeline "
    "budget review draft email customer support order shipped tomorrow thanks "
    "회의 내용을 요약해 주세요 고객 문의 감사합니다 version 2.4.1 at 2024-05-01 step 3"
)


def score_corpus(engine: DetectionEngine, cases: list[dict]) -> dict[str, dict[str, float]]:
    """Per-type ``tp``, ``fp``, ``fn``, ``precision`` and ``recall``."""
    counts: dict[str, Counter[str]] = {t: Counter() for t in BuiltinDetector.TYPES}
    for case in cases:
        expected = Counter((label["type"], label["value"]) for label in case["labels"])
        for match in engine.scan(case["text"], case["direction"]):
            key = (match.type, match.value)
            bucket = counts.setdefault(match.type, Counter())
            if expected[key] > 0:
                expected[key] -= 1
                bucket["tp"] += 1
            else:
                bucket["fp"] += 1
        for (type_name, _), missing in expected.items():
            counts.setdefault(type_name, Counter())["fn"] += missing
    table: dict[str, dict[str, float]] = {}
    for type_name, c in counts.items():
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        table[type_name] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
        }
    return table


def load_corpus() -> list[dict]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))


def chat_messages(total_bytes: int, seed: int = 7) -> list[str]:
    """Seeded chat-style messages of about 2 KB with PII sprinkled in."""
    rnd = random.Random(seed)
    words = _CHAT_WORDS.split()
    messages: list[str] = []
    size = 0
    while size < total_bytes:
        message = [rnd.choice(words) for _ in range(330)]
        roll = rnd.random()
        if roll < 0.2:
            message.insert(40, f"{rnd.choice(string.ascii_lowercase) * 5}.kim@example.com")
        elif roll < 0.35:
            message.insert(90, f"010-{rnd.randint(1000, 9999)}-{rnd.randint(1000, 9999)}")
        elif roll < 0.4:
            message.insert(150, "DE89370400440532013000")
        text = " ".join(message)
        messages.append(text)
        size += len(text.encode())
    return messages


def throughput(engine: DetectionEngine, messages: list[str], runs: int) -> tuple[float, float]:
    """Median seconds per ``scan_many`` call and the resulting MB/s."""
    total = sum(len(m.encode()) for m in messages)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        engine.scan_many(messages, "request")
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    return median, total / median / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="chat text size (MB)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = DetectionEngine(BUILTIN_RULES)
    table = score_corpus(engine, load_corpus())
    print(f"{'type':<20}{'tp':>6}{'fp':>6}{'fn':>6}{'precision':>11}{'recall':>9}")
    for type_name, row in table.items():
        print(
            f"{type_name:<20}{row['tp']:>6}{row['fp']:>6}{row['fn']:>6}"
            f"{row['precision']:>11.4f}{row['recall']:>9.4f}"
        )
    messages = chat_messages(int(args.mb * 1_000_000))
    seconds, rate = throughput(engine, messages, args.runs)
    print(
        f"\nthroughput: {len(messages)} messages, {sum(map(len, messages)) / 1e6:.2f} M chars, "
        f"median {seconds * 1000:.1f} ms per scan_many -> {rate:.1f} MB/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
