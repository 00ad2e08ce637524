"""Fixtures of the MCP tests (the helpers live in ``mcp_helpers.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp_helpers import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)
