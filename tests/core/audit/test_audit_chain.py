from __future__ import annotations

import errno
import json
import logging
import os
import stat

import haechi.audit.chain as chain_module
import pluggy
import pytest
from audit_support import RAW_CARD, RAW_EMAIL, RAW_SECRET, sample_event
from haechi import hookimpl, hookspecs
from haechi.audit import AuditChain, verify_audit_chain
from haechi.audit.lock import InterprocessLock
from haechi.errors import AuditLockTimeout, HaechiError


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_records_are_sealed_and_linked(log_path):
    chain = AuditChain(log_path)
    first = chain.record(sample_event(1))
    second = chain.record(sample_event(2))
    assert first["auditIntegrity"]["sequence"] == 1
    assert first["auditIntegrity"]["previousHash"] is None
    assert second["auditIntegrity"]["sequence"] == 2
    assert second["auditIntegrity"]["previousHash"] == first["auditIntegrity"]["eventHash"]
    assert list(first["auditIntegrity"]) == [
        "alg",
        "canonicalization",
        "sequence",
        "previousHash",
        "eventHash",
    ]
    assert (first["auditIntegrity"]["alg"], first["auditIntegrity"]["canonicalization"]) == (
        "sha256",
        "json-stable-v1",
    )
    assert _lines(log_path) == [first, second]
    assert verify_audit_chain(log_path)["valid"] is True


def test_one_compact_line_per_record(log_path):
    AuditChain(log_path).record(sample_event(0))
    raw = log_path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert b": " not in raw and b", " not in raw


def test_files_are_private_and_the_directory_is_created(log_path):
    AuditChain(log_path).record(sample_event(0))
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((log_path.parent / "audit.jsonl.lock").stat().st_mode) == 0o600
    assert stat.S_IMODE(log_path.parent.stat().st_mode) == 0o700


def test_the_stored_record_holds_no_raw_value(log_path):
    event = sample_event(
        0, value=RAW_CARD, prompt=RAW_EMAIL, identity={"id": "u", "claims": {"email": RAW_EMAIL}}
    )
    event["detections"][0]["secret"] = RAW_SECRET
    stored = AuditChain(log_path).record(event)
    text = log_path.read_text(encoding="utf-8")
    for raw in (RAW_CARD, RAW_EMAIL, RAW_SECRET):
        assert raw not in text and raw not in json.dumps(stored)
    assert stored["summary"]["byType"]["secret"] == 1


def test_a_caller_cannot_supply_its_own_integrity(log_path):
    forged = {"alg": "none", "sequence": 99, "previousHash": "x", "eventHash": "y"}
    stored = AuditChain(log_path).record(sample_event(0, auditIntegrity=forged))
    assert stored["auditIntegrity"]["sequence"] == 1
    assert verify_audit_chain(log_path)["valid"] is True


def test_a_new_instance_continues_an_existing_chain(write_chain, log_path):
    write_chain(5)
    stored = AuditChain(log_path).record(sample_event(6))
    assert stored["auditIntegrity"]["sequence"] == 6
    assert verify_audit_chain(log_path) == {
        "valid": True,
        "records": 6,
        "headHash": stored["auditIntegrity"]["eventHash"],
    }


def test_the_head_is_read_only_when_the_file_changed(log_path, monkeypatch):
    reads = []
    real = chain_module.read_chain_head
    monkeypatch.setattr(chain_module, "read_chain_head", lambda *a: reads.append(a[1]) or real(*a))
    mine, other = AuditChain(log_path), AuditChain(log_path)
    for index in range(50):
        mine.record(sample_event(index))
    assert reads == [0]  # once, on the empty file
    other.record(sample_event(50))
    mine.record(sample_event(51))
    assert len(reads) == 3  # other's first append, then mine once after the change
    assert verify_audit_chain(log_path)["records"] == 52


def test_a_replaced_file_starts_a_new_chain_and_keeps_the_old(log_path):
    chain = AuditChain(log_path)
    chain.record(sample_event(0))
    chain.record(sample_event(1))
    os.rename(log_path, log_path.with_suffix(".old"))
    assert chain.record(sample_event(2))["auditIntegrity"]["sequence"] == 1
    assert verify_audit_chain(log_path.with_suffix(".old"))["records"] == 2
    assert verify_audit_chain(log_path)["records"] == 1


def test_a_torn_last_line_fails_closed_and_keeps_the_evidence(write_chain, log_path):
    write_chain(3)
    with open(log_path, "ab") as log:
        log.write(b'{"id":"torn","auditIntegrity":{"sequ')
    before = log_path.read_bytes()
    with pytest.raises(HaechiError, match="incomplete line") as caught:
        AuditChain(log_path).record(sample_event(4, value=RAW_SECRET))
    assert log_path.read_bytes() == before
    assert RAW_SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "last_line",
    [
        b'{"id":"x"}\n',
        b"not json\n",
        b"\n",
        b'{"auditIntegrity":{"sequence":"2","eventHash":"h"}}\n',
    ],
)
def test_an_unsealed_last_line_fails_closed(write_chain, log_path, last_line):
    write_chain(2)
    with open(log_path, "ab") as log:
        log.write(last_line)
    before = log_path.read_bytes()
    with pytest.raises(HaechiError, match="audit-verify"):
        AuditChain(log_path).record(sample_event(3))
    assert log_path.read_bytes() == before


def test_the_head_is_found_behind_a_line_longer_than_the_first_chunk(log_path):
    chain = AuditChain(log_path)
    chain.record(sample_event(0, note="x" * 300_000))
    assert AuditChain(log_path).record(sample_event(1))["auditIntegrity"]["sequence"] == 2
    assert verify_audit_chain(log_path)["valid"] is True


def test_a_failed_partial_write_is_rolled_back(write_chain, log_path, monkeypatch):
    write_chain(2)
    before = log_path.read_bytes()
    real_write = os.write
    calls = []

    def half_then_disk_full(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    chain = AuditChain(log_path)
    monkeypatch.setattr(chain_module.os, "write", half_then_disk_full)
    with pytest.raises(HaechiError, match="No space left") as caught:
        chain.record(sample_event(3, value=RAW_SECRET))
    monkeypatch.undo()
    assert RAW_SECRET not in str(caught.value)
    assert log_path.read_bytes() == before
    assert chain.record(sample_event(4))["auditIntegrity"]["sequence"] == 3
    assert verify_audit_chain(log_path)["valid"] is True


def test_the_lock_timeout_names_the_lock(log_path):
    AuditChain(log_path).record(sample_event(0))
    waiter = AuditChain(log_path, lock_timeout=0.05)
    with (
        InterprocessLock(f"{log_path}.lock"),
        pytest.raises(AuditLockTimeout, match=r"audit lock: .*audit\.jsonl\.lock"),
    ):
        waiter.record(sample_event(1))


def test_fsync_mode_appends(log_path):
    chain = AuditChain(log_path, fsync=True)
    chain.record(sample_event(0))
    assert verify_audit_chain(log_path)["records"] == 1


def test_non_json_event_is_refused_before_anything_is_written(log_path):
    with pytest.raises(HaechiError) as caught:
        AuditChain(log_path).record({"x": {RAW_SECRET}})
    assert RAW_SECRET not in str(caught.value)
    assert not log_path.exists()


# -- ready() ---------------------------------------------------------------------------


def test_ready_on_a_fresh_path_creates_nothing(log_path):
    assert AuditChain(log_path).ready() == (True, None)
    assert not log_path.parent.exists()


def test_ready_when_the_directory_is_a_file(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert AuditChain(blocker / "audit.jsonl").ready() == (False, "audit_dir_not_writable")


def test_ready_when_the_log_path_is_a_directory(tmp_path):
    (tmp_path / "audit.jsonl").mkdir()
    assert AuditChain(tmp_path / "audit.jsonl").ready() == (False, "audit_file_not_writable")


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses file permissions")
def test_ready_when_permissions_forbid(tmp_path):
    log = tmp_path / "d" / "audit.jsonl"
    AuditChain(log).record(sample_event(0))
    log.chmod(0o400)
    assert AuditChain(log).ready() == (False, "audit_file_not_writable")
    log.parent.chmod(0o500)
    try:
        assert AuditChain(log).ready() == (False, "audit_dir_not_writable")
    finally:
        log.parent.chmod(0o700)


# -- plugins ---------------------------------------------------------------------------


def _plugin_manager(*plugins) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def test_registered_as_the_jsonl_sink():
    registered = []
    _plugin_manager(chain_module).hook.haechi_register_audit_sinks(register=registered.append)
    assert registered == [AuditChain] and AuditChain.NAME == "jsonl"


def test_observers_get_a_copy_and_a_failing_one_is_logged(log_path, caplog):
    seen = []

    class Observer:
        @hookimpl
        def haechi_audit_event(self, event):
            seen.append(event)
            event["summary"]["byType"]["email"] = 999

    class Broken:
        @hookimpl
        def haechi_audit_event(self, event):
            raise RuntimeError(RAW_SECRET)

    chain = AuditChain(log_path, plugin_manager=_plugin_manager(Observer(), Broken()))
    with caplog.at_level(logging.WARNING):
        stored = chain.record(sample_event(0))
    assert seen and seen[0]["auditIntegrity"] == stored["auditIntegrity"]
    assert stored["summary"]["byType"]["email"] == 1
    assert "RuntimeError" in caplog.text and RAW_SECRET not in caplog.text
    assert verify_audit_chain(log_path)["valid"] is True
