"""Fixtures and helpers of this folder live in ``detect_support`` (a unique module name:
several folders have a ``conftest``, so tests never import from ``conftest`` itself)."""

from detect_support import *  # noqa: F403
