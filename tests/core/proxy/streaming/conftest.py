"""Fixtures and helpers of this folder live in ``streaming_support`` (a unique module name:
several folders have a ``conftest``, so tests never import from ``conftest`` itself)."""

from streaming_support import *  # noqa: F403
