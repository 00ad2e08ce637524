"""``haechi mcp-stdio`` and ``haechi mcp-wrap``.

Both speak JSON-RPC on stdout, so they print nothing else there: errors go to stderr as
``haechi: <message>``. ``mcp-wrap`` exits with the wrapped server's exit code (1 when a
signal killed it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from haechi.cli.common import add_config_argument
from haechi.cli.console import Output
from haechi.errors import HaechiError
from haechi.runtime import Runtime

__all__ = ["McpStdioCommand", "McpWrapCommand"]


class McpStdioCommand:
    NAME = "mcp-stdio"
    SUMMARY = "Filter newline-delimited MCP JSON-RPC from stdin to stdout"
    USAGE = "[--config P]"
    DETAIL = (
        "Every message is checked as a client message: JSON-RPC 2.0, mcp.allowedMethods,\n"
        "params protected in the request direction and results in the response direction.\n"
        "Refused messages are answered on stdout with the JSON-RPC errors of docs/mcp.md."
    )

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_config_argument(parser)

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        from haechi.mcp import run_stdio

        runtime = Runtime.load(args.config, pm=pm)
        return run_stdio(runtime, sys.stdin.fileno(), sys.stdout.buffer)


class McpWrapCommand:
    NAME = "mcp-wrap"
    SUMMARY = "Run an MCP stdio server and filter both directions"
    USAGE = "[--config P] [--stderr filter|drop|inherit] -- <command> [args]"
    DETAIL = (
        "Client messages pass the allowlist and protection before they reach the server;\n"
        "server messages (results, notifications, server-initiated requests) are protected\n"
        "before they reach the client. The server's stderr is protected line by line\n"
        "(filter, the default), discarded (drop) or passed through raw (inherit).\n"
        "SIGINT and SIGTERM are forwarded; the exit code is the server's."
    )

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_config_argument(parser)
        parser.add_argument("--stderr", default="filter", metavar="filter|drop|inherit",
                            help="what to do with the server's stderr (default filter)")
        parser.add_argument("server_command", nargs=argparse.REMAINDER, metavar="-- command",
                            help="the MCP server command and its arguments")

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        from haechi.mcp import STDERR_MODES, run_wrap

        if args.stderr not in STDERR_MODES:
            raise HaechiError(
                f'mcp-wrap --stderr must be one of: filter | drop | inherit (got "{args.stderr}")'
            )
        command = list(args.server_command)
        if command[:1] == ["--"]:
            command = command[1:]
        if not command:
            raise HaechiError("mcp-wrap needs the server command after --, for example: "
                              "haechi mcp-wrap -- python -m my_mcp_server")
        runtime = Runtime.load(args.config, pm=pm)
        return asyncio.run(run_wrap(runtime, command, stderr_mode=args.stderr))
