"""Precision controls (spec §3): the allowlist, then ``filters.minConfidence``.

Neither ever touches a hard-block type (:data:`haechi.findings.HARD_BLOCK_TYPES`): an
operator cannot allowlist a card number or a secret away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import attrs

from haechi.findings import HARD_BLOCK_TYPES, Finding

__all__ = ["PrecisionResult", "apply_precision"]

AllowlistEntry = tuple[str | None, str | None]


@attrs.frozen(slots=True)
class PrecisionResult:
    """Findings kept, and per-type counts of those the allowlist suppressed and
    ``minConfidence`` dropped (only types with a count above zero appear)."""

    kept: tuple[Finding, ...]
    suppressed_by_type: Mapping[str, int]
    dropped_by_type: Mapping[str, int]


def _allowlisted(finding: Finding, allowlist: Sequence[AllowlistEntry]) -> bool:
    for value, path_text in allowlist:
        if value is None and path_text is None:
            continue
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
    kept: list[Finding] = []
    suppressed: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    for finding in findings:
        if finding.type in HARD_BLOCK_TYPES:
            kept.append(finding)
        elif _allowlisted(finding, allowlist):
            suppressed[finding.type] += 1
        elif finding.confidence < min_confidence:
            dropped[finding.type] += 1
        else:
            kept.append(finding)
    return PrecisionResult(tuple(kept), dict(suppressed), dict(dropped))
