"""Precision controls (spec §3): the allowlist, then ``filters.minConfidence``.

Neither ever touches a hard-block type (:data:`haechi.findings.HARD_BLOCK_TYPES`): an
operator cannot allowlist a card number or a secret away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

from haechi.findings import HARD_BLOCK_TYPES, Finding

__all__ = ["PrecisionFilter", "PrecisionResult", "Verdict", "apply_precision"]

AllowlistEntry = tuple[str | None, str | None]
Verdict = Literal["kept", "suppressed", "dropped"]


@attrs.frozen(slots=True)
class PrecisionResult:
    """Findings kept, and per-type counts of those the allowlist suppressed and
    ``minConfidence`` dropped (only types with a count above zero appear)."""

    kept: tuple[Finding, ...]
    suppressed_by_type: Mapping[str, int]
    dropped_by_type: Mapping[str, int]


class PrecisionFilter:
    """The precision controls of one configuration, decided per finding.

    :param allowlist: ``(value, path_text)`` pairs; a None field matches anything, an
        entry with both must match both, and an entry with neither matches nothing.
    :param min_confidence: findings below it are dropped.
    """

    __slots__ = ("_allowlist", "_min_confidence")

    def __init__(self, allowlist: Sequence[AllowlistEntry], min_confidence: float) -> None:
        self._allowlist = tuple(
            (value, path_text) for value, path_text in allowlist
            if value is not None or path_text is not None
        )
        self._min_confidence = min_confidence

    def verdict(self, finding: Finding) -> Verdict:
        """``"kept"``, ``"suppressed"`` (allowlisted) or ``"dropped"`` (below the floor)."""
        if finding.type in HARD_BLOCK_TYPES:
            return "kept"
        if self._allowlist and self._allowlisted(finding):
            return "suppressed"
        if finding.confidence < self._min_confidence:
            return "dropped"
        return "kept"

    def _allowlisted(self, finding: Finding) -> bool:
        for value, path_text in self._allowlist:
            if value is not None and value != finding.value:
                continue
            if path_text is not None and path_text != finding.path_text:
                continue
            return True
        return False


def apply_precision(
    findings: Sequence[Finding],
    allowlist: Sequence[AllowlistEntry],
    min_confidence: float,
) -> PrecisionResult:
    """Apply the allowlist (``(value, path_text)`` pairs; a None field matches anything,
    an entry with both must match both) and then the confidence floor."""
    controls = PrecisionFilter(allowlist, min_confidence)
    kept: list[Finding] = []
    suppressed: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for finding in findings:
        verdict = controls.verdict(finding)
        if verdict == "kept":
            kept.append(finding)
        elif verdict == "suppressed":
            suppressed[finding.type] += 1
        else:
            dropped[finding.type] += 1
    return PrecisionResult(tuple(kept), dict(suppressed), dict(dropped))
