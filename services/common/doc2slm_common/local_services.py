"""Start the four gRPC services as local processes (`doc2slm services up`, `doc2slm run`, tests).

Each service runs as `python -m doc2slm_<name>` in its own process, as in a cluster pod; this module
checks the ports first, waits for health SERVING, and stops them all with SIGTERM (then SIGKILL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from doc2slm_common.client import wait_for_serving
from doc2slm_common.config import ConfigError
from doc2slm_common.contracts import ALL_SERVICES, ServiceContract

STOP_TIMEOUT_S = 10.0


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (for benchmarks and tests that start a service of their own)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_process_serving(process: subprocess.Popen[bytes], address: str, contract: ServiceContract,
                             deadline: float, hint: str = "") -> None:
    """Until the service that `process` starts answers SERVING at `address`. RuntimeError when the process
    exits first, TimeoutError at the monotonic `deadline`; `hint` (where its log is) ends both messages."""
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{contract.short_name} exited with code {process.returncode} during start{hint}")
        try:
            wait_for_serving(address, contract.full_name, timeout_s=1.0)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{contract.short_name} at {address} not SERVING in time{hint}") from None


@dataclass
class ServiceProcess:
    contract: ServiceContract
    address: str
    process: subprocess.Popen[bytes]
    log_path: Path | None


@dataclass
class LocalServices:
    """The services in `contracts`, on `host` at their contract ports (or `ports` overrides)."""

    host: str = "127.0.0.1"
    contracts: Sequence[ServiceContract] = ALL_SERVICES
    ports: dict[str, int] = field(default_factory=dict)
    log_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    started: list[ServiceProcess] = field(default_factory=list)

    def port_of(self, contract: ServiceContract) -> int:
        return self.ports.get(contract.short_name, contract.port)

    def addresses(self) -> dict[str, str]:
        return {c.short_name: f"{self.host}:{self.port_of(c)}" for c in self.contracts}

    def start(self, timeout_s: float = 180.0) -> dict[str, str]:
        busy = [self.port_of(c) for c in self.contracts if not port_is_free(self.host, self.port_of(c))]
        if busy:
            raise ConfigError(f"port {', '.join(map(str, busy))} on {self.host} is already in use: stop "
                              "what listens there (perhaps another `doc2slm services up`) or choose "
                              "other ports")
        env = {**os.environ, **self.env}
        for contract in self.contracts:
            port = self.port_of(contract)
            log_path = self.log_dir / f"{contract.short_name}.log" if self.log_dir else None
            if log_path:
                log_path.parent.mkdir(parents=True, exist_ok=True)
            out = log_path.open("ab") if log_path else subprocess.DEVNULL
            process = subprocess.Popen(
                [sys.executable, "-m", f"doc2slm_{contract.short_name}", "--host", self.host,
                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
            self.started.append(ServiceProcess(contract, f"{self.host}:{port}", process, log_path))
        try:
            self._wait_all(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self.addresses()

    def _wait_all(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for service in self.started:
            where = f"; see {service.log_path}" if service.log_path else ""
            wait_for_process_serving(service.process, service.address, service.contract, deadline, where)

    def exited(self) -> list[ServiceProcess]:
        return [s for s in self.started if s.process.poll() is not None]

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM all (graceful drain), SIGKILL whatever still runs after `timeout_s` in all."""
        for service in self.started:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for service in self.started:
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()
        self.started.clear()

    def __enter__(self) -> LocalServices:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
