"""``AuditChain.record_many``, the group commit: one lock and one write for a batch.

Adversarially: refused events in the middle of a batch, a write that fails half-way,
short writes, two forked processes committing batches into one log, and forbidden keys
carrying raw values."""

from __future__ import annotations

import errno
import json
import math
import multiprocessing
import os
from pathlib import Path
from typing import Any

import haechi.audit.chain as chain_module
import pytest
from audit_support import RAW_CARD, RAW_EMAIL, RAW_SECRET, sample_event
from haechi.audit import AuditChain, verify_audit_chain
from haechi.errors import HaechiError

SPACED_CARD = "4111 1111 1111 1111"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _assert_linked(records: list[dict[str, Any]]) -> None:
    """Sequences 1..N without a gap, each record pointing at the hash of the one before."""
    previous = None
    for sequence, record in enumerate(records, 1):
        integrity = record["auditIntegrity"]
        assert (integrity["sequence"], integrity["previousHash"]) == (sequence, previous)
        previous = integrity["eventHash"]


def _assert_valid(path: Path, count: int) -> None:
    result = verify_audit_chain(path)
    assert result == {"valid": True, "records": count, "headHash": result["headHash"]}
    records = _lines(path)
    _assert_linked(records)
    assert result["headHash"] == records[-1]["auditIntegrity"]["eventHash"]


# -- 1. a batch continues the chain --------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 50])
def test_a_batch_continues_the_chain_written_by_record(log_path, size):
    chain = AuditChain(log_path)
    before = [chain.record(sample_event(index)) for index in range(3)]
    outcomes = chain.record_many([sample_event(100 + index) for index in range(size)])
    after = chain.record(sample_event(999))

    assert [record["auditIntegrity"]["sequence"] for record in outcomes] == list(
        range(4, 4 + size)
    )
    assert [record["id"] for record in outcomes] == [
        sample_event(100 + index)["id"] for index in range(size)
    ]
    assert after["auditIntegrity"]["sequence"] == 4 + size
    assert _lines(log_path) == [*before, *outcomes, after]
    _assert_valid(log_path, size + 4)


@pytest.mark.parametrize("size", [1, 2, 50])
def test_a_batch_from_another_writer_rereads_the_head(log_path, size):
    """Records appended by another chain object before and after the batch: each writer
    notices the file changed and continues from its real head."""
    first, second = AuditChain(log_path), AuditChain(log_path)
    before = [first.record(sample_event(index)) for index in range(2)]
    outcomes = second.record_many([sample_event(10 + index) for index in range(size)])
    after = first.record(sample_event(99))
    assert _lines(log_path) == [*before, *outcomes, after]
    _assert_valid(log_path, size + 3)


def test_an_empty_batch_writes_nothing(log_path):
    assert AuditChain(log_path).record_many([]) == []
    assert not log_path.exists()


# -- 2. a refused event in the middle -------------------------------------------------------

REFUSED_MARKER = "refused-event-marker-7f3a"


def _refused_events() -> list[dict[str, Any]]:
    """Events the sanitizer refuses, each carrying a marker that must never be stored."""
    return [
        {"note": REFUSED_MARKER, "detail": {1: "a key that is not a str"}},
        {"note": REFUSED_MARKER, "summary": {"ratio": math.nan}},
        {"note": REFUSED_MARKER, "score": math.inf},
        {"note": REFUSED_MARKER, "nested": [{"set": {RAW_SECRET}}]},
        {"note": REFUSED_MARKER, "big": 2**60},
    ]


@pytest.mark.parametrize("refused", _refused_events(),
                         ids=["int-key", "nan", "inf", "set", "2**60"])
def test_a_refused_event_fails_only_its_own_slot(log_path, refused):
    chain = AuditChain(log_path)
    chain.record(sample_event(0))
    batch = [sample_event(1), sample_event(2), refused, sample_event(3), sample_event(4)]
    outcomes = chain.record_many(batch)

    assert isinstance(outcomes[2], HaechiError)
    assert RAW_SECRET not in str(outcomes[2]) and REFUSED_MARKER not in str(outcomes[2])
    stored = [outcome for index, outcome in enumerate(outcomes) if index != 2]
    assert [record["id"] for record in stored] == [sample_event(n)["id"] for n in (1, 2, 3, 4)]
    assert [record["auditIntegrity"]["sequence"] for record in stored] == [2, 3, 4, 5]
    assert _lines(log_path)[1:] == stored
    text = log_path.read_text(encoding="utf-8")
    assert REFUSED_MARKER not in text and RAW_SECRET not in text
    _assert_valid(log_path, 5)


def test_a_batch_refused_entirely_writes_nothing(log_path):
    outcomes = AuditChain(log_path).record_many(_refused_events())
    assert all(isinstance(outcome, HaechiError) for outcome in outcomes)
    assert len(outcomes) == len(_refused_events())
    assert not log_path.exists()


def test_a_refused_event_then_a_good_batch(log_path):
    chain = AuditChain(log_path)
    assert isinstance(chain.record_many([_refused_events()[0]])[0], HaechiError)
    with pytest.raises(HaechiError):
        chain.record(_refused_events()[1])
    stored = chain.record_many([sample_event(0), sample_event(1)])
    assert [record["auditIntegrity"]["sequence"] for record in stored] == [1, 2]
    _assert_valid(log_path, 2)


# -- 3. a failed write -------------------------------------------------------------------------


def _failing_write(real_write, *, first_fraction: float):
    """An ``os.write`` that writes ``first_fraction`` of its first buffer, then fails."""
    calls: list[int] = []

    def write(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1 and first_fraction > 0:
            return real_write(fd, bytes(data[: int(len(data) * first_fraction)]))
        raise OSError(errno.ENOSPC, "No space left on device")

    return write, calls


@pytest.mark.parametrize("first_fraction", [0.0, 0.5, 0.99])
def test_a_failed_write_rolls_the_whole_batch_back(write_chain, log_path, monkeypatch,
                                                   first_fraction):
    write_chain(3)
    chain = AuditChain(log_path)
    chain.record(sample_event(3))  # the chain's head is now cached in memory
    before = log_path.read_bytes()

    write, calls = _failing_write(os.write, first_fraction=first_fraction)
    monkeypatch.setattr(chain_module.os, "write", write)
    batch = [sample_event(10 + index, value=RAW_CARD) for index in range(20)]
    with pytest.raises(HaechiError, match="No space left") as caught:
        chain.record_many(batch)
    monkeypatch.undo()

    assert calls  # the failure came from the write, not from anything before it
    assert RAW_CARD not in str(caught.value) and RAW_CARD not in repr(caught.value)
    assert log_path.stat().st_size == len(before)
    assert log_path.read_bytes() == before
    # The cached head did not advance past the rolled-back records.
    assert chain.record(sample_event(30))["auditIntegrity"]["sequence"] == 5
    assert chain.record_many([sample_event(31)])[0]["auditIntegrity"]["sequence"] == 6
    _assert_valid(log_path, 6)


def test_short_writes_still_store_the_whole_batch(log_path, monkeypatch):
    """A kernel may accept part of a buffer; the rest must follow, in order."""
    real_write = os.write
    sizes: list[int] = []

    def at_most_97_bytes(fd: int, data: bytes) -> int:
        sizes.append(len(data))
        return real_write(fd, bytes(data[:97]))

    chain = AuditChain(log_path)
    chain.record(sample_event(0))
    monkeypatch.setattr(chain_module.os, "write", at_most_97_bytes)
    stored = chain.record_many([sample_event(1 + index) for index in range(10)])
    monkeypatch.undo()
    assert len(sizes) > 10
    assert _lines(log_path)[1:] == stored
    _assert_valid(log_path, 11)


def test_a_write_that_makes_no_progress_is_a_failure(log_path, monkeypatch):
    chain = AuditChain(log_path)
    chain.record(sample_event(0))
    before = log_path.read_bytes()
    monkeypatch.setattr(chain_module.os, "write", lambda fd, data: 0)
    with pytest.raises(HaechiError):
        chain.record_many([sample_event(1), sample_event(2)])
    monkeypatch.undo()
    assert log_path.read_bytes() == before
    assert chain.record(sample_event(3))["auditIntegrity"]["sequence"] == 2
    _assert_valid(log_path, 2)


# -- 4. two processes committing batches -------------------------------------------------------

BATCHES = 10
BATCH_SIZE = 20


def _commit_batches(path: str, writer: str) -> None:
    """Child process: ``BATCHES`` batches of ``BATCH_SIZE`` events into one chain."""
    chain = AuditChain(path, lock_timeout=60)
    for batch in range(BATCHES):
        outcomes = chain.record_many([
            {"writer": writer, "batch": batch, "index": index, "summary": {"detectionCount": 0}}
            for index in range(BATCH_SIZE)
        ])
        if not all(isinstance(outcome, dict) for outcome in outcomes):
            os._exit(3)


def test_two_forked_processes_make_one_chain_of_whole_batches(log_path):
    log_path.parent.mkdir(parents=True)
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_commit_batches, args=(str(log_path), f"w{n}"))
               for n in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]

    _assert_valid(log_path, 2 * BATCHES * BATCH_SIZE)
    records = _lines(log_path)
    # A batch is one write under the lock: its records are adjacent and in order.
    for start in range(0, len(records), BATCH_SIZE):
        batch = records[start:start + BATCH_SIZE]
        assert len({(record["writer"], record["batch"]) for record in batch}) == 1
        assert [record["index"] for record in batch] == list(range(BATCH_SIZE))
    for writer in ("w0", "w1"):
        assert [r["batch"] for r in records if r["writer"] == writer][::BATCH_SIZE] == list(
            range(BATCHES)
        )


def test_a_forged_integrity_block_in_a_batch_is_replaced(log_path):
    forged = {"alg": "sha256", "canonicalization": "json-stable-v1", "sequence": 77,
              "previousHash": "forged", "eventHash": "forged"}
    outcomes = AuditChain(log_path).record_many(
        [sample_event(0), sample_event(1, auditIntegrity=forged), sample_event(2)])
    assert [record["auditIntegrity"]["sequence"] for record in outcomes] == [1, 2, 3]
    assert "forged" not in log_path.read_text(encoding="utf-8")
    _assert_valid(log_path, 3)


# -- 5. forbidden keys inside a batch ----------------------------------------------------------


def test_forbidden_keys_in_a_batch_are_dropped(log_path):
    batch = [
        sample_event(0),
        sample_event(1, value=SPACED_CARD),
        sample_event(2, extra={"Value": RAW_EMAIL, "nested": [{"SECRET": RAW_SECRET}]}),
        sample_event(3, content=RAW_EMAIL, payload={"card": SPACED_CARD}),
        sample_event(4),
    ]
    outcomes = AuditChain(log_path).record_many(batch)
    assert all(isinstance(outcome, dict) for outcome in outcomes)
    assert "value" not in outcomes[1] and "content" not in outcomes[3]
    assert outcomes[2]["extra"] == {"nested": [{}]}
    raw = log_path.read_bytes()
    for secret in (SPACED_CARD, RAW_CARD, RAW_EMAIL, RAW_SECRET):
        assert secret.encode() not in raw
        assert secret not in json.dumps(outcomes, ensure_ascii=False)
    assert _lines(log_path) == outcomes
    _assert_valid(log_path, 5)
