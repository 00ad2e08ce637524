"""Running the proxy: listen, serve until SIGINT/SIGTERM, then drain.

On a signal the listener closes (no new connections), idle keep-alive connections are
closed, in-flight requests get up to ``limits.shutdownGraceMs`` to finish, and whatever
is left is then cancelled and its connection closed.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web

from haechi.proxy.app import SERVER_OPTIONS, create_app
from haechi.proxy.bind import ssl_context_for
from haechi.proxy.head_timeout import proxy_runner
from haechi.proxy.logs import log_fields
from haechi.proxy.state import PROXY_STATE

__all__ = ["serve"]


async def serve(runtime: Any, *, host: str, port: int, allow_remote_bind: bool = False,
                on_listening: Callable[[str, int, bool], None] | None = None,
                reuse_port: bool = False) -> None:
    """Serve until SIGINT or SIGTERM. ``on_listening(host, port, tls)`` is called once
    the socket is bound (``port`` is the real one when 0 was asked for). ``reuse_port``
    lets several worker processes listen on the same port (see
    :mod:`haechi.proxy.workers`)."""
    config = runtime.config
    ssl_context = ssl_context_for(config.proxy.tls)
    app = create_app(runtime, allow_remote_bind=allow_remote_bind, host=host,
                     tls=ssl_context is not None)
    log = app[PROXY_STATE].log
    grace_s = config.limits.shutdown_grace_ms / 1000
    runner = proxy_runner(app, config.limits.effective_headers_timeout_ms, handle_signals=False,
                          shutdown_timeout=grace_s, **SERVER_OPTIONS)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, reuse_address=True,
                       reuse_port=reuse_port or None)
    await site.start()
    # Everything built so far (modules, compiled rules, the app) lives until shutdown:
    # keep it out of the collector's generations, so collections only walk request garbage.
    gc.freeze()
    bound_port = _bound_port(runner, port)
    log.info("listening", extra=log_fields(host=host, port=bound_port,
                                           tls=ssl_context is not None,
                                           protocol=app[PROXY_STATE].protocol))
    if on_listening is not None:
        on_listening(host, bound_port, ssl_context is not None)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        log.info("draining", extra=log_fields(graceMs=config.limits.shutdown_grace_ms,
                                              inFlight=app[PROXY_STATE].in_flight))
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await runner.cleanup()
        log.info("stopped")


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested
