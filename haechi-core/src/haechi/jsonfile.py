"""Reading JSON input files with one-line errors that name the file and never echo its
content (it may be sensitive)."""

from __future__ import annotations

import json
import os
from typing import Any

from haechi.errors import HaechiError
from haechi.jsoncodec import loads

__all__ = ["parse_json_text", "read_json_file"]


def read_json_file(path: str | os.PathLike[str], what: str) -> Any:
    """Parse the JSON file at ``path``; ``what`` names it in errors ("input", "policy
    bundle", ...)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise HaechiError(f"{what.capitalize()} file not found: {path}") from None
    except OSError as exc:
        raise HaechiError(f"Could not read {what} file {path}: {exc.strerror}") from None
    return parse_json_text(data, f"{what} file {path}")


def parse_json_text(data: bytes, where: str) -> Any:
    """Parse UTF-8 JSON bytes; errors give the position, not the text around it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise HaechiError(f"The {where} is not valid UTF-8") from None
    try:
        return loads(text)
    except json.JSONDecodeError as exc:
        raise HaechiError(
            f"The {where} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError as exc:
        raise HaechiError(f"The {where} is not valid JSON ({exc})") from None
    except RecursionError:
        raise HaechiError(f"The {where} nests too deeply to parse") from None
