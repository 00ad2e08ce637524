"""Fixtures and helpers of this folder live in ``audit_support`` (a unique module name:
several folders have a ``conftest``, so tests never import from ``conftest`` itself)."""

from audit_support import *  # noqa: F403
