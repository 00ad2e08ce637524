from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from haechi.canonical import b64url_encode
from haechi.crypto.keyfile import (
    create_key_file,
    key_file_permissions,
    load_key_file,
    rotate_key_file,
)
from haechi.crypto.local import LocalCryptoProvider
from haechi.errors import CryptoError

KID_SHAPE = re.compile(r"local-\d{13}-[0-9a-f]{6}")


def _reference_shaped(path: Path, keys: list[dict]) -> None:
    document = {"version": 1, "createdAt": "2024-05-01T12:00:00.000Z", "keys": keys}
    path.write_text(json.dumps(document, indent=2) + "\n")


def _entry(kid: str, status: str = "active", raw: bytes = b"\x07" * 32, **extra: object) -> dict:
    return {
        "kid": kid,
        "kty": "oct",
        "alg": "AES-256-GCM",
        "status": status,
        "k": b64url_encode(raw),
        **extra,
    }


def test_created_file_has_reference_layout_and_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    key_file = create_key_file(path)
    document = json.loads(path.read_text())
    assert set(document) == {"version", "createdAt", "keys"}
    assert document["version"] == 1
    [entry] = document["keys"]
    assert KID_SHAPE.fullmatch(entry["kid"])
    assert {k: entry[k] for k in ("kty", "alg", "status", "usage")} == {
        "kty": "oct",
        "alg": "AES-256-GCM",
        "status": "active",
        "usage": 0,
    }
    assert len(key_file.active.key) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert key_file_permissions(path) == "0600"
    assert path.read_text().endswith("}\n")  # JSON.stringify(doc, null, 2) + "\n"


def test_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    create_key_file(path)
    before = path.read_bytes()
    with pytest.raises(CryptoError, match=r"already exists"):
        create_key_file(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_permissions_helper_reports_actual_octal(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    create_key_file(path)
    os.chmod(path, 0o644)
    assert key_file_permissions(path) == "0644"
    assert key_file_permissions(tmp_path / "absent.json") is None


def test_hand_written_reference_key_file_loads_and_decrypts(tmp_path: Path) -> None:
    path = tmp_path / "ref.json"
    _reference_shaped(
        path, [_entry("local-1714564800000-abcdef")]
    )  # no "usage": older reference files
    key_file = load_key_file(path, require_active=True)
    assert key_file.active.kid == "local-1714564800000-abcdef"
    assert key_file.active.usage is None
    provider = LocalCryptoProvider(path)
    envelope = provider.encrypt(b"value", {"a": 1})
    assert provider.decrypt(envelope, {"a": 1}) == b"value"
    # encrypting persisted a usage count without disturbing the other fields
    entry = json.loads(path.read_text())["keys"][0]
    assert entry["usage"] == 2**20
    assert {k: entry[k] for k in ("kid", "kty", "alg", "status", "k")} == {
        k: _entry("local-1714564800000-abcdef")[k] for k in ("kid", "kty", "alg", "status", "k")
    }


@pytest.mark.parametrize("raw", [b"\x01" * 16, b"\x01" * 31, b"\x01" * 33, b""])
def test_key_must_be_32_bytes(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "k.json"
    _reference_shaped(path, [_entry("a", raw=raw)])
    with pytest.raises(CryptoError, match=r"^AES-256-GCM local key must be 32 bytes$"):
        load_key_file(path)


def test_every_entry_is_validated_not_only_the_active_one(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    _reference_shaped(path, [_entry("a"), _entry("b", status="retired", raw=b"short")])
    with pytest.raises(CryptoError, match=r"32 bytes"):
        load_key_file(path)


def test_active_falls_back_to_first_key_but_init_requires_explicit_active(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    _reference_shaped(path, [_entry("first", status="retired"), _entry("second", status="retired")])
    assert load_key_file(path).active.kid == "first"
    with pytest.raises(CryptoError, match=r"No active key found in local key file"):
        load_key_file(path, require_active=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"version":1,"keys":[]}', "No keys found"),
        ("[1,2]", "must hold a JSON object"),
        ('{"keys":[{"kid":"","k":"x"}]}', "non-empty string kid"),
        ('{"keys":[{"kid":"a","status":"paused","k":"x"}]}', "active or retired"),
        (
            '{"keys":[{"kid":"a","alg":"AES-128-GCM","k":"x"}]}',
            "Unsupported local crypto algorithm",
        ),
    ],
)
def test_invalid_key_files_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "k.json"
    path.write_text(content)
    with pytest.raises(CryptoError, match=message):
        load_key_file(path)


def test_duplicate_kid_and_bad_usage_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    _reference_shaped(path, [_entry("a"), _entry("a", status="retired")])
    with pytest.raises(CryptoError, match=r"more than once"):
        load_key_file(path)
    _reference_shaped(path, [_entry("a", usage=-1)])
    with pytest.raises(CryptoError, match=r"invalid usage"):
        load_key_file(path)


def test_missing_file_error_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CryptoError, match=r"haechi init"):
        load_key_file(tmp_path / "nope.json")


def test_key_material_not_in_repr(key_path: Path) -> None:
    key_file = load_key_file(key_path)
    assert b64url_encode(key_file.active.key) not in repr(key_file)


def test_rotation_puts_new_active_first_and_retires_old(key_path: Path) -> None:
    original = load_key_file(key_path)
    rotated = rotate_key_file(key_path)
    assert rotated.keys[0].status == "active"
    assert rotated.keys[0].kid != original.active.kid
    assert [(e.kid, e.status) for e in rotated.keys[1:]] == [(original.active.kid, "retired")]
    twice = rotate_key_file(key_path)
    assert [e.status for e in twice.keys] == ["active", "retired", "retired"]
    assert load_key_file(key_path) == twice
    assert key_file_permissions(key_path) == "0600"


def test_rotation_keeps_old_envelopes_decryptable(key_path: Path) -> None:
    before = LocalCryptoProvider(key_path)
    envelope = before.encrypt(b"old secret", {"purpose": "t"})
    rotate_key_file(key_path)
    after = LocalCryptoProvider(key_path)
    assert after.active_kid != envelope["kid"]
    assert after.decrypt(envelope, {"purpose": "t"}) == b"old secret"
    assert after.encrypt(b"x", {})["kid"] == after.active_kid


def test_rotate_creates_missing_file(tmp_path: Path) -> None:
    key_file = rotate_key_file(tmp_path / "new.json")
    assert [e.status for e in key_file.keys] == ["active"]
