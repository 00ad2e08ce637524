"""The detections of a whole stream, summed from the summaries of its protect calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = ["DetectionTally"]


class DetectionTally:
    """Adds up protect summaries (``detectionCount``, ``byType``, ``byAction`` and the
    optional suppressed/dropped counts) into one summary for the stream audit event."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter(detectionCount=0)
        self._by: dict[str, Counter[str]] = {"byType": Counter(), "byAction": Counter()}

    def add(self, summary: Mapping[str, Any]) -> None:
        for key, value in summary.items():
            if isinstance(value, Mapping):
                self._by.setdefault(key, Counter()).update(value)
            else:
                self._counts[key] += value

    def as_dict(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"detectionCount": self._counts["detectionCount"],
                                   "byType": dict(self._by["byType"]),
                                   "byAction": dict(self._by["byAction"])}
        for key, value in self._counts.items():
            summary.setdefault(key, value)
        for key, counts in self._by.items():
            summary.setdefault(key, dict(counts))
        return summary
