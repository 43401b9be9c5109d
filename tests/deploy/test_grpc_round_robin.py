"""Why the chart's gRPC Services are headless: a client from doc2slm_common.client.open_channel with
round_robin spreads calls over every address a target resolves to (every ready pod behind a headless
Service), instead of pinning one HTTP/2 connection to one pod as a ClusterIP would.

Two real servers from doc2slm_common.server.start_server on loopback; each reports a different
health status for the same service name, so the answers tell which server took each call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import grpc
import pytest
from doc2slm.v1 import extraction_pb2_grpc
from doc2slm_common.client import open_channel, unary, wait_for_serving
from doc2slm_common.contracts import EXTRACTION
from doc2slm_common.server import RunningServer, ServerSettings, ServiceBinding, start_server
from grpc_health.v1 import health_pb2, health_pb2_grpc

CALLS = 60


def binding(ready: bool) -> ServiceBinding:
    # The unimplemented base servicer is enough: only the health service is called.
    return ServiceBinding(
        contract=EXTRACTION,
        add_to_server=extraction_pb2_grpc.add_ExtractionServiceServicer_to_server,
        servicer=extraction_pb2_grpc.ExtractionServiceServicer(),
        is_ready=None if ready else (lambda: False),
    )


@pytest.fixture(scope="module")
def two_replicas() -> Iterator[tuple[RunningServer, RunningServer]]:
    serving = start_server([binding(ready=True)], ServerSettings(host="127.0.0.1", port=0))
    not_serving = start_server([binding(ready=False)], ServerSettings(host="127.0.0.1", port=0))
    try:
        yield serving, not_serving
    finally:
        serving.stop(0)
        not_serving.stop(0)


def answers(target: str) -> Counter[str]:
    """Health answers for EXTRACTION's name over one channel: SERVING from one replica, NOT_SERVING
    from the other."""
    counts: Counter[str] = Counter()
    with open_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=EXTRACTION.full_name)
        for _ in range(CALLS):
            reply = unary(stub.Check, request, deadline_s=5.0)
            counts[health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)] += 1
    return counts


def test_round_robin_spreads_calls_over_both_replicas(two_replicas: tuple[RunningServer, RunningServer]) -> None:
    serving, not_serving = two_replicas
    wait_for_serving(f"127.0.0.1:{serving.port}", EXTRACTION.full_name, timeout_s=10)
    counts = answers(f"ipv4:127.0.0.1:{serving.port},127.0.0.1:{not_serving.port}")
    assert sum(counts.values()) == CALLS
    # round_robin alternates over ready subchannels; allow for the moment the second one connects.
    assert counts["SERVING"] >= CALLS // 3, counts
    assert counts["NOT_SERVING"] >= CALLS // 3, counts


def test_one_address_pins_every_call_to_one_replica(two_replicas: tuple[RunningServer, RunningServer]) -> None:
    """The ClusterIP case: one address behind the target, so one server takes everything."""
    serving, _ = two_replicas
    assert answers(f"127.0.0.1:{serving.port}") == Counter({"SERVING": CALLS})
