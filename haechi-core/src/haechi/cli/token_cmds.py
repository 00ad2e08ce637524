"""``haechi token-reveal``, ``token-purge`` and ``token-export``: vault governance. Every
reveal and purge decision is audited by the vault itself."""

from __future__ import annotations

import argparse

from haechi.cli.common import add_config_argument
from haechi.cli.console import Output
from haechi.errors import HaechiError
from haechi.isotime import to_iso, utc_now
from haechi.runtime import Runtime

__all__ = ["TokenExportCommand", "TokenPurgeCommand", "TokenRevealCommand"]


class TokenRevealCommand:
    NAME = "token-reveal"
    SUMMARY = "Reveal a token's plaintext (needs tokenVault.revealPolicy local-dev)"
    USAGE = "<token> [--allow-dev-reveal] [--config P]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("token")
        parser.add_argument("--allow-dev-reveal", action="store_true",
                            help="force revealPolicy local-dev for this call")
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        vault = Runtime.load(args.config, pm=pm).vault
        type_, plaintext = vault.reveal(args.token, allow_dev_reveal=args.allow_dev_reveal)
        output.json({"ok": True, "token": args.token, "type": type_, "plaintext": plaintext})
        return 0


class TokenPurgeCommand:
    NAME = "token-purge"
    SUMMARY = "Delete one token, or every expired token with --expired"
    USAGE = "<token> | --expired [--config P]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("token", nargs="?")
        parser.add_argument("--expired", action="store_true")
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        if bool(args.token) == bool(args.expired):
            raise HaechiError("token-purge needs either a token or --expired")
        vault = Runtime.load(args.config, pm=pm).vault
        if args.expired:
            result = {"purged": vault.purge_expired(), "purgedAt": to_iso(utc_now())}
        else:
            result = vault.purge(args.token)
        output.json({"ok": True, "command": "token-purge", "result": result})
        return 0


class TokenExportCommand:
    NAME = "token-export"
    SUMMARY = "List vault tokens with their metadata (never plaintext)"
    USAGE = "[--type T] [--config P]"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--type", default=None)
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        vault = Runtime.load(args.config, pm=pm).vault
        output.json({"ok": True, "command": "token-export", "tokens": vault.export(args.type)})
        return 0
