"""Many writers, one chain: processes, threads, forks and killed writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

from audit_support import sample_event
from haechi.audit import AuditChain, verify_audit_chain
from haechi.errors import AuditLockTimeout

WRITER = """
import sys
from haechi.audit import AuditChain
path, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
chain = AuditChain(path, lock_timeout=60)
for index in range(count):
    chain.record({"writer": writer, "index": index, "summary": {"detectionCount": 0}})
"""

HOLD_LOCK = """
import sys, time
from haechi.audit.lock import InterprocessLock
lock = InterprocessLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""


def _python(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, text=True)


def _writers(records) -> Counter:
    return Counter(record["writer"] for record in records)


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_four_processes_make_one_valid_chain(log_path):
    log_path.parent.mkdir(parents=True)
    writers = [_python(WRITER, str(log_path), f"w{n}", "250") for n in range(4)]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
    result = verify_audit_chain(log_path)
    assert result["valid"] is True and result["records"] == 1000
    records = _records(log_path)
    assert _writers(records) == {f"w{n}": 250 for n in range(4)}
    for n in range(4):  # each writer's own records stay in its order
        mine = [r["index"] for r in records if r["writer"] == f"w{n}"]
        assert mine == list(range(250))


def test_a_killed_lock_holder_does_not_wedge_the_next_writer(log_path):
    log_path.parent.mkdir(parents=True)
    holder = _python(HOLD_LOCK, str(log_path) + ".lock")
    try:
        assert holder.stdout.readline().strip() == "locked"
        try:
            AuditChain(log_path, lock_timeout=0.1).record(sample_event(0))
            raise AssertionError("the lock held by the child was not honoured")
        except AuditLockTimeout:
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    stored = AuditChain(log_path, lock_timeout=30).record(sample_event(1))
    assert stored["auditIntegrity"]["sequence"] == 1


def test_a_writer_killed_while_appending_leaves_a_valid_chain(log_path):
    log_path.parent.mkdir(parents=True)
    victim = _python(WRITER, str(log_path), "victim", "1000000")
    try:
        deadline = time.monotonic() + 60
        while (
            not log_path.exists() or log_path.stat().st_size < 20_000
        ) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    before = verify_audit_chain(log_path)
    assert before["valid"] is True and before["records"] > 0
    stored = AuditChain(log_path, lock_timeout=30).record(sample_event(0, writer="next"))
    assert stored["auditIntegrity"]["sequence"] == before["records"] + 1
    assert verify_audit_chain(log_path)["valid"] is True


def test_threads_sharing_one_chain_and_threads_with_their_own(log_path):
    shared = AuditChain(log_path)
    errors: list[BaseException] = []

    def append(chain: AuditChain, writer: str) -> None:
        try:
            for index in range(40):
                chain.record({"writer": writer, "index": index})
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(shared, f"shared{n}")) for n in range(4)]
    threads += [
        threading.Thread(target=append, args=(AuditChain(log_path), f"own{n}")) for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    result = verify_audit_chain(log_path)
    assert result["valid"] is True and result["records"] == 320
    assert set(_writers(_records(log_path)).values()) == {40}


def test_a_forked_child_does_not_share_the_parents_lock(log_path):
    chain = AuditChain(log_path)
    chain.record(sample_event(0, writer="parent"))
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            for index in range(100):
                chain.record({"writer": "child", "index": index})
            code = 0
        finally:
            os._exit(code)
    for index in range(100):
        chain.record({"writer": "parent", "index": index})
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    result = verify_audit_chain(log_path)
    assert result["valid"] is True and result["records"] == 201
    assert _writers(_records(log_path)) == {"parent": 101, "child": 100}
