"""Haechi: a self-hosted AI context enforcement gateway.

The public API of the core distribution. Plugins import ``hookimpl`` from here::

    from haechi import hookimpl
"""

from haechi.errors import ConfigError, HaechiError
from haechi.findings import HARD_BLOCK_TYPES, Direction, Finding, Match
from haechi.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "HARD_BLOCK_TYPES",
    "ConfigError",
    "Direction",
    "Finding",
    "HaechiError",
    "Match",
    "__version__",
    "hookimpl",
]
