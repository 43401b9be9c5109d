"""The one gRPC server bootstrap for all four services.

Health (grpc.health.v1) per service name and "", reflection, configured message limits, the
error-mapping/logging interceptor, Prometheus metrics, and a graceful SIGTERM: health goes
NOT_SERVING first, new calls are refused, in-flight calls get `grace_seconds` to finish.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pydantic import Field

from doc2slm_common.config import ConfigError, Doc2slmSettings, load_settings
from doc2slm_common.contracts import ServiceContract
from doc2slm_common.interceptor import ErrorMappingInterceptor
from doc2slm_common.logs import configure_json_logging
from doc2slm_common.metrics import serve_metrics

log = logging.getLogger("doc2slm.server")


class ServerSettings(Doc2slmSettings):
    host: str = Field("127.0.0.1", description="Address to listen on (0.0.0.0 in a container).")
    port: int = Field(0, ge=0, le=65535, description="gRPC port; 0 picks a free one.")
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus /metrics port; 0 disables.")
    max_message_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, le=2**31 - 1, description="Largest gRPC message in either direction."
    )
    max_workers: int = Field(16, ge=1, le=1024, description="Threads serving calls.")
    max_concurrent_rpcs: int = Field(
        0, ge=0, description="Calls in progress at once; past it new calls get RESOURCE_EXHAUSTED. 0: no cap."
    )
    grace_seconds: float = Field(8.0, ge=0, le=600, description="Time in-flight calls get on shutdown.")
    drain_seconds: float = Field(
        0.0, ge=0, le=60,
        description="On shutdown, time health reports NOT_SERVING before new calls are refused "
                    "(lets load balancers notice; 2-5 s in a cluster).",
    )
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="Log level.")


@dataclass
class ServiceBinding:
    """One servicer and how to attach it; `is_ready` holds health at NOT_SERVING until it returns True."""

    contract: ServiceContract
    add_to_server: Callable[[Any, grpc.Server], None]
    servicer: Any
    is_ready: Callable[[], bool] | None = None
    on_stop: Callable[[], None] | None = None


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    bindings: Sequence[ServiceBinding]
    drain_seconds: float = 0.0
    _stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def names(self) -> list[str]:
        return [b.contract.full_name for b in self.bindings]

    def set_serving(self, serving: bool) -> None:
        status = (health_pb2.HealthCheckResponse.SERVING if serving
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        for name in ["", *self.names]:
            self.health.set(name, status)

    def stop(self, grace: float | None = None) -> None:
        """Health NOT_SERVING, refuse new calls, wait up to `grace` for in-flight ones, then stop."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.health.enter_graceful_shutdown()
        if self.drain_seconds:
            time.sleep(self.drain_seconds)
        self.server.stop(grace).wait()
        for binding in self.bindings:
            if binding.on_stop:
                binding.on_stop()

    def wait(self) -> None:
        self.server.wait_for_termination()


def _watch_readiness(running: RunningServer, binding: ServiceBinding) -> None:
    check = binding.is_ready
    assert check is not None
    while not running._stopped.is_set():
        try:
            ready = check()
        except Exception:  # a failing readiness probe must not kill the watcher
            log.exception("readiness check of %s failed", binding.contract.full_name)
            ready = False
        if ready:
            running.health.set(binding.contract.full_name, health_pb2.HealthCheckResponse.SERVING)
            if all(b.is_ready is None or b.is_ready() for b in running.bindings):
                running.health.set("", health_pb2.HealthCheckResponse.SERVING)
            return
        running._stopped.wait(0.2)


def start_server(bindings: Sequence[ServiceBinding], settings: ServerSettings | None = None) -> RunningServer:
    settings = settings or ServerSettings()
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="grpc"),
        interceptors=[ErrorMappingInterceptor()],
        options=options,
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs or None,
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for binding in bindings:
        binding.add_to_server(binding.servicer, server)
    names = [b.contract.full_name for b in bindings]
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    address = f"{settings.host}:{settings.port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as error:
        raise ConfigError(f"cannot listen on {address}: port {settings.port} is already in use "
                          f"or the address is not available ({error})") from None
    if port == 0:
        raise ConfigError(f"cannot listen on {address}: port {settings.port} is already in use")
    server.start()
    serve_metrics(settings.metrics_port, settings.host)
    running = RunningServer(server=server, port=port, health=health_servicer, bindings=bindings,
                            drain_seconds=settings.drain_seconds)
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    all_ready = all(b.is_ready is None for b in bindings)
    running.health.set("", health_pb2.HealthCheckResponse.SERVING if all_ready else not_serving)
    for binding in bindings:
        if binding.is_ready is None:
            health_servicer.set(binding.contract.full_name, health_pb2.HealthCheckResponse.SERVING)
        else:
            health_servicer.set(binding.contract.full_name, not_serving)
            threading.Thread(target=_watch_readiness, args=(running, binding), daemon=True).start()
    log.info("serving", extra={"services": names, "address": f"{settings.host}:{port}"})
    return running


SettingsT = TypeVar("SettingsT", bound=Doc2slmSettings)


def _parse_args(contract: ServiceContract, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m doc2slm_{contract.short_name}",
                                     description=f"Serve {contract.full_name} over gRPC.")
    parser.add_argument("--host", help="listen address (env DOC2SLM_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"gRPC port (env DOC2SLM_PORT, default {contract.port})")
    parser.add_argument("--metrics-port", type=int, help="Prometheus port (env DOC2SLM_METRICS_PORT)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a service setting (the same as env DOC2SLM_FIELD)")
    return parser.parse_args(argv)


def run_service(
    contract: ServiceContract,
    settings_cls: type[SettingsT],
    build_binding: Callable[[SettingsT], ServiceBinding],
    argv: Sequence[str] | None = None,
) -> None:
    """Entry point of `python -m doc2slm_<svc>`: serve until SIGTERM/SIGINT, then stop gracefully."""
    args = _parse_args(contract, argv)
    try:
        overrides = dict(item.split("=", 1) for item in args.set)
    except ValueError:
        raise SystemExit("--set takes FIELD=VALUE") from None
    try:
        port = args.port if args.port is not None else os.environ.get("DOC2SLM_PORT", contract.port)
        server_settings = load_settings(ServerSettings, host=args.host, port=port,
                                        metrics_port=args.metrics_port)
        service_settings = load_settings(settings_cls, **overrides)
        configure_json_logging(server_settings.log_level)
        running = start_server([build_binding(service_settings)], server_settings)
    except ConfigError as error:
        raise SystemExit(f"doc2slm {contract.short_name}: {error}") from None

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        threading.Thread(target=running.stop, args=(server_settings.grace_seconds,), daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    running.wait()
