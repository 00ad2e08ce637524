"""``haechi mcp-wrap`` around real MCP servers from the registries, driven by the official
``mcp`` Python SDK client over stdio: ``mcp-server-time`` and ``mcp-server-git`` (PyPI)
and ``@modelcontextprotocol/server-everything`` (npm, installed in ``node/``)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp_helpers import HAECHI, NODE_DIR, Workspace

EMAIL = "minji.kim@example.com"
AUTHOR_EMAIL = "git.author@example.org"
COMMIT_EMAIL = "commit.note@example.net"
AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"
RAW = (EMAIL, AUTHOR_EMAIL, COMMIT_EMAIL, AWS_KEY)
EVERYTHING = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "server-everything" / \
    "dist" / "index.js"


def wrapped(workspace: Workspace, server: list[str]) -> StdioServerParameters:
    return StdioServerParameters(
        command=HAECHI[0],
        args=[*HAECHI[1:], "mcp-wrap", "--config", str(workspace.write()), "--", *server],
        cwd=str(workspace.root),
    )


def run_session(workspace: Workspace, server: list[str],
                body: Callable[[ClientSession], Awaitable[Any]]) -> tuple[Any, str]:
    """Run ``body`` in an initialized SDK session; returns its value and the stderr the
    client saw (the wrapper's, which carries the server's filtered stderr)."""
    errlog_path = workspace.root / "client-errlog.txt"

    async def main() -> Any:
        with open(errlog_path, "w") as errlog:
            async with stdio_client(wrapped(workspace, server), errlog=errlog) as streams, \
                    ClientSession(*streams) as session:
                await session.initialize()
                return await body(session)

    value = asyncio.run(asyncio.wait_for(main(), timeout=60))
    return value, errlog_path.read_text(errors="replace")


def text_of(result: Any) -> str:
    return "\n".join(item.text for item in result.content if hasattr(item, "text"))


def test_mcp_server_time(workspace: Workspace) -> None:
    async def body(session: ClientSession) -> dict[str, Any]:
        tools = await session.list_tools()
        called = await session.call_tool("get_current_time", {"timezone": EMAIL})
        normal = await session.call_tool("get_current_time", {"timezone": "Asia/Seoul"})
        with pytest.raises(MCPError) as refused:
            await session.list_resources()
        return {"tools": [t.name for t in tools.tools], "called": text_of(called),
                "normal": text_of(normal), "refused": refused.value}

    seen, stderr = run_session(workspace, [sys.executable, "-m", "mcp_server_time"], body)
    assert "get_current_time" in seen["tools"]
    # The server received the email redacted: its error message quotes what it got.
    assert "[REDACTED:email]" in seen["called"] and EMAIL not in seen["called"]
    assert "Asia/Seoul" in seen["normal"]
    assert seen["refused"].code == -32003
    assert seen["refused"].data == {"method": "resources/list"}
    assert EMAIL not in stderr
    workspace.assert_audit_clean(RAW, cli=True)


def test_mcp_server_time_exit_code_comes_back(workspace: Workspace) -> None:
    proc = subprocess.run(
        [*HAECHI, "mcp-wrap", "--config", str(workspace.write()), "--", sys.executable, "-m",
         "mcp_server_time", "--no-such-option"], stdin=subprocess.DEVNULL,
        capture_output=True, timeout=60, check=False)
    assert proc.returncode == 2  # click's usage error, passed through


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.name", "Author")
    git("config", "user.email", AUTHOR_EMAIL)
    (repo / "settings.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    git("add", "settings.env")
    git("commit", "-q", "-m", f"add settings, reviewed by {AUTHOR_EMAIL}")
    return repo


def test_mcp_server_git(workspace: Workspace, git_repo: Path) -> None:
    async def body(session: ClientSession) -> dict[str, Any]:
        log = await session.call_tool("git_log", {"repo_path": str(git_repo)})
        with pytest.raises(MCPError) as shown:
            await session.call_tool("git_show", {"repo_path": str(git_repo),
                                                 "revision": "HEAD"})
        (git_repo / "notes.txt").write_text("notes\n")
        await session.call_tool("git_add", {"repo_path": str(git_repo), "files": ["notes.txt"]})
        await session.call_tool("git_commit", {"repo_path": str(git_repo),
                                               "message": f"ping {COMMIT_EMAIL}"})
        return {"log": text_of(log), "shown": shown.value}

    seen, stderr = run_session(
        workspace, [sys.executable, "-m", "mcp_server_git", "--repository", str(git_repo)], body)
    # The commit message in the result reached the client redacted.
    assert "[REDACTED:email]" in seen["log"] and AUTHOR_EMAIL not in seen["log"]
    # The diff carries an AWS key: the policy blocks the whole result.
    assert seen["shown"].code == -32001 and seen["shown"].message == "haechi_policy_block"
    assert seen["shown"].data["summary"]["byType"]["api_key"] == 1
    # The commit message reached the server redacted.
    message = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=git_repo, check=True,
                             capture_output=True, text=True).stdout.strip()
    assert message == "ping [REDACTED:email]"
    assert AWS_KEY not in stderr and AUTHOR_EMAIL not in stderr
    workspace.assert_audit_clean(RAW, cli=True)


def test_server_everything_from_npm(workspace: Workspace) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    assert EVERYTHING.exists(), (
        "the npm test server is missing: run 'npm ci --prefix tests/core/mcp/node'")

    async def body(session: ClientSession) -> dict[str, Any]:
        echoed = await session.call_tool("echo", {"message": f"write to {EMAIL}"})
        total = await session.call_tool("get-sum", {"a": 2, "b": 3})
        return {"echo": text_of(echoed), "sum": text_of(total)}

    seen, _ = run_session(workspace, [node, str(EVERYTHING), "stdio"], body)
    assert seen["echo"] == "Echo: write to [REDACTED:email]"
    assert "5" in seen["sum"]
    workspace.assert_audit_clean(RAW, cli=True)
