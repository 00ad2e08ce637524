"""``protect()``: the one place a payload is inspected and rewritten.

Phases of a protected request, in order (the proxy and MCP layers call into this module for
the middle phases; they own the others):

1. auth -> 2. rate limit -> 3. read body (bounded)   [proxy, before any body byte is read]
4. detect: walk the document (:mod:`haechi.walk`) and scan every leaf in one engine batch
5. precision controls: allowlist, then ``filters.minConfidence`` (never hard-block types)
6. decide: the policy's action per finding; any blocking action blocks the whole payload
7. transform (``enforce`` only): values left to right, then keys deepest first
8. audit: one protect event (kind A) whatever the outcome
9. forward -> 10. response/stream protection -> 11. detokenize   [proxy/MCP]

In ``dry-run`` and ``report-only`` modes findings are detected, decided and audited, but the
payload is returned untouched. In ``enforce`` mode the document passed in is rewritten in
place (the caller owns the parsed document) and returned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs

from haechi.actions.services import ActionServices
from haechi.audit.events import protect_event
from haechi.detect.engine import DetectionEngine
from haechi.detect.precision import apply_precision
from haechi.findings import Direction, Finding
from haechi.walk import Leaf, Walk, walk_document

__all__ = ["DecidedFinding", "ProtectContext", "ProtectResult", "Protector"]

Mode = Literal["dry-run", "report-only", "enforce"]


@attrs.frozen
class ProtectContext:
    """Where a payload comes from. ``as_aad()`` is bound into every envelope and token
    record, so a token or ciphertext cannot be replayed into another context."""

    protocol: str
    operation: str
    direction: Direction
    mode: Mode
    correlation_id: str | None = None
    identity: Mapping[str, Any] | None = None
    profile: str | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def as_aad(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "operation": self.operation,
            "direction": self.direction,
            "mode": self.mode,
            **self.extra,
        }


@attrs.frozen
class DecidedFinding:
    finding: Finding
    action: str


@attrs.frozen
class ProtectResult:
    payload: Any
    mode: Mode
    enforced: bool
    blocked: bool
    findings: tuple[DecidedFinding, ...]
    summary: dict[str, Any]
    audit_id: str | None

    @property
    def changed(self) -> bool:
        return self.enforced and not self.blocked and any(
            d.action != "allow" for d in self.findings
        )


class Protector:
    """Detect, decide, transform and audit JSON documents and texts.

    :param engine: the detection engine built from every registered detector.
    :param actions: action instances by name.
    :param audit: the audit sink (``record(event) -> stored record``).
    :param services: builds the :class:`ActionServices` of one protect call.
    """

    def __init__(
        self,
        *,
        engine: DetectionEngine,
        actions: Mapping[str, Any],
        audit: Any,
        services: Callable[[ProtectContext], ActionServices],
        allowlist: Sequence[tuple[str | None, str | None]] = (),
        min_confidence: float = 0.0,
        max_depth: int = 256,
    ) -> None:
        self._engine = engine
        self._actions = actions
        self._audit = audit
        self._services = services
        self._allowlist = tuple(allowlist)
        self._min_confidence = min_confidence
        self._max_depth = max_depth

    def protect(
        self,
        document: Any,
        context: ProtectContext,
        policy: Any,
        *,
        scan_numbers: bool = True,
        services: ActionServices | None = None,
        audit: bool = True,
    ) -> ProtectResult:
        """Protect one JSON document (already parsed). Raises ``NestingTooDeep``.

        With ``audit=False`` no event is written and ``audit_id`` is None: the caller
        audits an aggregate instead (a stream writes one event for all its frames).
        """
        include_numbers = scan_numbers or context.direction == "request"
        walk = walk_document(document, max_depth=self._max_depth,
                             include_numbers=include_numbers)
        found = self._detect(walk, context.direction)
        precision = apply_precision(
            [finding for _, finding in found], self._allowlist, self._min_confidence
        )
        kept_ids = {id(f) for f in precision.kept}
        found = [(leaf, finding) for leaf, finding in found if id(finding) in kept_ids]

        decided = [(leaf, DecidedFinding(finding, policy.action_for(finding.type)))
                   for leaf, finding in found]
        enforced = context.mode == "enforce"
        blocked = enforced and any(self._actions[d.action].BLOCKS for _, d in decided)

        summary = _summary(decided, precision)
        # The event is built before the transform rewrites the document in place.
        event = self._event(context, enforced, blocked, walk, decided, summary) if audit else None
        payload = document
        if blocked:
            payload = None
        elif enforced and decided:
            payload = self._transform(document, decided, services or self._services(context))
        audit_id = self._audit.record(event)["id"] if event is not None else None
        return ProtectResult(
            payload=payload,
            mode=context.mode,
            enforced=enforced,
            blocked=blocked,
            findings=tuple(d for _, d in decided),
            summary=summary,
            audit_id=audit_id,
        )

    @staticmethod
    def _event(
        context: ProtectContext,
        enforced: bool,
        blocked: bool,
        walk: Walk,
        decided: list[tuple[Leaf, DecidedFinding]],
        summary: dict[str, Any],
    ) -> dict[str, Any]:
        return protect_event(
            context=context,
            enforced=enforced,
            blocked=blocked,
            shape_hash=walk.shape_hash,
            detections=[
                {
                    "type": d.finding.type,
                    "ruleId": d.finding.rule_id,
                    "path": d.finding.path_text,
                    "kind": d.finding.kind,
                    "confidence": d.finding.confidence,
                    "action": d.action,
                    "enforced": enforced,
                }
                for _, d in decided
            ],
            summary=summary,
        )

    def _detect(self, walk: Walk, direction: Direction) -> list[tuple[Leaf, Finding]]:
        found: list[tuple[Leaf, Finding]] = []
        for index, matches in enumerate(self._engine.scan_many(walk.texts, direction)):
            if matches:
                leaf = walk.leaf(index)
                path_text = leaf.path_text
                found.extend((leaf, Finding.place(m, path_text, leaf.kind)) for m in matches)
        return found

    def _transform(
        self,
        document: Any,
        decided: list[tuple[Leaf, DecidedFinding]],
        services: ActionServices,
    ) -> Any:
        by_leaf: dict[int, tuple[Leaf, list[DecidedFinding]]] = {}
        for leaf, d in decided:
            by_leaf.setdefault(id(leaf), (leaf, []))[1].append(d)
        value_edits = [entry for entry in by_leaf.values() if entry[0].kind != "key"]
        key_edits = [entry for entry in by_leaf.values() if entry[0].kind == "key"]

        for leaf, findings in value_edits:
            new_text = self._rewrite(leaf.text, findings, services)
            if new_text is None:
                continue
            if leaf.parent is None:
                document = new_text
            else:
                leaf.parent[leaf.slot] = new_text  # a number leaf becomes a string

        # Keys after values, deepest first, one rebuild per object.
        renames: dict[int, tuple[dict, dict[str, str]]] = {}
        for leaf, findings in sorted(key_edits, key=lambda e: -e[0].depth):
            new_key = self._rewrite(leaf.text, findings, services)
            if new_key is not None:
                renames.setdefault(id(leaf.parent), (leaf.parent, {}))[1][leaf.slot] = new_key
        for obj, mapping in renames.values():
            _rename_keys(obj, mapping)
        return document

    def _rewrite(
        self, text: str, findings: list[DecidedFinding], services: ActionServices
    ) -> str | None:
        """Apply replacements left to right; a span overlapping an earlier one is skipped."""
        parts: list[str] = []
        cursor = 0
        changed = False
        for d in sorted(findings, key=lambda d: (d.finding.start, -d.finding.end)):
            f = d.finding
            if f.start < cursor:
                continue
            replacement = self._actions[d.action].replacement(f, services)
            if replacement is None:
                continue
            parts.append(text[cursor:f.start])
            parts.append(replacement)
            cursor = f.end
            changed = True
        if not changed:
            return None
        parts.append(text[cursor:])
        return "".join(parts)


def _rename_keys(obj: dict, mapping: dict[str, str]) -> None:
    """Rename keys in place, keeping their order; a collision gets ``#2``, ``#3``, ..."""
    items = list(obj.items())
    obj.clear()
    taken = {key for key, _ in items if key not in mapping}
    for key, value in items:
        new_key = mapping.get(key, key)
        if key in mapping:
            candidate, n = new_key, 1
            while candidate in taken:
                n += 1
                candidate = f"{new_key}#{n}"
            new_key = candidate
            taken.add(new_key)
        obj[new_key] = value


def _summary(decided: list[tuple[Leaf, DecidedFinding]], precision: Any) -> dict[str, Any]:
    by_type = Counter(d.finding.type for _, d in decided)
    by_action = Counter(d.action for _, d in decided)
    summary: dict[str, Any] = {
        "detectionCount": len(decided),
        "byType": dict(by_type),
        "byAction": dict(by_action),
    }
    suppressed = dict(precision.suppressed_by_type)
    dropped = dict(precision.dropped_by_type)
    if suppressed:
        summary["suppressedCount"] = sum(suppressed.values())
        summary["suppressedByType"] = suppressed
    if dropped:
        summary["droppedCount"] = sum(dropped.values())
        summary["droppedByType"] = dropped
    return summary
