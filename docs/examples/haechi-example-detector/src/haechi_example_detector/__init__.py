"""ACME employee IDs: ``EMP-`` followed by six digits and a Luhn check digit."""

from __future__ import annotations

from haechi import hookimpl
from haechi.detect import Rule

__all__ = ["EmployeeIdDetector", "haechi_register_detectors", "is_valid_employee_id"]


def is_valid_employee_id(text: str) -> bool:
    """Luhn over the seven digits after ``EMP-``."""
    digits = [int(ch) for ch in text[4:]]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


class EmployeeIdDetector:
    NAME = "example-employee-id"
    TYPES = ("employee_id",)

    def rules(self) -> tuple[Rule, ...]:
        return (
            Rule(
                id="acme-employee-id",
                type="employee_id",
                pattern=r"EMP-\d{7}",
                confidence=0.9,
                validator=is_valid_employee_id,
                not_preceded_by=r"\w-",
                not_followed_by=r"\w-",
            ),
        )


@hookimpl
def haechi_register_detectors(register):
    register(EmployeeIdDetector)
