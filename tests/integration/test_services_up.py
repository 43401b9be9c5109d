"""`doc2slm services up`: four healthy services in the foreground, scoring wired to the embedding service
started beside it, their log lines on its output prefixed by their names, stopped by SIGTERM within 10 s,
and one status line naming the port when one is taken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from doc2slm.v1 import scoring_pb2, scoring_pb2_grpc
from doc2slm_common import client
from doc2slm_common.contracts import ALL_SERVICES, SCORING, ServiceContract
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.support.s3_server import free_port


def up(ports: dict[str, int], log_dir: Path | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "doc2slm_cli", "services", "up"]
    if log_dir is not None:
        args += ["--log-dir", str(log_dir)]
    for name, port in ports.items():
        args += ["--port", f"{name}={port}"]
    return subprocess.Popen(args, env={**os.environ}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def reflected_services(address: str) -> set[str]:
    with client.open_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                            timeout=10)
        return {s.name for reply in replies for s in reply.list_services_response.service}


def test_services_up_serves_four_and_stops_on_sigterm() -> None:
    ports = {c.short_name: free_port() for c in ALL_SERVICES}
    process = up(ports)
    try:
        contract: ServiceContract
        for contract in ALL_SERVICES:
            address = f"127.0.0.1:{ports[contract.short_name]}"
            client.wait_for_serving(address, contract.full_name, timeout_s=240)
            assert contract.full_name in reflected_services(address)
        # Text pairs are embedded by the embedding service on its moved port, not on the contract's.
        with client.open_channel(f"127.0.0.1:{ports[SCORING.short_name]}") as channel:
            reply = client.unary(scoring_pb2_grpc.ScoringServiceStub(channel).ScorePairs, scoring_pb2.ScorePairsRequest(
                texts=[scoring_pb2.TextPair(candidate="The pump runs.", reference="The pump is running.")]),
                deadline_s=300)  # the first embedding warms the model up; a busy machine takes its time
        assert reply.embedding_model and reply.scores[0].cosine > 0.5
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
        assert time.monotonic() - started < 10.5
        assert process.returncode == 0, output
        assert "SERVING" in output and "stopping" in output
        # Without --log-dir each service's own lines (JSON logs) come through, prefixed like compose.
        for contract in ALL_SERVICES:
            assert any(line.startswith(f"{contract.short_name:<10} | {{") for line in output.splitlines()), output
    finally:
        if process.poll() is None:
            process.kill()


def test_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = {c.short_name: free_port() for c in ALL_SERVICES}
        ports["qagen"] = busy
        process = up(ports, tmp_path)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert output.strip().splitlines()[-1].startswith(f"FAILED_PRECONDITION: port {busy} on 127.0.0.1 is already "
                                                      "in use"), output
