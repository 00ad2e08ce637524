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

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import attrs

from haechi.actions.services import ActionServices
from haechi.audit.events import protect_event
from haechi.detect.engine import DetectionEngine
from haechi.detect.precision import PrecisionFilter
from haechi.findings import Direction, Finding, Match
from haechi.walk import Leaf, Walk, walk_document

__all__ = [
    "DecidedFinding",
    "Decision",
    "ProtectCall",
    "ProtectContext",
    "ProtectResult",
    "Protector",
]

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
class Decision:
    """What :meth:`Protector.decide` concluded: the kept findings in document order,
    the same grouped by leaf (for the transform) and the summary of the audit event."""

    findings: tuple[DecidedFinding, ...]
    by_leaf: tuple[tuple[Leaf, list[DecidedFinding]], ...]
    summary: dict[str, Any]


class ProtectCall(NamedTuple):
    """The arguments of one :meth:`Protector.assess` call, for :meth:`Protector.assess_many`."""

    document: Any
    context: ProtectContext
    policy: Any
    scan_numbers: bool = True
    services: ActionServices | None = None
    audit: bool = True


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
        self._blocking = frozenset(name for name, action in actions.items() if action.BLOCKS)
        self._audit = audit
        self._services = services
        self._precision = PrecisionFilter(allowlist, min_confidence)
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
        result, event = self.assess(document, context, policy, scan_numbers=scan_numbers,
                                    services=services, audit=audit)
        if event is not None:
            self._audit.record(event)
        return result

    def assess(
        self,
        document: Any,
        context: ProtectContext,
        policy: Any,
        *,
        scan_numbers: bool = True,
        services: ActionServices | None = None,
        audit: bool = True,
    ) -> tuple[ProtectResult, dict[str, Any] | None]:
        """:meth:`protect` without the audit write: the result and its protect event,
        which the caller must record before it acts on the result (the result's
        ``audit_id`` is the event's id). With ``audit=False`` the event is None."""
        outcome = self.assess_many(
            [ProtectCall(document, context, policy, scan_numbers, services, audit)])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def assess_many(
        self, calls: Sequence[ProtectCall]
    ) -> list[tuple[ProtectResult, dict[str, Any] | None] | Exception]:
        """:meth:`assess` for several calls: per call, its result and event, or the
        exception that stopped it (which stops no other call).

        The calls go through each phase together — every walk, then one engine pass per
        direction over the texts of all of them, then every decision, event and
        transform — so each phase's code runs back to back (see
        :mod:`haechi.proxy.batching`, which collects the calls of concurrent requests).
        The engine's results per text do not depend on the other texts of a pass.
        """
        outcomes: list[Any] = [None] * len(calls)
        walks: dict[int, Walk] = {}
        for index, call in enumerate(calls):
            try:
                walks[index] = self.walk(call.document, call.context.direction,
                                         scan_numbers=call.scan_numbers)
            except Exception as exc:
                outcomes[index] = exc
        matches = self._scan_walks(calls, walks, outcomes)
        for index, found in matches.items():
            call = calls[index]
            try:
                outcomes[index] = self._conclude(call, walks[index], found)
            except Exception as exc:
                outcomes[index] = exc
        return outcomes

    def _scan_walks(
        self, calls: Sequence[ProtectCall], walks: Mapping[int, Walk], outcomes: list[Any]
    ) -> dict[int, Sequence[Sequence[Match]]]:
        """The engine's matches for each walked call, one engine pass per direction. When
        a pass fails (a detector plugin raised), its calls are scanned one by one so the
        failure stays with the call that caused it."""
        by_direction: dict[str, list[int]] = {}
        for index in walks:
            by_direction.setdefault(calls[index].context.direction, []).append(index)
        matches: dict[int, Sequence[Sequence[Match]]] = {}
        for direction, indexes in by_direction.items():
            try:
                found = self._engine.scan_many(
                    [text for index in indexes for text in walks[index].texts], direction)
            except Exception:
                found = None
            position = 0
            for index in indexes:
                count = len(walks[index].texts)
                if found is not None:
                    matches[index] = found[position:position + count]
                    position += count
                    continue
                try:
                    matches[index] = self._engine.scan_many(walks[index].texts, direction)
                except Exception as exc:
                    outcomes[index] = exc
        return dict(sorted(matches.items()))

    def _conclude(
        self, call: ProtectCall, walk: Walk, matches: Sequence[Sequence[Match]]
    ) -> tuple[ProtectResult, dict[str, Any] | None]:
        """Decide, build the event and transform one call's document."""
        context = call.context
        decision = self.decide(walk, matches, call.policy)
        enforced = context.mode == "enforce"
        blocked = enforced and not self._blocking.isdisjoint(decision.summary["byAction"])

        # The event is built before the transform rewrites the document in place.
        event = self.event(context, enforced, blocked, walk, decision) if call.audit else None
        payload = call.document
        if blocked:
            payload = None
        elif enforced and decision.by_leaf:
            payload = self.transform(call.document, decision.by_leaf,
                                     call.services or self._services(context))
        result = ProtectResult(
            payload=payload,
            mode=context.mode,
            enforced=enforced,
            blocked=blocked,
            findings=decision.findings,
            summary=decision.summary,
            audit_id=event["id"] if event is not None else None,
        )
        return result, event

    # The phases of protect(), public so that bench/protect.py can time each one.

    def walk(self, document: Any, direction: Direction, *, scan_numbers: bool = True) -> Walk:
        """Phase 4a: the leaves and shape of ``document`` (number leaves are scanned on
        the request direction, and on the response direction only with ``scan_numbers``)."""
        return walk_document(document, max_depth=self._max_depth,
                             include_numbers=scan_numbers or direction == "request")

    def decide(self, walk: Walk, matches: Sequence[Sequence[Match]], policy: Any) -> Decision:
        """Phases 5 and 6: place each match of ``matches`` (one list per walked text) in
        the document, apply the precision controls and pick the policy's action."""
        verdict = self._precision.verdict
        action_for = policy.action_for
        by_leaf: list[tuple[Leaf, list[DecidedFinding]]] = []
        findings: list[DecidedFinding] = []
        by_type: dict[str, int] = {}
        by_action: dict[str, int] = {}
        suppressed: dict[str, int] = {}
        dropped: dict[str, int] = {}
        for index, leaf_matches in enumerate(matches):
            if not leaf_matches:
                continue
            leaf = walk.leaf(index)
            path_text = leaf.path_text
            kind = leaf.kind
            leaf_findings: list[DecidedFinding] = []
            for match in leaf_matches:
                finding = Finding.place(match, path_text, kind)
                detected_type = finding.type
                outcome = verdict(finding)
                if outcome == "kept":
                    action = action_for(detected_type)
                    leaf_findings.append(DecidedFinding(finding, action))
                    by_type[detected_type] = by_type.get(detected_type, 0) + 1
                    by_action[action] = by_action.get(action, 0) + 1
                elif outcome == "suppressed":
                    suppressed[detected_type] = suppressed.get(detected_type, 0) + 1
                else:
                    dropped[detected_type] = dropped.get(detected_type, 0) + 1
            if leaf_findings:
                by_leaf.append((leaf, leaf_findings))
                findings.extend(leaf_findings)
        summary: dict[str, Any] = {
            "detectionCount": len(findings),
            "byType": by_type,
            "byAction": by_action,
        }
        if suppressed:
            summary["suppressedCount"] = sum(suppressed.values())
            summary["suppressedByType"] = suppressed
        if dropped:
            summary["droppedCount"] = sum(dropped.values())
            summary["droppedByType"] = dropped
        return Decision(tuple(findings), tuple(by_leaf), summary)

    @staticmethod
    def event(
        context: ProtectContext,
        enforced: bool,
        blocked: bool,
        walk: Walk,
        decision: Decision,
    ) -> dict[str, Any]:
        """Phase 8a: the protect event (kind A) of a decision."""
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
                for d in decision.findings
            ],
            summary=decision.summary,
        )

    def transform(
        self,
        document: Any,
        by_leaf: Sequence[tuple[Leaf, list[DecidedFinding]]],
        services: ActionServices,
    ) -> Any:
        """Phase 7: rewrite ``document`` in place (values first, then keys deepest
        first) and return it (a bare string document is returned rewritten)."""
        key_edits = []
        for leaf, findings in by_leaf:
            if leaf.kind == "key":
                key_edits.append((leaf, findings))
                continue
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
