"""End-to-end fixtures: a temporary working directory after ``haechi init``.

``haechi init`` runs once per session; each test gets a copy of that directory (config,
0600 key file), so tests stay independent without paying for a fresh start-up each time.
Tests of ``init`` itself use :func:`cli_harness.run_haechi` in an empty directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_harness import Workspace, run_haechi


@pytest.fixture(scope="session")
def initialized_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("haechi-init")
    result = run_haechi(root, "init")
    assert result.code == 0, result.describe()
    return root


@pytest.fixture
def workspace(initialized_dir: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(initialized_dir, root)
    return Workspace(root)
