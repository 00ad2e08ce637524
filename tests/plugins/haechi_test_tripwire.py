"""Test-only plugin that marks its own import: the trust-gate tests check that a refused
entry point is never imported (this module never appears in ``sys.modules``)."""

from __future__ import annotations

from haechi import hookimpl

__all__ = ["TripwireDetector", "haechi_register_detectors"]


class TripwireDetector:
    NAME = "tripwire"
    TYPES = ("tripwire",)

    def rules(self) -> tuple:
        return ()


@hookimpl
def haechi_register_detectors(register):
    register(TripwireDetector)
