"""Building a real :class:`haechi.runtime.Runtime` for in-process tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from haechi.crypto.keyfile import create_key_file
from haechi.plugins import create_plugin_manager
from haechi.runtime import Runtime

__all__ = ["build_runtime"]


def build_runtime(workdir: Path, **sections: Any) -> Runtime:
    """A runtime over a config in ``workdir`` with its key file, audit log and token vault
    there (built-in plugins only). Each keyword is a config section merged into the
    defaults, or a top-level value such as ``mode="enforce"``. The key file is made once
    and reused by later runtimes of the same directory."""
    workdir.mkdir(parents=True, exist_ok=True)
    key_file = workdir / "dev.keys.json"
    if not key_file.exists():
        create_key_file(key_file)
    config: dict[str, Any] = {
        "keys": {"keyFile": str(key_file)},
        "audit": {"path": str(workdir / "audit.jsonl")},
        "tokenVault": {"path": str(workdir / "vault.sqlite3")},
    }
    for name, values in sections.items():
        if isinstance(values, dict):
            config.setdefault(name, {}).update(values)
        else:
            config[name] = values
    path = workdir / "haechi.config.json"
    path.write_text(json.dumps(config))
    return Runtime.load(path, env={}, pm=create_plugin_manager(load_entry_points=False))
