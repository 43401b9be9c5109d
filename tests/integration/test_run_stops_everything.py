"""`doc2slm run` stops everything it started when it is told to stop, and a failure at start is one line.

A real `doc2slm run` on a one-document corpus, with the four real services on free ports and an external
"teacher" that accepts connections and never answers, so the run sits in the generate-QA step (a kfp.local
step process waiting on QAGenService) with nothing loading a model. SIGTERM then must leave no process of
its tree alive and nothing listening on its ports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from doc2slm_common.contracts import ALL_SERVICES
from doc2slm_common.supervisor import free_port, port_is_free
from doc2slm_extraction.testing_pdfs import multipage_pdf


def start_run(tmp_path: Path, ports: dict[str, int], teacher_port: int,
              env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "manual.pdf").write_bytes(multipage_pdf(pages=2))
    command = [sys.executable, "-m", "doc2slm_cli", "run", "--docs", str(docs), "--out", str(tmp_path / "out"),
               "--teacher-base-url", f"http://127.0.0.1:{teacher_port}/v1", "--teacher-model", "silent",
               "--serving-port", str(free_port()), "--max-chunks", "2"]
    for name, port in ports.items():
        command += ["--service-port", f"{name}={port}"]
    return subprocess.Popen(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OPENAI_API_KEY": "unused", **(env or {})})


def tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def wait_for(condition: object, timeout_s: float, what: str, run: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if run.poll() is not None:
            output, errors = run.communicate()
            pytest.fail(f"doc2slm run ended (exit {run.returncode}) before {what}:\n{output}\n{errors}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout_s:.0f}s")
        time.sleep(0.5)


def test_sigterm_stops_the_whole_run(tmp_path: Path) -> None:
    ports = {c.short_name: free_port() for c in ALL_SERVICES}
    with socket.socket() as silent_teacher:
        # Listens (the kernel completes connections into the backlog) but never accepts or answers.
        silent_teacher.bind(("127.0.0.1", 0))
        silent_teacher.listen(64)
        run = start_run(tmp_path, ports, silent_teacher.getsockname()[1])
        seen: dict[int, psutil.Process] = {}
        try:
            def in_generate_step() -> bool:
                for process in tree(run.pid):
                    seen.setdefault(process.pid, process)
                card = tmp_path / "out" / "extraction_card.json"
                services_up = not any(port_is_free("127.0.0.1", port) for port in ports.values())
                return card.exists() and services_up and len(seen) > len(ports)

            wait_for(in_generate_step, 240, "generate-QA step with the services up", run)
            time.sleep(1.0)
            for process in tree(run.pid):
                seen.setdefault(process.pid, process)
            run.send_signal(signal.SIGTERM)
            _output, errors = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
    assert run.returncode == 128 + signal.SIGTERM, errors
    last = errors.strip().splitlines()[-1]
    assert last.startswith("CANCELLED: ") and str(tmp_path / "out" / "logs") in last, errors
    assert "Traceback" not in errors, errors
    alive = [p for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [p.cmdline() for p in alive]
    assert all(port_is_free("127.0.0.1", port) for port in ports.values())


def test_a_service_dying_at_start_is_one_line_with_its_log(tmp_path: Path) -> None:
    ports = {c.short_name: free_port() for c in ALL_SERVICES}
    # An out-of-range setting: QAGenService refuses to start (the other three would start fine).
    run = start_run(tmp_path, ports, free_port(), env={"DOC2SLM_MAX_CONCURRENCY": "0"})
    _output, errors = run.communicate(timeout=240)
    assert run.returncode == 1, errors
    assert "Traceback" not in errors, errors
    line = errors.strip().splitlines()[-1]
    assert line.startswith("UNAVAILABLE: qagen exited with code"), errors
    assert line.endswith(str(tmp_path / "out" / "logs" / "qagen.log")), errors
    assert "max_concurrency" in (tmp_path / "out" / "logs" / "qagen.log").read_text()
    assert all(port_is_free("127.0.0.1", port) for port in ports.values())
