"""Offline scanning for ``haechi scan``: text, JSON or JSON-lines input, detections per
input line, never a value.

Scanning makes no decision and rewrites nothing, so it writes no audit event. A line of a
JSON-lines input that does not parse is scanned as plain text (and counted), so nothing in
the input escapes the scan.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import attrs

from haechi.detect.engine import DetectionEngine
from haechi.detect.precision import apply_precision
from haechi.errors import HaechiError, NestingTooDeep
from haechi.findings import Direction, Finding
from haechi.walk import walk_document

__all__ = ["LineReport", "ScanRecord", "ScanTotals", "read_records", "scan_records"]

_BATCH_LINES = 512


@attrs.frozen
class ScanRecord:
    """One unit of input: a JSON document or a line of text."""

    source: str
    line: int
    document: Any
    parsed: bool


@attrs.frozen
class LineReport:
    source: str
    line: int
    findings: tuple[Finding, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "detections": [
                {
                    "type": f.type,
                    "ruleId": f.rule_id,
                    "path": f.path_text,
                    "kind": f.kind,
                    "start": f.start,
                    "end": f.end,
                    "confidence": f.confidence,
                }
                for f in self.findings
            ],
        }


@attrs.define
class ScanTotals:
    records: int = 0
    records_with_findings: int = 0
    unparsed_lines: int = 0
    detections: int = 0
    by_type: Counter = attrs.field(factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "recordsWithFindings": self.records_with_findings,
            "unparsedLines": self.unparsed_lines,
            "detections": self.detections,
            "byType": dict(sorted(self.by_type.items())),
        }


def read_records(source: str, stream: IO[bytes], *, jsonl: bool) -> Iterator[ScanRecord]:
    """Records of one input. JSON-lines when ``jsonl``; otherwise the whole input as one
    JSON document if it parses, else one text record per line. Bytes that are not UTF-8
    are decoded with replacement characters (the scan still sees every other byte)."""
    if jsonl:
        for number, raw in enumerate(stream, start=1):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.strip():
                continue
            try:
                yield ScanRecord(source, number, json.loads(line), True)
            except (ValueError, RecursionError):
                yield ScanRecord(source, number, line, False)
        return
    data = stream.read().decode("utf-8", "replace")
    try:
        yield ScanRecord(source, 1, json.loads(data), True)
        return
    except (ValueError, RecursionError):
        pass
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield ScanRecord(source, number, line, True)


def scan_records(
    records: Iterable[ScanRecord],
    engine: DetectionEngine,
    *,
    direction: Direction,
    max_depth: int,
    allowlist: Sequence[tuple[str | None, str | None]] = (),
    min_confidence: float = 0.0,
    totals: ScanTotals,
) -> Iterator[LineReport]:
    """Scan records in batches (one engine call per batch); yield a report per record."""
    batch: list[ScanRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= _BATCH_LINES:
            yield from _scan_batch(batch, engine, direction, max_depth, allowlist,
                                   min_confidence, totals)
            batch = []
    if batch:
        yield from _scan_batch(batch, engine, direction, max_depth, allowlist,
                               min_confidence, totals)


def _leaves(record: ScanRecord, max_depth: int) -> list:
    try:
        return walk_document(record.document, max_depth=max_depth).leaves
    except NestingTooDeep as exc:
        raise HaechiError(f"{record.source}:{record.line}: {exc}") from None


def _scan_batch(
    batch: list[ScanRecord],
    engine: DetectionEngine,
    direction: Direction,
    max_depth: int,
    allowlist: Sequence[tuple[str | None, str | None]],
    min_confidence: float,
    totals: ScanTotals,
) -> Iterator[LineReport]:
    leaves_per_record = [_leaves(r, max_depth) for r in batch]
    texts = [leaf.text for leaves in leaves_per_record for leaf in leaves]
    results = iter(engine.scan_many(texts, direction))
    for record, leaves in zip(batch, leaves_per_record, strict=True):
        findings = [
            Finding.place(match, leaf.path_text, leaf.kind)
            for leaf in leaves
            for match in next(results)
        ]
        kept = tuple(apply_precision(findings, allowlist, min_confidence).kept)
        totals.records += 1
        totals.unparsed_lines += not record.parsed
        if kept:
            totals.records_with_findings += 1
            totals.detections += len(kept)
            totals.by_type.update(f.type for f in kept)
        yield LineReport(record.source, record.line, kept)
