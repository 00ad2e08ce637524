"""The hash-chained audit log: sanitize, seal, append, anchor, verify, report.

Every record is sanitized (no raw value, ever), sealed onto a SHA-256 hash chain in the
reference's ``json-stable-v1`` format, and appended as one JSONL line under an
inter-process lock; :func:`verify_audit_chain` detects edits, deletions, reordering and,
with an anchor, tail truncation. See ``docs/audit.md``.
"""

from haechi.audit.anchor import Anchor, FileAnchor, StdoutAnchor, anchor_for
from haechi.audit.chain import AuditChain
from haechi.audit.events import (
    iso_timestamp,
    new_event_id,
    payload_shape_hash,
    protect_event,
    proxy_decision_event,
    stream_decision_event,
)
from haechi.audit.report import read_audit_summary
from haechi.audit.sanitize import FORBIDDEN_KEYS, sanitize_event
from haechi.audit.verify import verify_audit_chain

__all__ = [
    "FORBIDDEN_KEYS",
    "Anchor",
    "AuditChain",
    "FileAnchor",
    "StdoutAnchor",
    "anchor_for",
    "iso_timestamp",
    "new_event_id",
    "payload_shape_hash",
    "protect_event",
    "proxy_decision_event",
    "read_audit_summary",
    "sanitize_event",
    "stream_decision_event",
    "verify_audit_chain",
]
