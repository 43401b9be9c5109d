"""Start the four gRPC services as local processes (`doc2slm services up`, `doc2slm run`, tests).

Each service runs as `python -m doc2slm_<name>` in its own process, as in a cluster pod, under the one
Supervisor (doc2slm_common.supervisor): ports checked first, ready when health says SERVING, stopped with
SIGTERM then SIGKILL, and a ProcessFailed naming the service and its log when one does not come up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from doc2slm_common.contracts import ALL_SERVICES, EMBEDDING, SCORING, ServiceContract
from doc2slm_common.supervisor import (
    LOOPBACK,
    STOP_GRACE_S,
    ProcessSpec,
    Running,
    Supervisor,
    check_ports,
    free_port,
    grpc_serving,
    port_is_free,
)

__all__ = ["LocalServices", "free_port", "port_is_free"]

START_TIMEOUT_S = 180.0


@dataclass
class LocalServices:
    """The services in `contracts`, on `host` at their contract ports (or `ports` overrides). Their output
    goes to `log_dir`/NAME.log, else to echo(name, line), else nowhere."""

    host: str = LOOPBACK
    contracts: Sequence[ServiceContract] = ALL_SERVICES
    ports: dict[str, int] = field(default_factory=dict)
    log_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    echo: Callable[[str, str], None] | None = None
    supervisor: Supervisor = field(default_factory=Supervisor)

    def port_of(self, contract: ServiceContract) -> int:
        return self.ports.get(contract.short_name, contract.port)

    def addresses(self) -> dict[str, str]:
        return {c.short_name: f"{self.host}:{self.port_of(c)}" for c in self.contracts}

    def probe_host(self) -> str:
        """Where this machine reaches the services: loopback when they listen on every address."""
        return LOOPBACK if self.host in ("0.0.0.0", "") else self.host

    def env_of(self, contract: ServiceContract) -> dict[str, str]:
        """The service's environment. ScoringService embeds through the EmbeddingService started beside it,
        wherever its port was moved, rather than through its default address (the contract port, where
        another run's service may be listening); an address in `env` still wins."""
        if contract == SCORING and EMBEDDING in self.contracts:
            return {"DOC2SLM_EMBEDDING_ADDRESS": f"{self.probe_host()}:{self.port_of(EMBEDDING)}", **self.env}
        return dict(self.env)

    def spawn(self) -> None:
        """Start every service without waiting (wait_ready waits), so they load side by side."""
        for contract in self.contracts:
            port = self.port_of(contract)
            self.supervisor.start(ProcessSpec(
                name=contract.short_name,
                command=[sys.executable, "-m", f"doc2slm_{contract.short_name}", "--host", self.host,
                         "--port", str(port)],
                ready=grpc_serving(f"{self.probe_host()}:{port}", contract.full_name), ports=[port], host=self.host,
                log_path=self.log_dir / f"{contract.short_name}.log" if self.log_dir else None,
                echo=self.echo, env=self.env_of(contract)))

    def start(self, timeout_s: float = START_TIMEOUT_S,
              on_ready: Callable[[str], None] = lambda name: None) -> dict[str, str]:
        """Start all and wait until each is SERVING; on any failure stop all and raise ProcessFailed."""
        # Every port is checked before anything starts, so a taken port costs no start-up.
        check_ports("the services", self.host, [self.port_of(c) for c in self.contracts])
        try:
            self.spawn()
        except BaseException:
            self.stop()
            raise
        self.supervisor.wait_ready(timeout_s, on_ready)
        return self.addresses()

    def exited(self) -> list[Running]:
        return self.supervisor.exited()

    def stop(self, timeout_s: float = STOP_GRACE_S) -> None:
        """SIGTERM all (graceful drain), SIGKILL whatever still runs after `timeout_s` in all."""
        self.supervisor.stop(timeout_s)

    def __enter__(self) -> LocalServices:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
