"""Serve Prometheus' text format over HTTP through `prometheus_client`, from a callback that
builds the metric families at each scrape (so a scrape always sees the present, never a cache)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from drkit.errors import UsageError

log = logging.getLogger(__name__)

Collect = Callable[[], Iterable[Metric]]


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:9108` for IPv6) into its parts; UsageError (exit 2) otherwise."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--metrics {text!r}: expected HOST:PORT, such as 127.0.0.1:9108")
    return host, int(port)


@dataclass
class MetricsServer:
    """A running metrics endpoint; `stop()` closes its socket."""

    host: str
    port: int
    _server: object

    def stop(self) -> None:
        shutdown = getattr(self._server, "shutdown", None)
        close = getattr(self._server, "server_close", None)
        if shutdown:
            shutdown()
        if close:
            close()


def serve(address: str, collect: Collect) -> MetricsServer:
    """Listen on `address` (HOST:PORT; port 0 picks a free one) and answer every scrape with
    `collect()`; a collect that fails is reported as `drkit_metrics_collect_ok 0`, never a 500."""
    host, port = parse_address(address)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Callback(collect))
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise UsageError(f"--metrics {address}: cannot listen: {exc.strerror}") from None
    bound = int(server.server_address[1])
    log.info("serving Prometheus metrics on %s:%d/metrics", host, bound)
    return MetricsServer(host, bound, server)


class _Callback(Collector):
    def __init__(self, collect: Collect) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily(
            "drkit_metrics_collect_ok", "1 when every drkit metric could be gathered at this scrape"
        )
        try:
            families = list(self._collect())
        except Exception as exc:  # a scrape must answer; the failure is itself a metric
            log.warning("collecting metrics failed: %s: %s", type(exc).__name__, exc)
            ok.add_metric([], 0)
            yield ok
            return
        ok.add_metric([], 1)
        yield ok
        yield from families
