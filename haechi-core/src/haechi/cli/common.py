"""Small pieces every command shares."""

from __future__ import annotations

import argparse

from haechi.runtime import DEFAULT_CONFIG_PATH

__all__ = ["NON_ENFORCE_WARNING", "add_config_argument"]

NON_ENFORCE_WARNING = (
    "policy mode is {mode}: detections were audited but the payload was NOT modified or "
    'blocked. Set policy.mode to "enforce" to protect payloads.'
)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIG_PATH, metavar="PATH",
                        help=f"configuration file (default {DEFAULT_CONFIG_PATH})")
