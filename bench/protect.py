"""In-process cost of one ``Protector.protect`` call on the hot path.

    .venv/bin/python bench/protect.py [--calls 3000] [--warmup 300] [--json]

Builds a runtime in a temporary directory (``haechi init`` defaults, ``mode: enforce``)
and times ``runtime.protector.protect`` on ~1 KB documents: an OpenAI chat request with an
email and a phone, the matching chat response (direction ``response``, numbers not
scanned, as the proxy calls it), the same request with ``tokenize`` and deterministic
tokens through a request scope, a clean request, and the MCP shapes (a ``tools/call``
params object and a tool result). Each call gets a fresh copy of its document (enforce
rewrites in place); the copy is not timed. Median and p99 in microseconds.

Then, for the same documents, the median cost of each phase, timed separately with the
same building blocks ``protect`` uses: walk, scan (detection engine), decide (findings,
precision controls, policy action, summary), transform, event build, audit append.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from haechi.config import default_config_dict
from haechi.crypto.keyfile import create_key_file
from haechi.pipeline import ProtectContext
from haechi.runtime import Runtime
from haechi.services import RuntimeActionServices

FILLER = (
    "Please summarise the quarterly planning notes below and list the follow-up actions "
    "for each team, keeping the tone friendly and the answer under two hundred words. "
)
CONTACT = "You can reach Minji at minji.kim@example.com or on 010-1234-5678 after lunch."


def chat_request() -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 512,
        "messages": [
            {"role": "system", "content": "You are a concise assistant for an ops team. "
                                          "Answer in plain English."},
            {"role": "user", "content": FILLER * 3 + CONTACT + " " + FILLER},
        ],
    }


def chat_response() -> dict[str, Any]:
    return {
        "id": "chatcmpl-9a8b7c6d5e4f3a2b1c0d",
        "object": "chat.completion",
        "created": 1714564800,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": FILLER * 3 + CONTACT + " " + FILLER},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 231, "completion_tokens": 187, "total_tokens": 418},
        "system_fingerprint": "fp_0123456789",
    }


def clean_request() -> dict[str, Any]:
    document = chat_request()
    document["messages"][1]["content"] = FILLER * 5
    return document


def mcp_call_params() -> dict[str, Any]:
    return {
        "name": "send_email",
        "arguments": {
            "to": "minji.kim@example.com",
            "subject": "Quarterly planning follow-up",
            "body": FILLER * 3 + "Call me on 010-1234-5678 if anything is unclear. " + FILLER,
            "priority": 2,
        },
        "_meta": {"progressToken": 17},
    }


def mcp_call_result() -> dict[str, Any]:
    return {
        "content": [{"type": "text", "text": FILLER * 4 + CONTACT}],
        "isError": False,
    }


def make_runtime(workdir: Path, **policy_overrides: Any) -> Runtime:
    config = default_config_dict()
    config["mode"] = "enforce"
    config["audit"]["path"] = str(workdir / "audit.jsonl")
    config["keys"]["keyFile"] = str(workdir / "dev.keys.json")
    config["tokenVault"]["path"] = str(workdir / "token-vault.sqlite3")
    config["policy"]["actions"].update(policy_overrides.pop("actions", {}))
    for section, values in policy_overrides.items():
        config[section].update(values)
    path = workdir / "haechi.config.json"
    path.write_text(json.dumps(config))
    create_key_file(workdir / "dev.keys.json")
    return Runtime.load(path, env={})


class Case:
    """One benchmarked call: a runtime, a document and how ``protect`` is called."""

    def __init__(self, name: str, runtime: Runtime, document: dict[str, Any], *,
                 direction: str = "request", protocol: str = "openai-compatible",
                 scan_numbers: bool = True, scoped: bool = False) -> None:
        self.name = name
        self.runtime = runtime
        self.raw = orjson.dumps(document)
        self.direction = direction
        self.scan_numbers = scan_numbers
        self.scoped = scoped
        self.context = ProtectContext(protocol=protocol, operation=f"{direction}:bench",
                                      direction=direction, mode="enforce")
        self.policy = runtime.policies.base

    def services(self) -> Any:
        if not self.scoped:
            return None
        return RuntimeActionServices(self.runtime, self.context, self.runtime.vault.scope())

    def runtime_services(self) -> Any:
        return RuntimeActionServices(self.runtime, self.context)

    def call(self) -> float:
        document = orjson.loads(self.raw)
        services = self.services()
        start = time.perf_counter()
        self.runtime.protector.protect(document, self.context, self.policy,
                                       scan_numbers=self.scan_numbers, services=services)
        return time.perf_counter() - start


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def time_case(case: Case, calls: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        case.call()
    samples = [case.call() for _ in range(calls)]
    return {"p50_us": statistics.median(samples) * 1e6,
            "p99_us": percentile(samples, 0.99) * 1e6}


def phase_breakdown(case: Case, calls: int) -> dict[str, float]:
    """Median microseconds of each phase of ``protect``, each timed on its own through
    the protector's phase methods (the same calls ``protect`` makes)."""
    protector = case.runtime.protector
    engine = case.runtime.engine
    audit = case.runtime.audit
    timings: dict[str, list[float]] = {name: [] for name in
                                       ("walk", "scan", "decide", "transform", "event", "audit")}

    def timed(name: str, step: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        value = step(*args, **kwargs)
        timings[name].append(time.perf_counter() - start)
        return value

    for _ in range(calls):
        document = orjson.loads(case.raw)
        walk = timed("walk", protector.walk, document, case.direction,
                     scan_numbers=case.scan_numbers)
        matches = timed("scan", engine.scan_many, walk.texts, case.direction)
        decision = timed("decide", protector.decide, walk, matches, case.policy)
        services = case.services() or case.runtime_services()
        event = timed("event", protector.event, case.context, True, False, walk, decision)
        timed("transform", protector.transform, document, decision.by_leaf, services)
        timed("audit", audit.record, event)
    return {name: statistics.median(values) * 1e6 for name, values in timings.items()}


def build_cases(root: Path) -> list[Case]:
    default_dir = root / "default"
    tokenize_dir = root / "tokenize"
    default_dir.mkdir()
    tokenize_dir.mkdir()
    default = make_runtime(default_dir)
    tokenizing = make_runtime(tokenize_dir, actions={"email": "tokenize", "phone": "tokenize"},
                              tokenVault={"deterministic": True})
    return [
        Case("chat request (email+phone)", default, chat_request()),
        Case("chat response (email+phone)", default, chat_response(), direction="response",
             scan_numbers=False),
        Case("chat request, tokenize+det.", tokenizing, chat_request(), scoped=True),
        Case("clean chat request", default, clean_request()),
        Case("MCP tools/call params", default, mcp_call_params(), protocol="mcp"),
        Case("MCP tools/call result", default, mcp_call_result(), direction="response",
             protocol="mcp", scan_numbers=False),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="haechi-bench-protect-") as tmp:
        cases = build_cases(Path(tmp))
        results = []
        for case in cases:
            timing = time_case(case, args.calls, args.warmup)
            phases = phase_breakdown(case, max(args.calls // 3, 100))
            results.append({"case": case.name, "bytes": len(case.raw), **timing,
                            "phases_us": phases})
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"protect() in process, {args.calls} calls after {args.warmup} warm-up "
          f"(Python {sys.version.split()[0]})")
    print(f"{'case':<30}{'bytes':>7}{'p50 us':>9}{'p99 us':>9}   "
          + "".join(f"{name:>10}" for name in results[0]["phases_us"]))
    for row in results:
        print(f"{row['case']:<30}{row['bytes']:>7}{row['p50_us']:>9.0f}{row['p99_us']:>9.0f}   "
              + "".join(f"{value:>10.1f}" for value in row["phases_us"].values()))
    print("phase columns: median us of each phase timed on its own")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
