"""The one supervisor of local server processes: ready by probe, one error type, stopped with its workers."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest
from doc2slm_common.supervisor import ProcessFailed, ProcessSpec, Supervisor, free_port, http_ok, port_is_free
from grpc import StatusCode


def http_server(port: int, **kwargs: object) -> ProcessSpec:
    return ProcessSpec(name="web", command=[sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1",
                                            str(port)], ready=http_ok(f"http://127.0.0.1:{port}/"), ports=[port],
                       **kwargs)  # type: ignore[arg-type]


def test_ready_by_probe_and_stopped_with_its_group(tmp_path: Path) -> None:
    port = free_port()
    with Supervisor() as supervisor:
        supervisor.start(http_server(port, log_path=tmp_path / "web.log", own_group=True))
        ready: list[str] = []
        supervisor.wait_ready(30, ready.append)
        assert ready == ["web"] and not port_is_free("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)
    assert "Serving HTTP" in (tmp_path / "web.log").read_text()


def test_output_lines_go_to_echo_with_the_name() -> None:
    lines: list[tuple[str, str]] = []
    with Supervisor() as supervisor:
        talk = "import time; print('hello', flush=True); time.sleep(60)"
        supervisor.start(ProcessSpec(name="talker", command=[sys.executable, "-c", talk],
                                     ready=lambda: bool(lines), echo=lambda name, line: lines.append((name, line))))
        supervisor.wait_ready(30)
    assert lines == [("talker", "hello")]


def test_an_exit_while_starting_names_the_log_and_stops_the_others(tmp_path: Path) -> None:
    port = free_port()
    supervisor = Supervisor()
    web = supervisor.start(http_server(port))
    supervisor.start(ProcessSpec(name="broken", command=[sys.executable, "-c", "raise SystemExit(3)"],
                                 ready=lambda: False, log_path=tmp_path / "broken.log"))
    with pytest.raises(ProcessFailed) as raised:
        supervisor.wait_ready(60)
    assert raised.value.code == StatusCode.UNAVAILABLE
    assert raised.value.message == f"broken exited with code 3 while starting; see {tmp_path / 'broken.log'}"
    assert web.process.poll() is not None and not supervisor.running


def test_not_ready_in_time_is_deadline_exceeded() -> None:
    supervisor = Supervisor()
    supervisor.start(ProcessSpec(name="sleeper", command=[sys.executable, "-c", "import time; time.sleep(60)"],
                                 ready=lambda: False))
    started = time.monotonic()
    with pytest.raises(ProcessFailed) as raised:
        supervisor.wait_ready(1.0)
    assert raised.value.code == StatusCode.DEADLINE_EXCEEDED and "sleeper" in raised.value.message
    assert time.monotonic() - started < 15 and not supervisor.running


def test_a_taken_port_is_refused_before_starting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ProcessFailed) as raised:
            Supervisor().start(http_server(port))
    assert raised.value.code == StatusCode.FAILED_PRECONDITION
    assert raised.value.message.startswith(f"port {port} on 127.0.0.1 is already in use, so web cannot start")


_PARENT = """
import sys, time
from doc2slm_common.supervisor import ProcessSpec, Supervisor, http_ok
supervisor = Supervisor()
for port, outlives in ((int(sys.argv[1]), False), (int(sys.argv[2]), True)):
    supervisor.start(ProcessSpec(name=f"web{port}", command=[sys.executable, "-m", "http.server", "--bind",
                                 "127.0.0.1", str(port)], ready=http_ok(f"http://127.0.0.1:{port}/"),
                                 ports=[port], own_group=True, outlives_parent=outlives))
supervisor.wait_ready(60)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_killed_parent_takes_its_servers_with_it_but_not_a_handed_over_one() -> None:
    """`kill -9` of `doc2slm run` runs no handler: the kernel must stop what it started, in their own
    process groups too, while the deployed predictor (handed over by pid) stays up."""
    import os
    import signal
    import subprocess

    started_port, handed_over_port = free_port(), free_port()
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(started_port), str(handed_over_port)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 20
        while not port_is_free("127.0.0.1", started_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert port_is_free("127.0.0.1", started_port), "the started server outlived its killed parent"
        assert not port_is_free("127.0.0.1", handed_over_port), "the handed-over server died with the parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        output = subprocess.run(["pgrep", "-f", f"http.server --bind 127.0.0.1 {handed_over_port}"],
                                capture_output=True, text=True).stdout.split()
        for pid in output:
            os.kill(int(pid), signal.SIGTERM)
