from __future__ import annotations

from pathlib import Path

import pytest
from haechi.crypto.keyfile import create_key_file
from haechi.crypto.local import LocalCryptoProvider


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "dev.keys.json"
    create_key_file(path)
    return path


@pytest.fixture
def provider(key_path: Path) -> LocalCryptoProvider:
    return LocalCryptoProvider(key_path)
