"""Detection (spec §3): rules, validators, the linear-time engine, custom rules and
precision controls. Built-in rules live in :mod:`haechi.detect.builtin`."""

from haechi.detect.custom import check_custom_rule, custom_rule
from haechi.detect.engine import DetectionEngine, Scanner
from haechi.detect.precision import PrecisionResult, apply_precision
from haechi.detect.rules import Rule

__all__ = [
    "DetectionEngine",
    "PrecisionResult",
    "Rule",
    "Scanner",
    "apply_precision",
    "check_custom_rule",
    "custom_rule",
]
