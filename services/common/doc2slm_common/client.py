"""Client side of the gRPC contracts: channels that balance over replicas, calls that always carry a
deadline and retry only UNAVAILABLE (the one status that says "try again elsewhere or later")."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

log = logging.getLogger("doc2slm.client")

DEFAULT_DEADLINE_S = 60.0
DEFAULT_RETRIES = 4
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_BACKOFF_START_S = 0.2
_BACKOFF_MAX_S = 5.0

T = TypeVar("T")


def channel_target(address: str) -> str:
    """`host:port` becomes `dns:///host:port` so that every address a name resolves to (a headless
    Service's pods) is a subchannel for round_robin; explicit schemes pass through."""
    if "://" in address or address.startswith(("ipv4:", "ipv6:", "unix:", "dns:")):
        return address
    return f"dns:///{address}"


def open_channel(address: str, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> grpc.Channel:
    service_config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    options = [
        ("grpc.service_config", json.dumps(service_config)),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.enable_retries", 0),  # retries are ours, below, and visible in logs
    ]
    return grpc.insecure_channel(channel_target(address), options=options)


def _backoff(attempt: int) -> float:
    return float(min(_BACKOFF_MAX_S, _BACKOFF_START_S * (2**attempt)))


def unary(
    call: Callable[..., T],
    request: Any,
    deadline_s: float = DEFAULT_DEADLINE_S,
    retries: int = DEFAULT_RETRIES,
    metadata: tuple[tuple[str, str], ...] = (),
) -> T:
    """Call a unary method with a deadline; on UNAVAILABLE wait and try again up to `retries` times."""
    attempt = 0
    while True:
        try:
            return call(request, timeout=deadline_s, metadata=metadata)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or attempt >= retries:
                raise
            log.warning("UNAVAILABLE, retrying", extra={"attempt": attempt + 1, "detail": error.details()})
            time.sleep(_backoff(attempt))
            attempt += 1


def stream(
    call: Callable[..., Iterator[T]],
    request: Any,
    deadline_s: float = DEFAULT_DEADLINE_S,
    retries: int = DEFAULT_RETRIES,
    metadata: tuple[tuple[str, str], ...] = (),
) -> Iterator[T]:
    """Iterate a server-streaming (or bidi) call with a deadline.

    UNAVAILABLE before the first response is retried as for unary calls. After responses have been
    received the error is raised: only the caller knows how to resume without duplicating records
    (doc2slm's records carry content-hash ids for that). A request iterator cannot be replayed, so
    pass a callable returning a fresh iterator when the request streams.
    """
    attempt = 0
    while True:
        received = False
        payload = request() if callable(request) else request
        try:
            for response in call(payload, timeout=deadline_s, metadata=metadata):
                received = True
                yield response
            return
        except grpc.RpcError as error:
            if received or error.code() != grpc.StatusCode.UNAVAILABLE or attempt >= retries:
                raise
            log.warning("UNAVAILABLE, retrying", extra={"attempt": attempt + 1, "detail": error.details()})
            time.sleep(_backoff(attempt))
            attempt += 1


def describe_error(error: grpc.RpcError) -> str:
    """`STATUS_NAME: reason` on one line, as the CLI prints a failed call."""
    code = error.code()
    details = (error.details() or "").replace("\n", " ").strip()
    return f"{code.name if code else 'UNKNOWN'}: {details}"


def wait_for_serving(address: str, service: str = "", timeout_s: float = 60.0) -> None:
    """Block until the server's health says SERVING for `service` (raises TimeoutError)."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout_s
    with open_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"{service or 'server'} at {address} not SERVING after {timeout_s:.0f}s")
