from __future__ import annotations

import pytest
from haechi.detect import DetectionEngine
from haechi.detect.builtin import BUILTIN_RULES


@pytest.fixture(scope="session")
def engine() -> DetectionEngine:
    return DetectionEngine(BUILTIN_RULES)


def found(engine: DetectionEngine, text: str, direction: str = "request") -> list[tuple[str, str]]:
    """(type, value) of every detection."""
    return [(m.type, m.value) for m in engine.scan(text, direction)]
