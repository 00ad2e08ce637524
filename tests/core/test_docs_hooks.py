"""docs/plugin_hooks.md must describe every hook of haechi.hookspecs."""

from __future__ import annotations

import inspect
from pathlib import Path

from haechi import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin_hooks.md"


def hook_names() -> list[str]:
    return [
        name
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("haechi_")
    ]


def test_every_hook_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in hook_names() if f"### `{name}(" not in text]
    assert not missing, f"hooks missing from docs/plugin_hooks.md: {missing}"


def test_every_hook_has_a_docstring_with_params():
    for name in hook_names():
        func = getattr(hookspecs, name)
        doc = inspect.getdoc(func) or ""
        assert doc, name
        for param in inspect.signature(func).parameters:
            assert f":param {param}:" in doc, (name, param)


def test_the_documented_hooks_exist():
    text = DOC.read_text(encoding="utf-8")
    documented = {line[5:].split("(")[0] for line in text.splitlines()
                  if line.startswith("### `haechi_")}
    assert documented == set(hook_names())
