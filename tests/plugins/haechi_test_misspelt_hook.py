"""Test-only plugin: implements ``haechi_register_detector`` (singular), a hook that does
not exist. ``check_pending()`` must refuse it at start-up."""

from __future__ import annotations

from haechi import hookimpl

__all__ = ["haechi_register_detector"]


@hookimpl
def haechi_register_detector(register):
    raise AssertionError("a misspelt hook is never called")
