"""Precision and recall of the built-in rules on the labeled corpus (no timing)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _bench_module():
    spec = importlib.util.spec_from_file_location(
        "bench_detection", ROOT / "bench" / "detection.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table(engine):
    bench = _bench_module()
    return bench.score_corpus(engine, bench.load_corpus())


def test_corpus_is_big_enough():
    cases = json.loads((ROOT / "tests" / "fixtures" / "detection-corpus.json").read_text("utf-8"))
    per_type: dict[str, int] = {}
    for case in cases:
        for label in case["labels"]:
            per_type[label["type"]] = per_type.get(label["type"], 0) + 1
    assert len(per_type) == 18
    assert min(per_type.values()) >= 100
    assert sum(1 for case in cases if not case["labels"]) >= 1000


def test_precision_and_recall_per_type(table):
    weak = {t: row for t, row in table.items() if row["precision"] < 0.99 or row["recall"] < 0.99}
    assert weak == {}


def test_generator_is_deterministic():
    spec = importlib.util.spec_from_file_location(
        "corpus_gen", ROOT / "tests" / "fixtures" / "generate_detection_corpus.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = json.loads((ROOT / "tests" / "fixtures" / "detection-corpus.json").read_text("utf-8"))
    assert module.build() == stored
