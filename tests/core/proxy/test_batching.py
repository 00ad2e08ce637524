"""``ProtectBatcher``: protect calls queued in one event-loop pass are worked off together
and their events stored with one group commit, yet each call behaves as a lone
``Protector.protect`` would: same result, same exceptions, audited before it returns.

In-process, on a real runtime in a temporary directory (mode ``enforce``); the audit sink
is wrapped to see how it is called."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from haechi.audit import verify_audit_chain
from haechi.errors import HaechiError, NestingTooDeep
from haechi.pipeline import ProtectContext, ProtectResult
from haechi.proxy.batching import CONCURRENT_BATCH, ProtectBatcher, record_events
from haechi.runtime import Runtime

from tests.core.runtime_support import build_runtime

CONTEXT = ProtectContext(protocol="openai-compatible", operation="chat.completions",
                         direction="request", mode="enforce")
NESTING_LIMIT = 8


def email(index: int) -> str:
    return f"batch.user{index}@example.com"


def chat(index: int) -> dict[str, Any]:
    return {"model": "m", "messages": [
        {"role": "user", "content": f"Write to {email(index)} about ticket {index}."}]}


def too_deep(index: int) -> Any:
    document: Any = {"content": email(index)}
    for _ in range(NESTING_LIMIT + 1):
        document = [document]
    return document


def audit_records(runtime: Runtime) -> list[dict[str, Any]]:
    path = Path(runtime.config.audit.path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_chain(runtime: Runtime, count: int) -> list[dict[str, Any]]:
    """The audit log is one valid chain of ``count`` records; returns them."""
    records = audit_records(runtime)
    assert len(records) == count
    if count:
        result = verify_audit_chain(runtime.config.audit.path)
        assert result["valid"] is True and result["records"] == count
    return records


def assert_no_raw_email(runtime: Runtime, errors: Sequence[BaseException], count: int) -> None:
    audit_text = Path(runtime.config.audit.path).read_text(encoding="utf-8") if audit_records(
        runtime) else ""
    error_text = "\n".join(f"{error!s} {error!r}" for error in errors)
    for index in range(count):
        assert email(index) not in audit_text
        assert email(index) not in error_text
    assert "@example.com" not in audit_text + error_text


@pytest.fixture
def make_runtime(tmp_path: Path) -> Callable[..., Runtime]:
    """A runtime in its own directory under ``tmp_path`` (built-in plugins only)."""
    built = 0

    def make(**sections: Any) -> Runtime:
        nonlocal built
        built += 1
        return build_runtime(tmp_path / f"runtime{built}", mode="enforce",
                             limits={"maxNestingDepth": NESTING_LIMIT}, **sections)

    return make


def policy_of(runtime: Runtime) -> Any:
    return runtime.policies.resolve((), {})[1]


class SpySink:
    """Passes every call on to ``sink`` and remembers the size of each batch."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.batches: list[int] = []
        self.single_records = 0

    def record_many(self, events: Sequence[dict[str, Any]]) -> list[Any]:
        self.batches.append(len(events))
        return self.sink.record_many(events)

    def record(self, event: dict[str, Any]) -> dict[str, Any]:
        self.single_records += 1
        return self.sink.record(event)


class SwitchableSink(SpySink):
    """A spy whose ``record_many`` raises ``error`` while ``error`` is set."""

    def __init__(self, sink: Any, error: Exception) -> None:
        super().__init__(sink)
        self.error: Exception | None = error

    def record_many(self, events: Sequence[dict[str, Any]]) -> list[Any]:
        self.batches.append(len(events))
        if self.error is not None:
            raise self.error
        return self.sink.record_many(events)


class RecordOnlySink:
    """A sink without ``record_many``; its ``record`` refuses the calls numbered in
    ``refuse`` (1-based)."""

    def __init__(self, sink: Any, refuse: set[int]) -> None:
        self.sink = sink
        self.refuse = refuse
        self.calls = 0

    def record(self, event: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.calls in self.refuse:
            raise HaechiError("The audit sink refused this event.")
        return self.sink.record(event)


class RefusingOneSlotSink:
    """A group-commit sink that stores every event but the one at ``refused_slot``, which
    comes back as the error refusing it (as ``AuditChain.record_many`` does)."""

    def __init__(self, sink: Any, refused_slot: int) -> None:
        self.sink = sink
        self.refused_slot = refused_slot

    def record_many(self, events: Sequence[dict[str, Any]]) -> list[Any]:
        kept = [event for slot, event in enumerate(events) if slot != self.refused_slot]
        stored = iter(self.sink.record_many(kept))
        return [HaechiError("The audit sink refused this event.") if slot == self.refused_slot
                else next(stored) for slot in range(len(events))]


async def protect_all(batcher: ProtectBatcher, documents: Sequence[Any],
                      policy: Any) -> list[ProtectResult | BaseException]:
    return await asyncio.gather(*(batcher.protect(document, CONTEXT, policy)
                                  for document in documents), return_exceptions=True)


# -- 1. one pass, one group commit -------------------------------------------------------------


def test_concurrent_calls_give_protects_results_and_share_one_group_commit(make_runtime):
    runtime, reference = make_runtime(), make_runtime()
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink)
    policy = policy_of(runtime)
    documents = [chat(index) for index in range(20)]
    expected = [reference.protector.protect(copy.deepcopy(document), CONTEXT,
                                            policy_of(reference)) for document in documents]
    stored_when_resumed: list[bool] = []

    async def call(document: Any) -> ProtectResult:
        result = await batcher.protect(document, CONTEXT, policy)
        # The handler resumes only once its own event is on disk.
        stored_when_resumed.append(
            result.audit_id in {record["id"] for record in audit_records(runtime)})
        return result

    async def main() -> list[ProtectResult]:
        return await asyncio.gather(*(call(document) for document in documents))

    results = asyncio.run(main())
    for result, reference_result in zip(results, expected, strict=True):
        assert result.payload == reference_result.payload
        assert result.summary == reference_result.summary == {
            "detectionCount": 1, "byType": {"email": 1}, "byAction": {"redact": 1}}
        assert result.findings == reference_result.findings
        assert (result.enforced, result.blocked) == (True, False)
    assert [result.payload["messages"][0]["content"] for result in results] == [
        f"Write to [REDACTED:email] about ticket {index}." for index in range(20)]
    assert stored_when_resumed == [True] * 20
    assert sink.batches == [20] and sink.single_records == 0

    records = assert_chain(runtime, 20)
    assert [record["id"] for record in records] == [result.audit_id for result in results]
    assert all(record["schemaVersion"] == "1" and record["summary"]["byType"] == {"email": 1}
               for record in records)
    assert_no_raw_email(runtime, [], 20)


# -- 2. different passes, different batches ----------------------------------------------------


def test_calls_of_different_loop_passes_go_to_different_batches(make_runtime):
    runtime = make_runtime()
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink, window_s=0)
    policy = policy_of(runtime)

    async def main() -> list[ProtectResult]:
        # A task's first step runs in the pass after the one that created it.
        tasks = []
        for group in (range(3), range(3, 5), range(5, 6)):
            tasks += [asyncio.create_task(batcher.protect(chat(i), CONTEXT, policy))
                      for i in group]
            await asyncio.sleep(0)
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert sink.batches == [3, 2, 1]
    records = assert_chain(runtime, 6)
    assert [record["id"] for record in records] == [result.audit_id for result in results]


def test_under_concurrency_calls_of_later_passes_join_the_open_window(make_runtime):
    """After a batch of at least CONCURRENT_BATCH calls the next batch waits for the
    window; calls arriving in the passes meanwhile join it."""
    runtime = make_runtime()
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink, window_s=0.2)
    policy = policy_of(runtime)

    async def main() -> None:
        busy = [asyncio.create_task(batcher.protect(chat(i), CONTEXT, policy))
                for i in range(CONCURRENT_BATCH)]
        await asyncio.gather(*busy)
        later = []
        for group in (range(10, 12), range(12, 13)):
            later += [asyncio.create_task(batcher.protect(chat(i), CONTEXT, policy))
                      for i in group]
            await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(*later), timeout=10)

    asyncio.run(main())
    assert sink.batches == [CONCURRENT_BATCH, 3]
    assert_chain(runtime, CONCURRENT_BATCH + 3)


def test_a_quiet_proxy_never_waits_for_the_window(make_runtime):
    """Lone calls (previous batch below CONCURRENT_BATCH) are worked off at the next
    pass: with a 60 s window they still finish at once."""
    runtime = make_runtime()
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink, window_s=60)
    policy = policy_of(runtime)

    async def main() -> None:
        for i in range(3):
            await asyncio.wait_for(batcher.protect(chat(i), CONTEXT, policy), timeout=10)

    asyncio.run(main())
    assert sink.batches == [1, 1, 1]


def test_a_full_batch_does_not_wait_for_the_window(make_runtime):
    runtime = make_runtime()
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink, window_s=60, max_batch=4)
    policy = policy_of(runtime)

    async def main() -> None:
        await asyncio.gather(*(batcher.protect(chat(i), CONTEXT, policy)
                               for i in range(CONCURRENT_BATCH)))
        full = [batcher.protect(chat(i), CONTEXT, policy) for i in range(10, 14)]
        await asyncio.wait_for(asyncio.gather(*full), timeout=10)

    asyncio.run(main())
    assert sink.batches == [CONCURRENT_BATCH, 4]


# -- 3. a failing document fails alone ---------------------------------------------------------


def test_a_too_deep_document_fails_only_its_own_call(make_runtime):
    runtime = make_runtime()
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink)
    documents = [chat(0), chat(1), too_deep(2), chat(3), too_deep(4)]
    outcomes = asyncio.run(protect_all(batcher, documents, policy_of(runtime)))

    assert [type(outcome) for outcome in outcomes] == [
        ProtectResult, ProtectResult, NestingTooDeep, ProtectResult, NestingTooDeep]
    assert sink.batches == [3]
    records = assert_chain(runtime, 3)
    assert [record["id"] for record in records] == [
        outcomes[slot].audit_id for slot in (0, 1, 3)]
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert_no_raw_email(runtime, errors, 5)


def test_a_batch_of_only_failing_documents_writes_nothing(make_runtime):
    runtime = make_runtime()
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink)
    outcomes = asyncio.run(protect_all(batcher, [too_deep(0), too_deep(1)], policy_of(runtime)))
    assert all(isinstance(outcome, NestingTooDeep) for outcome in outcomes)
    assert sink.batches == [] and sink.single_records == 0
    assert_chain(runtime, 0)


# -- 4. a failed group commit fails the whole batch --------------------------------------------


@pytest.mark.parametrize("error", [HaechiError("Could not append to the audit log."),
                                   OSError(28, "No space left on device")],
                         ids=["HaechiError", "OSError"])
def test_a_failed_group_commit_fails_every_call_of_its_batch(make_runtime, error):
    runtime = make_runtime()
    sink = SwitchableSink(runtime.audit, error)
    batcher = ProtectBatcher(runtime.protector, sink)
    policy = policy_of(runtime)

    failed = asyncio.run(protect_all(batcher, [chat(index) for index in range(6)], policy))
    assert all(outcome is error for outcome in failed)
    assert sink.batches == [6]
    assert_chain(runtime, 0)

    sink.error = None
    succeeded = asyncio.run(protect_all(batcher, [chat(index) for index in range(6, 10)],
                                        policy))
    assert all(isinstance(outcome, ProtectResult) for outcome in succeeded)
    assert sink.batches == [6, 4]
    records = assert_chain(runtime, 4)
    assert [record["id"] for record in records] == [result.audit_id for result in succeeded]
    assert_no_raw_email(runtime, failed, 10)


# -- 5. a call cancelled while queued ----------------------------------------------------------


class AssessSpy:
    """Wraps ``Protector.assess_many`` and remembers which documents it was given."""

    def __init__(self, assess_many: Callable[..., Any]) -> None:
        self.assess_many = assess_many
        self.documents: list[Any] = []

    def __call__(self, calls: Any) -> Any:
        self.documents.extend(call.document for call in calls)
        return self.assess_many(calls)


@pytest.mark.parametrize("cancelled", [{1}, {0, 2}, {0, 1, 2, 3}],
                         ids=["middle", "first-and-third", "all"])
def test_a_call_cancelled_while_queued_is_neither_assessed_nor_audited(make_runtime,
                                                                      monkeypatch, cancelled):
    runtime = make_runtime()
    spy = AssessSpy(runtime.protector.assess_many)
    monkeypatch.setattr(runtime.protector, "assess_many", spy)
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink)
    policy = policy_of(runtime)
    documents = [chat(index) for index in range(4)]

    async def main() -> list[Any]:
        tasks = [asyncio.create_task(batcher.protect(document, CONTEXT, policy))
                 for document in documents]
        # One pass: every task runs up to its queued future, and this coroutine resumes
        # in the same pass, before the batch is worked off in the next one.
        await asyncio.sleep(0)
        assert spy.documents == []
        for slot in cancelled:
            tasks[slot].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = asyncio.run(main())
    kept = [slot for slot in range(4) if slot not in cancelled]
    for slot, outcome in enumerate(outcomes):
        if slot in cancelled:
            assert isinstance(outcome, asyncio.CancelledError)
        else:
            assert isinstance(outcome, ProtectResult) and outcome.summary["detectionCount"] == 1
    assert spy.documents == [documents[slot] for slot in kept]
    for slot in cancelled:  # not rewritten: enforce would have redacted it in place
        assert email(slot) in documents[slot]["messages"][0]["content"]
    assert sink.batches == ([len(kept)] if kept else [])
    records = assert_chain(runtime, len(kept))
    assert [record["id"] for record in records] == [outcomes[slot].audit_id for slot in kept]


# -- 6. sinks without a group commit, and refused events ---------------------------------------


def test_a_sink_with_only_record_works_and_a_refusal_fails_only_its_call(make_runtime):
    runtime = make_runtime()
    sink = RecordOnlySink(runtime.audit, refuse={2})
    batcher = ProtectBatcher(runtime.protector, sink)
    outcomes = asyncio.run(protect_all(batcher, [chat(index) for index in range(4)],
                                       policy_of(runtime)))
    assert sink.calls == 4
    assert isinstance(outcomes[1], HaechiError) and not isinstance(outcomes[1], ProtectResult)
    kept = [outcomes[slot] for slot in (0, 2, 3)]
    assert all(isinstance(outcome, ProtectResult) for outcome in kept)
    records = assert_chain(runtime, 3)
    assert [record["id"] for record in records] == [result.audit_id for result in kept]
    assert_no_raw_email(runtime, [outcomes[1]], 4)


def test_a_slot_refused_by_a_group_commit_fails_only_its_call(make_runtime):
    runtime = make_runtime()
    batcher = ProtectBatcher(runtime.protector, RefusingOneSlotSink(runtime.audit, 1))
    documents = [chat(0), too_deep(1), chat(2), chat(3)]
    outcomes = asyncio.run(protect_all(batcher, documents, policy_of(runtime)))
    # Slot 1 of the recorded events is the event of document 2 (document 1 never got one).
    assert isinstance(outcomes[1], NestingTooDeep)
    assert isinstance(outcomes[2], HaechiError) and not isinstance(outcomes[2], NestingTooDeep)
    kept = [outcomes[0], outcomes[3]]
    assert all(isinstance(outcome, ProtectResult) for outcome in kept)
    records = assert_chain(runtime, 2)
    assert [record["id"] for record in records] == [result.audit_id for result in kept]
    assert_no_raw_email(runtime, [outcomes[1], outcomes[2]], 4)


def test_record_events_prefers_the_group_commit(make_runtime):
    runtime = make_runtime()
    spy = SpySink(runtime.audit)
    events = [{"note": f"event {index}"} for index in range(3)]
    stored = record_events(spy, events)
    assert spy.batches == [3] and spy.single_records == 0
    assert [record["note"] for record in stored] == ["event 0", "event 1", "event 2"]

    only_record = RecordOnlySink(runtime.audit, refuse={1})
    outcomes = record_events(only_record, [{"note": "refused"}, {"note": "kept"}])
    assert isinstance(outcomes[0], HaechiError) and outcomes[1]["note"] == "kept"
    assert only_record.calls == 2
    records = assert_chain(runtime, 4)
    assert [record["note"] for record in records] == ["event 0", "event 1", "event 2", "kept"]


# -- 7. no raw value anywhere ------------------------------------------------------------------


def test_no_raw_email_in_the_audit_or_any_error_of_a_mixed_batch(make_runtime):
    runtime = make_runtime()
    sink = SwitchableSink(runtime.audit, HaechiError("Could not append to the audit log."))
    batcher = ProtectBatcher(runtime.protector, sink)
    policy = policy_of(runtime)
    documents = [chat(0), too_deep(1), {email(2): "an email as a key"}, chat(3)]
    failed = asyncio.run(protect_all(batcher, documents, policy))
    sink.error = None
    documents = [chat(4), too_deep(5), {email(6): "an email as a key"}, chat(7)]
    stored = asyncio.run(protect_all(batcher, documents, policy))

    assert [type(outcome) for outcome in failed] == [
        HaechiError, NestingTooDeep, HaechiError, HaechiError]
    assert [type(outcome) for outcome in stored] == [
        ProtectResult, NestingTooDeep, ProtectResult, ProtectResult]
    assert stored[2].payload == {"[REDACTED:email]": "an email as a key"}
    assert_chain(runtime, 3)
    errors = [outcome for outcome in [*failed, *stored] if isinstance(outcome, BaseException)]
    assert_no_raw_email(runtime, errors, 8)


def test_a_sink_answering_too_few_outcomes_fails_the_whole_batch() -> None:
    """A sink that loses an outcome must not leave a handler waiting forever, nor let a
    request go on whose event may not be stored."""

    class LosesOne:
        def record_many(self, events):
            return [dict(event) for event in events][:-1]

    class Assessor:
        def assess_many(self, calls):
            return [(call.document, {"id": "e"}) for call in calls]

    async def scenario() -> list[BaseException | None]:
        batcher = ProtectBatcher(Assessor(), LosesOne())  # type: ignore[arg-type]
        tasks = [asyncio.ensure_future(batcher.protect({}, None, None)) for _ in range(3)]
        _done, pending = await asyncio.wait(tasks, timeout=5)
        assert not pending
        return [task.exception() for task in tasks]

    errors = asyncio.run(scenario())
    assert all(isinstance(error, HaechiError) for error in errors)


def test_a_protector_that_raises_for_the_whole_batch_fails_every_call() -> None:
    """An exception that escapes the batch itself must reach every waiting handler (as a
    500 in the proxy), never leave one waiting."""

    class Broken:
        def assess_many(self, calls):
            raise RuntimeError("the engine is broken")

    async def scenario() -> list[BaseException | None]:
        batcher = ProtectBatcher(Broken(), SpySink(None))  # type: ignore[arg-type]
        tasks = [asyncio.ensure_future(batcher.protect({}, None, None)) for _ in range(3)]
        _done, pending = await asyncio.wait(tasks, timeout=5)
        assert not pending
        return [task.exception() for task in tasks]

    errors = asyncio.run(scenario())
    assert all(isinstance(error, RuntimeError) for error in errors)


# -- 8. vault writes and events of their own join the batch ------------------------------------


class CountingIssues:
    """Wraps a vault store's ``issue_many``; with ``error`` set, raises it instead."""

    def __init__(self, store: Any, error: Exception | None = None) -> None:
        self.issue_many = store.issue_many
        self.sizes: list[int] = []
        self.error = error

    def __call__(self, records: Sequence[Any], *, now: str) -> list[bool]:
        self.sizes.append(len(records))
        if self.error is not None:
            raise self.error
        return self.issue_many(records, now=now)


def tokenizing(make_runtime: Callable[..., Runtime], monkeypatch,
               error: Exception | None = None) -> tuple[Runtime, CountingIssues]:
    runtime = make_runtime(policy={"actions": {"email": "tokenize"}})
    counting = CountingIssues(runtime.vault.store, error)
    monkeypatch.setattr(runtime.vault.store, "issue_many", counting)
    return runtime, counting


async def protect_with_scopes(batcher: ProtectBatcher, runtime: Runtime,
                              count: int) -> tuple[list[Any], list[Any]]:
    from haechi.services import RuntimeActionServices

    scopes = [runtime.vault.scope() for _ in range(count)]
    outcomes = await asyncio.gather(*(
        batcher.protect(chat(index), CONTEXT, policy_of(runtime),
                        services=RuntimeActionServices(runtime, CONTEXT, scope))
        for index, scope in enumerate(scopes)), return_exceptions=True)
    return outcomes, scopes


def test_the_vault_records_of_a_batch_are_written_once_before_any_call_resumes(
        make_runtime, monkeypatch):
    runtime, counting = tokenizing(make_runtime, monkeypatch)
    batcher = ProtectBatcher(runtime.protector, runtime.audit,
                             token_writes=runtime.vault.deferred_issues)
    stored_when_resumed: list[bool] = []

    async def main() -> list[Any]:
        outcomes, scopes = await protect_with_scopes(batcher, runtime, 8)
        for scope in scopes:
            [token] = scope.tokens
            stored_when_resumed.append(runtime.vault.store.get(token) is not None)
        return list(zip(outcomes, scopes, strict=True))

    answered = asyncio.run(main())
    assert counting.sizes == [8]
    assert stored_when_resumed == [True] * 8
    for index, (result, scope) in enumerate(answered):
        content = result.payload["messages"][0]["content"]
        assert email(index) not in content and "[TOKEN:tok_email_" in content
        assert scope.detokenize_text(content)[0] == chat(index)["messages"][0]["content"]
    assert_chain(runtime, 8)
    assert_no_raw_email(runtime, [], 8)


def test_a_failed_vault_write_fails_every_call_of_its_batch_unaudited(make_runtime,
                                                                      monkeypatch):
    from haechi.errors import TokenVaultError

    error = TokenVaultError("Timed out acquiring token vault lock")
    runtime, counting = tokenizing(make_runtime, monkeypatch, error)
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink,
                             token_writes=runtime.vault.deferred_issues)
    outcomes, _ = asyncio.run(protect_with_scopes(batcher, runtime, 4))
    assert all(outcome is error for outcome in outcomes)
    assert counting.sizes == [4] and sink.batches == []
    assert runtime.vault.store.records() == []
    assert_chain(runtime, 0)
    assert_no_raw_email(runtime, outcomes, 4)

    counting.error = None  # the vault recovers: the next batch goes through
    outcomes, _ = asyncio.run(protect_with_scopes(batcher, runtime, 2))
    assert all(isinstance(outcome, ProtectResult) for outcome in outcomes)
    assert len(runtime.vault.store.records()) == 2


def test_an_event_of_its_own_joins_the_group_commit_of_the_batch(make_runtime):
    runtime = make_runtime()
    sink = SpySink(runtime.audit)
    batcher = ProtectBatcher(runtime.protector, sink)
    policy = policy_of(runtime)

    async def main() -> tuple[Any, list[Any]]:
        own = batcher.record({"note": "detokenize count"})
        return await asyncio.gather(own, *(batcher.protect(chat(i), CONTEXT, policy)
                                           for i in range(3)))

    stored, *results = asyncio.run(main())
    assert sink.batches == [4] and sink.single_records == 0
    records = assert_chain(runtime, 4)
    # Stored after the batch's protect events, and answered with its stored record.
    assert stored["note"] == "detokenize count" and stored == records[-1]
    assert [record["id"] for record in records[:3]] == [result.audit_id for result in results]


def test_an_event_of_its_own_refused_by_the_sink_raises(make_runtime):
    runtime = make_runtime()
    error = HaechiError("Could not append to the audit log.")
    batcher = ProtectBatcher(runtime.protector, SwitchableSink(runtime.audit, error))

    async def main() -> Any:
        return await batcher.record({"note": "detokenize count"})

    with pytest.raises(HaechiError) as raised:
        asyncio.run(main())
    assert raised.value is error
    assert_chain(runtime, 0)
