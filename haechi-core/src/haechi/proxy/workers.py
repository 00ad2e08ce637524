"""Opt-in multi-process proxy: several worker processes share one port (``SO_REUSEPORT``).

One Python process uses one core; on a machine with spare cores, ``N`` workers serve up
to ``N`` times the requests. Each worker is a fresh interpreter (``spawn``: no forked
SQLite handle or lock is shared) that builds its own runtime from the same config file
and listens with ``SO_REUSEPORT``; the kernel spreads connections across them. They all
append to the one audit log, which the audit chain's inter-process lock keeps a single
valid chain, and share the SQLite token vault.

What stays per worker: ``limits.maxInFlight`` (the total is ``N`` times it) and the
in-memory rate limiter — so a configured ``policy.rate`` refuses to start with more than
one worker rather than silently allowing ``N`` times the rate. The metrics are shared: the
workers count in prometheus_client's multiprocess mode, in a directory the parent makes
for the run and removes after it, so ``/__haechi/metrics`` on any worker shows the sum of
all of them (:mod:`haechi.proxy.metrics`).

The parent reserves the port, starts the workers, announces the port once all of them
listen, then waits. SIGINT/SIGTERM to the parent are passed on as one SIGTERM to each
worker, which drains as a single proxy does; a worker that exits on its own stops the
others (fail closed: no silent restart with a partial pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import wait
from typing import Any

from haechi.errors import HaechiError
from haechi.proxy.app import any_rate, create_app
from haechi.proxy.bind import ssl_context_for
from haechi.proxy.metrics import MULTIPROCESS_DIR_ENV

__all__ = ["serve_workers"]

#: How long a worker may take to import, load its runtime and listen.
WORKER_START_TIMEOUT_S = 60.0
#: Extra time, beyond ``limits.shutdownGraceMs``, a worker gets to exit after SIGTERM.
WORKER_EXIT_MARGIN_S = 5.0


def serve_workers(runtime: Any, config_path: str | None, *, workers: int, host: str,
                  port: int, allow_remote_bind: bool = False,
                  on_listening: Callable[[str, int, bool], None] | None = None) -> None:
    """Run ``workers`` proxy processes on ``host:port`` until SIGINT or SIGTERM.

    ``runtime`` (loaded from ``config_path`` by the caller) is used to refuse a bad set-up
    here, once, before any worker starts: the bind guard, the adapter, the authenticator
    and a rate limit that cannot be shared between processes.
    """
    if workers < 1:
        raise HaechiError("--workers must be at least 1.")
    if workers > 1 and any_rate(runtime):
        raise HaechiError(
            "policy.rate is enforced per process; it cannot be combined with --workers "
            "above 1 (run one worker, or remove the rate limit).")
    tls = ssl_context_for(runtime.config.proxy.tls) is not None
    create_app(runtime, allow_remote_bind=allow_remote_bind, host=host, tls=tls)

    reservation = _reserve_port(host, port)
    bound_port = reservation.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    processes = [
        context.Process(target=_worker_main, name=f"haechi-proxy-worker-{index}",
                        args=(config_path, host, bound_port, allow_remote_bind, ready))
        for index in range(workers)
    ]
    stop_requested = False

    def request_stop(signum: int, frame: Any) -> None:
        nonlocal stop_requested
        stop_requested = True

    previous = {signum: signal.signal(signum, request_stop)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    metrics_dir = tempfile.mkdtemp(prefix="haechi-metrics-")  # mode 0700
    try:
        with _metrics_dir_in_environment(metrics_dir):  # the workers inherit it at start
            for process in processes:
                process.start()
        _await_ready(processes, ready)
        reservation.close()
        if on_listening is not None:
            on_listening(host, bound_port, tls)
        failed = _supervise(processes, lambda: stop_requested)
    finally:
        reservation.close()
        _stop_all(processes, runtime.config.limits.shutdown_grace_ms / 1000)
        shutil.rmtree(metrics_dir, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if failed is not None:
        raise HaechiError(f"Proxy worker {failed.name} exited with code {failed.exitcode}; "
                          "the other workers were stopped.")


@contextlib.contextmanager
def _metrics_dir_in_environment(path: str) -> Iterator[None]:
    """This process's environment names ``path`` as the multiprocess metrics directory
    (and no other: prometheus_client also reads a lower-case variant) for the block."""
    names = (MULTIPROCESS_DIR_ENV, MULTIPROCESS_DIR_ENV.lower())
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    os.environ[MULTIPROCESS_DIR_ENV] = path
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR_ENV]
        os.environ.update(saved)


def _reserve_port(host: str, port: int) -> socket.socket:
    """A bound, non-listening ``SO_REUSEPORT`` socket: it fixes the port (also when 0 was
    asked for) while the workers start; the kernel routes connections only to listeners."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reservation = socket.socket(family, socket.SOCK_STREAM)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        reservation.bind((host, port))
    except OSError as exc:
        reservation.close()
        raise HaechiError(f"Cannot listen on {host}:{port} ({exc.strerror}).") from exc
    return reservation


def _await_ready(processes: list[Any], ready: Any) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    waiting = len(processes)
    while waiting:
        dead = [process for process in processes if process.exitcode is not None]
        if dead:
            raise HaechiError(f"Proxy worker {dead[0].name} exited during start-up.")
        if time.monotonic() > deadline:
            raise HaechiError("A proxy worker did not start listening in time.")
        try:
            ready.get(timeout=0.5)
        except queue.Empty:
            continue
        waiting -= 1


def _supervise(processes: list[Any], stop_requested: Callable[[], bool]) -> Any:
    """Wait for a stop request (None) or the first worker to exit (that worker)."""
    sentinels = {process.sentinel: process for process in processes}
    while not stop_requested():
        exited = wait(list(sentinels), timeout=0.5)
        if exited:
            return sentinels[exited[0]]
    return None


def _stop_all(processes: list[Any], grace_s: float) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: the worker drains
    for process in processes:
        if process.pid is None:
            continue
        process.join(grace_s + WORKER_EXIT_MARGIN_S)
        if process.is_alive():
            process.kill()
            process.join()


def _worker_main(config_path: str | None, host: str, port: int, allow_remote_bind: bool,
                 ready: Any) -> None:
    """One worker: its own plugin manager, runtime and event loop on the shared port."""
    # Own process group: a terminal's Ctrl-C reaches the parent only, which then sends
    # exactly one SIGTERM (a second signal during the drain would cut it short).
    os.setpgrp()
    from haechi.plugins import create_plugin_manager
    from haechi.proxy.logs import configure_logging
    from haechi.proxy.server import serve
    from haechi.runtime import Runtime

    runtime = Runtime.load(config_path, pm=create_plugin_manager())
    configure_logging(runtime.config.logging.format)
    asyncio.run(serve(runtime, host=host, port=port, allow_remote_bind=allow_remote_bind,
                      reuse_port=True, on_listening=lambda *_: ready.put(os.getpid())))
