from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from haechi.audit import AuditChain, FileAnchor

#: Raw values that must never reach an audit file, a log line or an error message.
RAW_EMAIL = "jane.doe+audit@example.com"
RAW_CARD = "4111111111111111"
RAW_SECRET = "sk_live_51Hxq9ZRAWSECRETVALUE"


def sample_event(index: int = 0, **extra: Any) -> dict[str, Any]:
    """A protect-like event with a summary that counts a secret."""
    return {
        "schemaVersion": "1",
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "timestamp": "2024-05-01T12:00:00.000Z",
        "protocol": "openai-compatible",
        "operation": "cli protect",
        "mode": "enforce",
        "enforced": True,
        "blocked": index % 3 == 0,
        "detections": [
            {
                "type": "secret",
                "ruleId": "secret.generic",
                "path": "key_abc",
                "kind": "value",
                "confidence": 0.9,
                "action": "block",
                "enforced": True,
            },
            {
                "type": "email",
                "ruleId": "email.rfc",
                "path": "key_def",
                "kind": "value",
                "confidence": 1.0,
                "action": "redact",
                "enforced": True,
            },
        ],
        "summary": {
            "detectionCount": 2,
            "byType": {"secret": 1, "email": 1},
            "byAction": {"block": 1, "redact": 1},
        },
        "note": f"événement {index}",
        **extra,
    }


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"


@pytest.fixture
def anchor_path(tmp_path: Path) -> Path:
    return tmp_path / "anchors" / "audit.anchor.jsonl"


@pytest.fixture
def write_chain(log_path: Path, anchor_path: Path) -> Callable[..., Path]:
    """Write ``count`` sample records (anchored every record when ``anchored``)."""

    def write(count: int, *, anchored: bool = False) -> Path:
        chain = AuditChain(log_path, anchor=FileAnchor(anchor_path) if anchored else None)
        for index in range(count):
            chain.record(sample_event(index))
        chain.close()
        return log_path

    return write
