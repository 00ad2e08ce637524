"""Prometheus metrics of one proxy app (spec section 5), in the app's own registry.

Each app gets its own :class:`prometheus_client.CollectorRegistry`, so two apps in one
process (tests) never share counters and nothing is registered globally. Label values are
only route ids, decisions and modes, cleaned as the reference does: cut to 64 characters,
anything outside ``[A-Za-z0-9_.:/-]`` replaced by ``_``. There is never an identity or a
value label.

Under ``haechi proxy --workers N`` each worker counts in its own process, so the workers
run in prometheus_client's multiprocess mode: :data:`MULTIPROCESS_DIR_ENV` names a
directory (made by the parent for that run) where every worker keeps its values in files,
and a scrape of whichever worker the kernel picks sums them all.
"""

from __future__ import annotations

import os
import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["METRICS_CONTENT_TYPE", "MULTIPROCESS_DIR_ENV", "ProxyMetrics", "clean_label"]

#: prometheus_client's switch to multiprocess mode; read when it is imported.
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_UNSAFE_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_.:/-]")


BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64)


def clean_label(value: str) -> str:
    return _UNSAFE_LABEL_CHARS.sub("_", value[:64])


class ProxyMetrics:
    """The counters and the histograms (request duration, protect batch size) the proxy
    updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, registry=self.registry)

        self._requests = counter("haechi_requests", "Proxied requests by outcome.",
                                 ("decision", "mode", "route"))
        self.blocks = counter("haechi_blocks", "Requests or responses blocked by policy.")
        self.auth_denied = counter("haechi_auth_denied", "Requests refused by authentication.")
        self.rate_limited = counter("haechi_rate_limited", "Requests refused by rate limiting.")
        self.upstream_timeout = counter("haechi_upstream_timeout",
                                        "Upstream requests that timed out.")
        self.upstream_error = counter("haechi_upstream_error",
                                      "Upstream requests that failed.")
        self.response_unprotected = counter(
            "haechi_response_unprotected", "Responses that could not be protected.")
        self.internal_error = counter("haechi_internal_error", "Internal proxy errors.")
        self.overloaded = counter("haechi_overloaded",
                                  "Requests refused at the max in-flight capacity.")
        # Registered here, unlike the reference (its quirk 10).
        self.stream_truncated = counter(
            "haechi_response_stream_truncated",
            "Streams ended early: a block, the byte cap or an upstream failure.")
        self._duration = Histogram("haechi_request_duration_seconds",
                                   "Time from request arrival to the end of the response.",
                                   ("route",), buckets=DURATION_BUCKETS, registry=self.registry)
        # How many protect calls each batch held (haechi.proxy.batching, decision 0015).
        self.protect_batch_size = Histogram(
            "haechi_protect_batch_size", "Protect calls worked off together per batch.",
            buckets=BATCH_SIZE_BUCKETS, registry=self.registry)
        # Label lookups cleaned once per distinct label set (route ids are a short list).
        self._request_children: dict[tuple[str, str, str], Any] = {}
        self._duration_children: dict[str, Any] = {}

    def request(self, decision: str, mode: str, route: str) -> None:
        key = (decision, mode, route)
        child = self._request_children.get(key)
        if child is None:
            child = self._requests.labels(*(clean_label(part) for part in key))
            self._request_children[key] = child
        child.inc()

    def duration(self, route: str, seconds: float) -> None:
        child = self._duration_children.get(route)
        if child is None:
            child = self._duration_children[route] = self._duration.labels(clean_label(route))
        child.observe(seconds)

    def render(self) -> bytes:
        if not os.environ.get(MULTIPROCESS_DIR_ENV):
            return generate_latest(self.registry)
        registry = CollectorRegistry()  # the sum over every process of the directory
        MultiProcessCollector(registry)
        return generate_latest(registry)
