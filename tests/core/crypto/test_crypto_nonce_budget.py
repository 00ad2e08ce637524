from __future__ import annotations

import json
import multiprocessing
import os
import stat
import warnings
from pathlib import Path

import pytest
from haechi.crypto import nonce_budget
from haechi.crypto.local import LocalCryptoProvider
from haechi.crypto.nonce_budget import (
    NONCE_LIMIT,
    NONCE_WINDOW,
    NonceBudgetNotPersistedWarning,
    NonceBudgetWarning,
    read_nonce_budget,
)
from haechi.errors import CryptoError

AAD = {"purpose": "budget"}


def _usage(path: Path) -> int:
    return json.loads(path.read_text())["keys"][0]["usage"]


def _set_usage(path: Path, usage: int) -> None:
    document = json.loads(path.read_text())
    document["keys"][0]["usage"] = usage
    path.write_text(json.dumps(document, indent=2) + "\n")


def test_window_is_persisted_before_use_and_survives_a_crash(key_path: Path) -> None:
    first = LocalCryptoProvider(key_path)
    first.encrypt(b"a", AAD)
    assert _usage(key_path) == NONCE_WINDOW  # reserved before the first IV was drawn
    first.encrypt(b"b", AAD)
    assert _usage(key_path) == NONCE_WINDOW  # one write per window, not per encryption
    assert first.nonce_budget()["used"] == 2
    # "crash": the first instance is gone without any shutdown hook; a new one must
    # start after everything the dead one could have used
    restarted = LocalCryptoProvider(key_path)
    assert restarted.nonce_budget()["used"] == NONCE_WINDOW
    restarted.encrypt(b"c", AAD)
    assert _usage(key_path) == 2 * NONCE_WINDOW
    assert restarted.nonce_budget()["used"] == NONCE_WINDOW + 1


def test_warning_once_at_half_budget(key_path: Path) -> None:
    _set_usage(key_path, 2**31 - 1)
    provider = LocalCryptoProvider(key_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        provider.encrypt(b"below", AAD)
        assert caught == []
        for _ in range(3):
            provider.encrypt(b"at or above", AAD)
    budget_warnings = [w for w in caught if issubclass(w.category, NonceBudgetWarning)]
    assert len(budget_warnings) == 1
    assert "HAECHI_NONCE_BUDGET" in str(budget_warnings[0].message)
    assert NonceBudgetWarning.code == "HAECHI_NONCE_BUDGET"


def test_exhaustion_refuses_before_encrypting(key_path: Path) -> None:
    _set_usage(key_path, NONCE_LIMIT - 1)
    provider = LocalCryptoProvider(key_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonceBudgetWarning)
        provider.encrypt(b"last one", AAD)
    kid = provider.active_kid
    expected = (
        f"local AES-256-GCM key {kid} reached its safe encryption limit (4294967296); "
        "rotate the key with 'haechi init --force' before encrypting more"
    )
    with pytest.raises(CryptoError) as caught:
        provider.encrypt(b"one too many", AAD)
    assert str(caught.value) == expected
    assert _usage(key_path) == NONCE_LIMIT
    with pytest.raises(CryptoError, match=r"safe encryption limit"):
        LocalCryptoProvider(key_path).encrypt(b"after restart", AAD)
    assert read_nonce_budget(key_path)["exhausted"] is True


def test_rotation_gives_a_fresh_budget(key_path: Path) -> None:
    from haechi.crypto.keyfile import rotate_key_file

    _set_usage(key_path, NONCE_LIMIT)
    rotate_key_file(key_path)
    provider = LocalCryptoProvider(key_path)
    provider.encrypt(b"fresh", AAD)
    assert provider.nonce_budget()["used"] == 1


def test_read_only_key_file_counts_per_process(
    key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_usage(key_path, NONCE_LIMIT - 2)
    before = key_path.read_bytes()
    if os.geteuid() == 0:  # root ignores file modes: make the write itself fail

        def refuse(*args: object, **kwargs: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(nonce_budget, "reserve_key_usage", refuse)
    else:
        os.chmod(key_path, stat.S_IRUSR)
        os.chmod(key_path.parent, stat.S_IRUSR | stat.S_IXUSR)
    try:
        provider = LocalCryptoProvider(key_path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            provider.encrypt(b"1", AAD)
            provider.encrypt(b"2", AAD)
            with pytest.raises(CryptoError, match=r"safe encryption limit"):
                provider.encrypt(b"3", AAD)
        nopersist = [w for w in caught if issubclass(w.category, NonceBudgetNotPersistedWarning)]
        assert len(nopersist) == 1
        assert "HAECHI_NONCE_BUDGET_NOPERSIST" in str(nopersist[0].message)
        assert key_path.read_bytes() == before
    finally:
        os.chmod(key_path.parent, stat.S_IRWXU)
        os.chmod(key_path, stat.S_IRUSR | stat.S_IWUSR)


def test_read_nonce_budget_fields(key_path: Path) -> None:
    _set_usage(key_path, 2**31)
    budget = read_nonce_budget(key_path)
    assert budget == {
        "kid": json.loads(key_path.read_text())["keys"][0]["kid"],
        "used": 2**31,
        "limit": NONCE_LIMIT,
        "remaining": 2**31,
        "usedFraction": 0.5,
        "warnThreshold": 2**31,
        "exhausted": False,
    }


def _encrypt_once(path: str) -> None:
    LocalCryptoProvider(path).encrypt(b"x", AAD)


def test_concurrent_processes_never_share_a_window(key_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        pool.map(_encrypt_once, [str(key_path)] * 8)
    assert _usage(key_path) == 8 * NONCE_WINDOW
