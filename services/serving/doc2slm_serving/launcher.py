"""Start the predictor as a child process and wait until it is ready; stop it with SIGTERM.

For callers that need a local OpenAI endpoint for a while (the QA step's local teacher, tests, the
end-to-end run): `with served(["--adapter", "hr=out/adapter"]) as server: server.openai_base_url`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from doc2slm_common.contracts import OPENAI_ROUTE_PREFIX
from doc2slm_common.local_services import free_port


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    log_path: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.http}{OPENAI_ROUTE_PREFIX}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def log_tail(self, size: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http}/v2/health/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


def start_server(args: Sequence[str], log_path: Path, timeout_s: float = 300.0,
                 env: dict[str, str] | None = None) -> ServerProcess:
    """`python -m doc2slm_serving ARGS` on free ports; returns once /v2/health/ready answers 200."""
    http_port, grpc_port = free_port(), free_port()
    child_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "doc2slm_serving", "--http-port", str(http_port),
             "--grpc-port", str(grpc_port), *args],
            stdout=log, stderr=subprocess.STDOUT, env=child_env)
    server = ServerProcess(process, http_port, grpc_port, log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{server.log_tail()}")
        if server.is_ready():
            return server
        time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"the server was not ready after {timeout_s:.0f}s:\n{server.log_tail()}")


def stop_server(server: ServerProcess, timeout_s: float = 60.0) -> int:
    """SIGTERM as Kubernetes sends it; SIGKILL after `timeout_s`. Returns the exit status."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    return int(server.process.returncode)


@contextlib.contextmanager
def served(args: Sequence[str], log_path: Path, timeout_s: float = 300.0) -> Iterator[ServerProcess]:
    server = start_server(args, log_path, timeout_s)
    try:
        yield server
    finally:
        stop_server(server)
