"""Fixtures: real runtimes (``haechi init`` once per session, enforce mode) and a helper
that builds a stream filter on one of them, as the proxy does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from haechi.pipeline import ProtectContext
from haechi.proxy.streaming import StreamFilter, StreamProtection, stream_filter_for
from haechi.runtime import Runtime


@pytest.fixture(scope="session")
def stream_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("haechi-stream")
    subprocess.run([sys.executable, "-m", "haechi", "init", "--json"], cwd=root,
                   check=True, capture_output=True)
    return root


def _write_config(root: Path, name: str, actions: dict[str, str]) -> Path:
    config = json.loads((root / "haechi.config.json").read_text())
    config["policy"]["mode"] = "enforce"
    config["policy"]["actions"].update(actions)
    config["keys"]["keyFile"] = str(root / ".haechi" / "dev.keys.json")
    config["audit"]["path"] = str(root / ".haechi" / f"{name}.audit.jsonl")
    config["tokenVault"]["path"] = str(root / ".haechi" / f"{name}.vault.sqlite3")
    path = root / f"{name}.config.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="session")
def runtime(stream_workdir: Path) -> Runtime:
    """Default presets in enforce mode: email redact, phone mask, card/secret block."""
    return Runtime.load(_write_config(stream_workdir, "enforce", {}), env={})


@pytest.fixture(scope="session")
def tokenize_runtime(stream_workdir: Path) -> Runtime:
    return Runtime.load(
        _write_config(stream_workdir, "tokenize", {"email": "tokenize", "phone": "tokenize"}),
        env={},
    )


FilterFactory = Callable[..., StreamFilter]


def build_filter(rt: Runtime, route: Any, *, mode: str | None = None, services: Any = None,
                 **kwargs: Any) -> StreamFilter:
    context = ProtectContext(protocol="openai-compatible", operation="chat-completions",
                             direction="response",
                             mode=mode or rt.config.streaming.response_mode)
    _, policy = rt.policies.resolve((), {})
    protection = StreamProtection.for_runtime(rt, context, policy, services=services)
    kwargs.setdefault("window", rt.config.streaming.max_match_bytes)
    return stream_filter_for(route, **protection.as_kwargs(), **kwargs)


@pytest.fixture
def make_filter(runtime: Runtime) -> FilterFactory:
    def make(route: Any, **kwargs: Any) -> StreamFilter:
        return build_filter(runtime, route, **kwargs)

    return make
