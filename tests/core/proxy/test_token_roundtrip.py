"""Tokenize + request-scoped detokenize through the proxy (spec section 6)."""

from __future__ import annotations

import json
import re

import pytest

from tests.core.proxy.conftest import (
    RAW_EMAIL,
    RAW_PHONE,
    ProxyProcess,
    assert_no_raw_values,
    make_workdir,
)

TOKEN = re.compile(r"\[TOKEN:(tok_[a-z_]+_[0-9a-f]+)\]")


def _tokenizing(config):
    config["responseProtection"]["enabled"] = True
    config["streaming"]["requestMode"] = "inspect"
    config["policy"]["actions"].update({"email": "tokenize", "phone": "tokenize"})
    config["tokenVault"]["detokenizeResponses"] = True


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, stub):
    process = ProxyProcess(make_workdir(tmp_path_factory.mktemp("tok"), stub.url, _tokenizing))
    yield process
    output = process.stop()
    assert_no_raw_values(output, process.audit_text())


@pytest.fixture(scope="module")
def client(proxy):
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key="sk-test", max_retries=0)


def _upstream_text(stub) -> str:
    return stub.requests()[-1]["body"]["messages"][-1]["content"]


def test_the_client_gets_its_values_back_and_the_upstream_only_tokens(client, stub, proxy):
    stub.clear()
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"mail {RAW_EMAIL} call {RAW_PHONE}"}])
    assert completion.choices[0].message.content == f"You said: mail {RAW_EMAIL} call {RAW_PHONE}"
    upstream = _upstream_text(stub)
    assert len(TOKEN.findall(upstream)) == 2
    assert_no_raw_values(upstream)
    events = [json.loads(line) for line in proxy.audit_text().splitlines()]
    detokenized = [e for e in events if e.get("decision") == "detokenize"]
    assert detokenized[-1]["count"] == 2 and detokenized[-1]["reason"] is None


def test_tool_call_arguments_are_restored_as_valid_json(client, stub):
    stub.clear()
    completion = client.chat.completions.create(
        model="tool", messages=[{"role": "user", "content": f'note "{RAW_EMAIL}" please'}])
    call = completion.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"note": f'note "{RAW_EMAIL}" please'}


def test_a_token_of_another_request_is_not_restored(client, stub):
    stub.clear()
    client.chat.completions.create(model="m",
                                   messages=[{"role": "user", "content": f"mail {RAW_EMAIL}"}])
    foreign = TOKEN.search(_upstream_text(stub)).group(0)
    echoed = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hello"}],
        extra_query={"reply": f"repeat {foreign}"})
    assert echoed.choices[0].message.content == f"repeat {foreign}"


def test_streams_are_detokenized_even_when_a_token_is_split_across_frames(client, stub):
    stub.clear()
    stream = client.chat.completions.create(
        model="m@3", stream=True, messages=[{"role": "user", "content": f"mail {RAW_EMAIL}"}])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == f"You said: mail {RAW_EMAIL}"
    assert_no_raw_values(_upstream_text(stub))


def test_while_the_vault_is_locked_a_tokenizing_request_fails_closed(client, stub, proxy):
    """Another writer holds the vault's write lock: the batch's vault write times out, the
    request answers 500 and nothing reaches the upstream; once the lock is released,
    requests go through again."""
    import sqlite3

    openai = pytest.importorskip("openai")
    config = json.loads((proxy.workdir / "haechi.config.json").read_text())
    holder = sqlite3.connect(proxy.workdir / config["tokenVault"]["path"], isolation_level=None)
    stub.clear()
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(openai.InternalServerError) as refused:
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": f"mail {RAW_EMAIL}"}])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert refused.value.status_code == 500
    answer = refused.value.response.json()
    assert answer["error"] == "haechi_proxy_error"
    assert stub.requests() == []
    assert_no_raw_values(json.dumps(answer))
    completion = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"mail {RAW_EMAIL}"}])
    assert completion.choices[0].message.content == f"You said: mail {RAW_EMAIL}"
