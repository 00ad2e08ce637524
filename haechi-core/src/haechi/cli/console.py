"""All command output goes through here.

Machines get pretty-printed JSON (the reference's output contract); people get rich
tables. JSON is chosen by ``--json`` or whenever stdout is not a terminal, so scripts that
pipe ``haechi`` output keep working unchanged. Rich never interprets markup or emoji codes
in text we print, because that text can come from untrusted input (plugin names, paths).
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

from haechi.jsoncodec import dumps_pretty

__all__ = ["Output", "dump_json"]


def dump_json(value: Any) -> str:
    return dumps_pretty(value)


class Output:
    def __init__(self, *, force_json: bool = False) -> None:
        self.out = Console(markup=False, emoji=False, highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, markup=False, emoji=False, highlight=False)
        self.json_mode = force_json or not sys.stdout.isatty()

    def json(self, value: Any) -> None:
        sys.stdout.write(dump_json(value) + "\n")
        sys.stdout.flush()

    def error(self, message: str) -> None:
        sys.stderr.write(f"haechi: {message}\n")
        sys.stderr.flush()

    def warn(self, message: str) -> None:
        sys.stderr.write(f"warning: {message}\n")
        sys.stderr.flush()
