"""``haechi proxy``: run the protecting HTTP proxy in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import sys

from haechi.cli.common import add_config_argument
from haechi.cli.console import Output
from haechi.jsoncodec import dumps_compact
from haechi.runtime import Runtime

__all__ = ["ProxyCommand"]


class ProxyCommand:
    NAME = "proxy"
    SUMMARY = "Run the HTTP proxy in front of an LLM API (SIGINT/SIGTERM drain and stop)"
    USAGE = "[--config P] [--host H] [--port N] [--allow-remote-bind] [--workers N]"
    DETAIL = (
        "Listens on proxy.host:proxy.port (loopback by default) and forwards to\n"
        "target.upstream with the adapter of target.type. A non-loopback --host needs\n"
        "--allow-remote-bind and either proxy.tls or proxy.trustForwardedProto. Prints one\n"
        "JSON line {listening, host, port, tls} on stdout once the socket is bound.\n"
        "--workers N runs N processes sharing the port (SO_REUSEPORT) and one audit chain;\n"
        "it is refused with policy.rate, whose limit is per process."
    )

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_config_argument(parser)
        parser.add_argument("--host", help="listen address (default proxy.host)")
        parser.add_argument("--port", type=int, help="listen port, 0 for any (default proxy.port)")
        parser.add_argument("--allow-remote-bind", action="store_true",
                            help="allow a non-loopback listen address")
        parser.add_argument("--workers", type=int, default=1, metavar="N",
                            help="proxy processes sharing the port (default 1)")

    def run(self, args: argparse.Namespace, output: Output, pm) -> int:
        from haechi.proxy import serve
        from haechi.proxy.logs import configure_logging

        runtime = Runtime.load(args.config, pm=pm)
        config = runtime.config
        configure_logging(config.logging.format)
        host = args.host or config.proxy.host
        port = config.proxy.port if args.port is None else args.port

        def announce(bound_host: str, bound_port: int, tls: bool) -> None:
            line = {"listening": True, "host": bound_host, "port": bound_port, "tls": tls}
            sys.stdout.write(dumps_compact(line).decode("utf-8") + "\n")
            sys.stdout.flush()

        if args.workers != 1:
            from haechi.proxy.workers import serve_workers

            serve_workers(runtime, runtime.config_path, workers=args.workers, host=host,
                          port=port, allow_remote_bind=args.allow_remote_bind,
                          on_listening=announce)
            return 0
        asyncio.run(serve(runtime, host=host, port=port,
                          allow_remote_bind=args.allow_remote_bind, on_listening=announce))
        return 0
