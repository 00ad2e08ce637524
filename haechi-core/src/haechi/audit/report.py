"""``haechi report``: totals over every line of an audit log, streaming."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from haechi.audit.sanitize import is_count
from haechi.errors import HaechiError

__all__ = ["read_audit_summary"]


def read_audit_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{events, blocked, detections, byType, byAction}`` summed over every record of
    the log (protect, proxy-decision, stream and vault events alike). A missing file
    gives zeros; a line that is not a JSON object raises :class:`HaechiError`."""
    path = os.fspath(path)
    totals: dict[str, Any] = {
        "events": 0,
        "blocked": 0,
        "detections": 0,
        "byType": {},
        "byAction": {},
    }
    try:
        log = open(path, "rb")  # noqa: SIM115 - closed by the with block below
    except FileNotFoundError:
        return totals
    with log:
        for line_number, line in enumerate(log, 1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                raise HaechiError(
                    f"Audit log {path} line {line_number} is not a JSON record; "
                    "run 'haechi audit-verify'."
                )
            _add(totals, record)
    return totals


def _add(totals: dict[str, Any], record: Mapping[str, Any]) -> None:
    totals["events"] += 1
    if record.get("blocked") is True:
        totals["blocked"] += 1
    summary = record.get("summary")
    if not isinstance(summary, Mapping):
        return
    if is_count(summary.get("detectionCount")):
        totals["detections"] += summary["detectionCount"]
    for name in ("byType", "byAction"):
        counts = summary.get(name)
        if isinstance(counts, Mapping):
            for key, count in counts.items():
                if is_count(count):
                    totals[name][key] = totals[name].get(key, 0) + count
