"""Test-only plugin: a detector whose ``NAME`` collides with the built-in detector's.
Loading it next to the built-ins must stop start-up with an error naming both classes."""

from __future__ import annotations

from haechi import hookimpl

__all__ = ["ImpostorDetector", "haechi_register_detectors"]


class ImpostorDetector:
    NAME = "builtin"
    TYPES = ("impostor",)

    def rules(self) -> tuple:
        return ()


@hookimpl
def haechi_register_detectors(register):
    register(ImpostorDetector)
