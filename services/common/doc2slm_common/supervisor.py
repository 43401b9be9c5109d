"""One supervisor for the server processes doc2slm starts on this machine: the four gRPC services, the local
teacher and the locally deployed predictor.

A process is a command, a readiness probe and a log. The supervisor checks its ports before starting it,
waits until the probe answers (or the process exits, or a deadline passes) and stops it with SIGTERM, then
SIGKILL after a grace period. Every failure is one ProcessFailed naming the process and where its log is,
so a command prints one line (`STATUS: reason; see LOG`) whatever went wrong.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from grpc import StatusCode

from doc2slm_common.errors import DomainError

LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 10.0
POLL_S = 0.3


class ProcessFailed(DomainError):
    """A local server process could not start, died while starting or was not ready in time.

    The status says which: FAILED_PRECONDITION (its port is taken), UNAVAILABLE (it exited),
    DEADLINE_EXCEEDED (not ready before the deadline)."""

    code = StatusCode.UNAVAILABLE

    def __init__(self, message: str, code: StatusCode = StatusCode.UNAVAILABLE) -> None:
        super().__init__(message)
        self.code = code


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now. SO_REUSEADDR as every server here sets it: a
    connection of the previous server left in TIME_WAIT does not make the port busy (it failed a test
    right after a stop on CI), while another listener still does."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on now (for benchmarks and tests that start a server of their own)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_ports(name: str, host: str, ports: Sequence[int]) -> None:
    """ProcessFailed (FAILED_PRECONDITION) naming every port of `ports` that something listens on."""
    busy = [port for port in ports if not port_is_free(host, port)]
    if busy:
        raise ProcessFailed(f"port {', '.join(map(str, busy))} on {host} is already in use, so {name} cannot "
                            "start: stop what listens there (perhaps an earlier run) or choose another port",
                            StatusCode.FAILED_PRECONDITION)


def grpc_serving(address: str, service: str) -> Callable[[], bool]:
    """Probe: the server at `address` says SERVING for `service` (health v1)."""
    from doc2slm_common.client import wait_for_serving

    def probe() -> bool:
        try:
            wait_for_serving(address, service, timeout_s=1.0)
        except TimeoutError:
            return False
        return True

    return probe


def http_ok(url: str) -> Callable[[], bool]:
    """Probe: GET `url` answers 200 (KServe's /v2/models/NAME/ready)."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2.0) as reply:
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return probe


@dataclass
class ProcessSpec:
    name: str
    command: Sequence[str]
    ready: Callable[[], bool]
    ports: Sequence[int] = ()
    host: str = LOOPBACK
    log_path: Path | None = None
    # Without a log file, each output line goes to echo(name, line) (`services up` prints them like
    # compose); with neither, the output is dropped.
    echo: Callable[[str, str], None] | None = None
    env: Mapping[str, str] | None = None
    # Its own process group, so stopping it reaches the workers it starts (the predictor's).
    own_group: bool = False
    # False: the kernel sends it SIGTERM when the process that started it dies, even by SIGKILL, which no
    # handler sees (a `kill -9` of `doc2slm run` used to leave the services and the teacher listening, and
    # the next run failed on "port in use"). True only for what is handed over by pid (the local predictor).
    outlives_parent: bool = False


@dataclass
class Running:
    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    ready: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        return self.process.pid

    def where(self) -> str:
        return f"; see {self.spec.log_path}" if self.spec.log_path else ""


def _echo_lines(stream: IO[bytes], name: str, echo: Callable[[str, str], None]) -> None:
    for raw in iter(stream.readline, b""):
        echo(name, raw.decode(errors="replace").rstrip("\n"))


def wait_until_ready(process: subprocess.Popen[bytes], name: str, probe: Callable[[], bool], deadline: float,
                     where: str = "") -> None:
    """Until `probe()` is true; ProcessFailed when the process exits first or at the monotonic deadline."""
    while not probe():
        if process.poll() is not None:
            raise ProcessFailed(f"{name} exited with code {process.returncode} while starting{where}")
        if time.monotonic() > deadline:
            raise ProcessFailed(f"{name} was not ready in time{where}", StatusCode.DEADLINE_EXCEEDED)
        time.sleep(POLL_S)


def stop_pid(pid: int, grace_s: float = STOP_GRACE_S, group: bool = True) -> bool:
    """SIGTERM a process (its group when `group`), SIGKILL after the grace period; False if it was gone.
    For a server another process started and handed over by pid (the deploy card's predictor)."""
    send = os.killpg if group else os.kill
    try:
        send(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        # Reap it when it is our own child; harmless otherwise.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            send(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        send(pid, signal.SIGKILL)
    return True


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child between fork and exec: ask Linux for SIGTERM when the parent dies (no-op elsewhere).
    The signal follows the thread that forked; the supervisor starts processes from the thread that owns
    them for their lifetime (the main thread of `doc2slm run` and `services up`)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Supervisor:
    """Processes started together and stopped together; a context manager stops them on any exit."""

    running: list[Running] = field(default_factory=list)

    def start(self, spec: ProcessSpec) -> Running:
        check_ports(spec.name, spec.host, spec.ports)
        env = {**os.environ, **(spec.env or {})}
        options = {"env": env, "stderr": subprocess.STDOUT, "start_new_session": spec.own_group,
                   "stdin": subprocess.DEVNULL, "preexec_fn": None if spec.outlives_parent else _die_with_parent}
        if spec.log_path is not None:
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            with spec.log_path.open("ab") as log_file:
                process = subprocess.Popen(list(spec.command), stdout=log_file, **options)  # type: ignore[call-overload]
        else:
            out = subprocess.PIPE if spec.echo else subprocess.DEVNULL
            process = subprocess.Popen(list(spec.command), stdout=out, **options)  # type: ignore[call-overload]
            if spec.echo is not None and process.stdout is not None:
                threading.Thread(target=_echo_lines, args=(process.stdout, spec.name, spec.echo),
                                 name=f"log-{spec.name}", daemon=True).start()
        running = Running(spec, process)
        self.running.append(running)
        return running

    def wait_ready(self, timeout_s: float, on_ready: Callable[[str], None] = lambda name: None) -> None:
        """Until every started process is ready, in any order; on a failure stops all and raises it."""
        deadline = time.monotonic() + timeout_s
        try:
            while waiting := [r for r in self.running if not r.ready]:
                for item in waiting:
                    if item.spec.ready():
                        item.ready = True
                        on_ready(item.name)
                    elif item.process.poll() is not None:
                        raise ProcessFailed(f"{item.name} exited with code {item.process.returncode} while "
                                            f"starting{item.where()}")
                if time.monotonic() > deadline:
                    late = [r for r in waiting if not r.ready]
                    if late:
                        raise ProcessFailed(f"{late[0].name} was not ready after {timeout_s:.0f}s{late[0].where()}",
                                            StatusCode.DEADLINE_EXCEEDED)
                time.sleep(POLL_S)
        except BaseException:
            self.stop()
            raise

    def exited(self) -> list[Running]:
        return [r for r in self.running if r.process.poll() is not None]

    def release(self, running: Running) -> None:
        """Leave a process running past this supervisor (handed over by pid, e.g. the deployed predictor)."""
        self.running.remove(running)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM all (a graceful drain), SIGKILL whatever still runs after `grace_s` in all; idempotent."""
        for item in self.running:
            self._signal(item, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for item in self.running:
            try:
                item.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(item, signal.SIGKILL)
                item.process.wait()
            if item.spec.own_group:  # its workers may outlive it
                self._signal(item, signal.SIGKILL)
        self.running.clear()

    @staticmethod
    def _signal(item: Running, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if item.spec.own_group:
                os.killpg(item.pid, signum)
            elif item.process.poll() is None:
                item.process.send_signal(signum)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
