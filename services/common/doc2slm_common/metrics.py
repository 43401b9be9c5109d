"""Prometheus metrics per gRPC method: call count by status, and latency."""

from __future__ import annotations

import threading

from prometheus_client import Counter, Histogram, start_http_server

REQUESTS = Counter(
    "doc2slm_grpc_requests_total",
    "gRPC calls handled, by method and status code.",
    ["method", "code"],
)
LATENCY = Histogram(
    "doc2slm_grpc_request_seconds",
    "Time from the start of a gRPC call to its last response message.",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)

_started_ports: set[int] = set()
_lock = threading.Lock()


def observe_call(method: str, code: str, seconds: float) -> None:
    REQUESTS.labels(method=method, code=code).inc()
    LATENCY.labels(method=method).observe(seconds)


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Expose /metrics on `port` once per process (0 disables)."""
    if port <= 0:
        return
    with _lock:
        if port in _started_ports:
            return
        start_http_server(port, addr=host)
        _started_ports.add(port)
