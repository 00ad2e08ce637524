"""The MCP token round trip: a result that echoes a token issued for the same request
is restored before the client sees it; any other token stays as it is."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from haechi.mcp.filter import McpFilter
from mcp_helpers import Workspace

EMAIL = "token.owner@example.com"
OTHER_EMAIL = "someone.else@example.com"
TOKEN = re.compile(r"\[TOKEN:[^\]]+\]")


@pytest.fixture
def token_filter(workspace: Workspace) -> McpFilter:
    workspace.config["policy"]["actions"]["email"] = "tokenize"
    workspace.config["tokenVault"]["detokenizeResponses"] = True
    return McpFilter(workspace.runtime(), session=True)


def call(mcp_filter: McpFilter, message_id: Any, text: str) -> str:
    request = {"jsonrpc": "2.0", "id": message_id, "method": "tools/call",
               "params": {"name": "echo", "arguments": {"text": text}}}
    forwarded = json.loads(mcp_filter.handle(json.dumps(request).encode(), "client").forward)
    return forwarded["params"]["arguments"]["text"]


def answer(mcp_filter: McpFilter, message_id: Any, text: str) -> str:
    result = {"jsonrpc": "2.0", "id": message_id,
              "result": {"content": [{"type": "text", "text": text}]}}
    forwarded = json.loads(mcp_filter.handle(json.dumps(result).encode(), "server").forward)
    return forwarded["result"]["content"][0]["text"]


def test_a_token_echoed_in_the_same_request_is_restored(token_filter, workspace) -> None:
    sent = call(token_filter, 1, f"mail {EMAIL}")
    token = TOKEN.search(sent).group(0)
    assert EMAIL not in sent
    assert answer(token_filter, 1, f"I wrote to {token}.") == f"I wrote to {EMAIL}."
    decisions = [e.get("decision") for e in workspace.audit_records()]
    assert "detokenize" in decisions
    workspace.assert_audit_clean([EMAIL])


def test_a_token_of_another_request_is_not_restored(token_filter) -> None:
    first = TOKEN.search(call(token_filter, "a", f"mail {EMAIL}")).group(0)
    TOKEN.search(call(token_filter, "b", f"mail {OTHER_EMAIL}"))
    assert answer(token_filter, "b", f"echo {first}") == f"echo {first}"
    # Request "a" is still pending: its own answer restores its token.
    assert answer(token_filter, "a", f"echo {first}") == f"echo {EMAIL}"


def test_ids_1_and_string_1_are_different_requests(token_filter) -> None:
    token = TOKEN.search(call(token_filter, 1, f"mail {EMAIL}")).group(0)
    assert answer(token_filter, "1", token) == token
    assert answer(token_filter, 1, token) == EMAIL


def test_a_scope_ends_with_its_response(token_filter) -> None:
    token = TOKEN.search(call(token_filter, 5, f"mail {EMAIL}")).group(0)
    assert answer(token_filter, 5, "done") == "done"
    assert answer(token_filter, 5, token) == token  # a replayed id restores nothing


def test_without_detokenize_responses_tokens_stay(workspace) -> None:
    workspace.config["policy"]["actions"]["email"] = "tokenize"
    mcp_filter = McpFilter(workspace.runtime(), session=True)
    token = TOKEN.search(call(mcp_filter, 1, f"mail {EMAIL}")).group(0)
    assert answer(mcp_filter, 1, token) == token
