"""Real service processes for fault injection: `python -m doc2slm_<svc>` on a free loopback port.

Kills must hit a real process (SIGKILL cannot be simulated in-process), so every scenario that kills or
drains a service starts it here. The log goes to a file so a failed scenario can show why.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from doc2slm_common.contracts import ServiceContract
from doc2slm_common.supervisor import ProcessFailed, free_port, grpc_serving, wait_until_ready


def quiet_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment with offline model hubs and one thread per library (2 shared cores)."""
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


@dataclass
class ServiceProcess:
    """One service in its own process; `start()` again after a kill brings it back on the same port."""

    contract: ServiceContract
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.contract.short_name}-{self.port}.log"

    def start(self, timeout_s: float = 120.0) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        args = [sys.executable, "-m", f"doc2slm_{self.contract.short_name}", "--port", str(self.port)]
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=quiet_env(self.env),
                                        start_new_session=True)
        self.starts += 1
        try:
            wait_until_ready(self.process, self.contract.short_name,
                             grpc_serving(self.address, self.contract.full_name), time.monotonic() + timeout_s)
        except ProcessFailed as error:
            self.kill()
            raise RuntimeError(f"{error}; log: {self.log_tail()}") from None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("service not started")
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_bytes(self, with_children: bool = True) -> int:
        """Resident memory of the service process (and its worker processes, which hold the PDF work)."""
        main = psutil.Process(self.pid)
        total = main.memory_info().rss
        if with_children:
            for child in main.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
        return int(total)

    def signal(self, signum: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole process group (workers too), as the kernel's OOM killer or a node loss would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def wait(self, timeout_s: float) -> int:
        if self.process is None:
            raise RuntimeError("service not started")
        return self.process.wait(timeout=timeout_s)

    def stop(self) -> None:
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        try:
            self.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def running_service(contract: ServiceContract, log_dir: Path, env: dict[str, str] | None = None,
                    timeout_s: float = 120.0) -> Iterator[ServiceProcess]:
    service = ServiceProcess(contract, log_dir, env or {})
    service.start(timeout_s)
    try:
        yield service
    finally:
        if service.alive():
            service.kill()
