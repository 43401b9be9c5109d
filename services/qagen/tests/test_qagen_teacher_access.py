"""Issue 14, finding 1: the server's teacher key only ever goes to the server's own teachers.

The "attacker" is a real HTTP server on loopback that records every request it gets; a GeneratePairs call
naming it must be refused before any request is sent, so it never sees the Authorization header.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from doc2slm.v1 import common_pb2, qagen_pb2, qagen_pb2_grpc
from doc2slm_common import client
from doc2slm_common.server import ServerSettings, start_server
from doc2slm_qagen.cache import cache_key
from doc2slm_qagen.service import build_binding
from doc2slm_qagen.settings import QAGenSettings

from tests.support.attacker import Attacker
from tests.support.fault_teacher import FaultSchedule, FaultTeacher
from tests.support.qagen_testkit import TEXTS, make_chunks, run_all, settings_for

KEY = "sk-server-secret-14"


@pytest.fixture(scope="module")
def teacher() -> Iterator[FaultTeacher]:
    with FaultTeacher(FaultSchedule(required_api_key=KEY)) as running:
        yield running


@pytest.fixture(scope="module")
def attacker() -> Iterator[Attacker]:
    with Attacker() as running:
        yield running


@pytest.fixture(scope="module")
def stub(teacher: FaultTeacher, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = settings_for(teacher.base_url, tmp_path_factory.mktemp("cache"), teacher_api_key=KEY,
                            max_requests=100)
    server = start_server([build_binding(settings)], ServerSettings(port=0))
    channel = client.open_channel(f"127.0.0.1:{server.port}")
    yield qagen_pb2_grpc.QAGenServiceStub(channel)
    channel.close()
    server.stop(0)


def _request(**options: Any) -> qagen_pb2.GeneratePairsRequest:
    chunk = common_pb2.Chunk(doc_id="d", chunk_id="c14", text=TEXTS[0])
    return qagen_pb2.GeneratePairsRequest(chunks=[chunk], options=qagen_pb2.GenerationOptions(**options))


def _status(stub: Any, request: qagen_pb2.GeneratePairsRequest) -> grpc.StatusCode:
    try:
        list(client.stream(stub.GeneratePairs, request, deadline_s=30))
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_a_foreign_teacher_url_is_refused_before_any_request(stub: Any, attacker: Attacker) -> None:
    assert _status(stub, _request(teacher_base_url=attacker.base_url)) == grpc.StatusCode.PERMISSION_DENIED
    # Another spelling of a foreign host is foreign too.
    assert _status(stub, _request(teacher_base_url=attacker.base_url.upper().replace("HTTP", "http") + "/")
                   ) == grpc.StatusCode.PERMISSION_DENIED
    assert attacker.headers == []


def test_the_configured_teacher_in_another_spelling_still_works(stub: Any, teacher: FaultTeacher) -> None:
    before = teacher.total_calls
    assert _status(stub, _request(teacher_base_url=teacher.base_url + "/")) == grpc.StatusCode.OK
    assert teacher.total_calls > before  # the key was accepted there (the teacher requires it)


def test_an_allowlisted_second_teacher_may_be_chosen(teacher: FaultTeacher, attacker: Attacker,
                                                     tmp_path: Path) -> None:
    with FaultTeacher(FaultSchedule(required_api_key=KEY)) as second:
        settings = settings_for(teacher.base_url, tmp_path, teacher_api_key=KEY,
                                teacher_allowed_base_urls=f" {second.base_url} ,https://other.example/v1")
        server = start_server([build_binding(settings)], ServerSettings(port=0))
        channel = client.open_channel(f"127.0.0.1:{server.port}")
        try:
            stub = qagen_pb2_grpc.QAGenServiceStub(channel)
            assert _status(stub, _request(teacher_base_url=second.base_url)) == grpc.StatusCode.OK
            assert second.total_calls > 0
            assert _status(stub, _request(teacher_base_url=attacker.base_url)) == grpc.StatusCode.PERMISSION_DENIED
        finally:
            channel.close()
            server.stop(0)
    assert attacker.headers == []


def test_a_request_cannot_raise_the_servers_budget(stub: Any) -> None:
    assert _status(stub, _request(max_requests=101)) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _status(stub, _request(max_requests=5)) == grpc.StatusCode.OK


def test_settings_refuse_a_non_http_allowlist_entry() -> None:
    with pytest.raises(ValueError, match="http"):
        QAGenSettings(teacher_allowed_base_urls="file:///etc/passwd")


def test_there_is_a_request_budget_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOC2SLM_MAX_REQUESTS", raising=False)
    assert QAGenSettings().max_requests > 0


def test_the_cache_key_names_the_teacher_endpoint() -> None:
    old = cache_key("c", "m", "v")
    assert cache_key("c", "m", "v", "http://a.example/v1") != cache_key("c", "m", "v", "http://b.example/v1")
    assert cache_key("c", "m", "v", "http://A.example:80/v1/") == cache_key("c", "m", "v", "http://a.example/v1")
    assert old == cache_key("c", "m", "v", "")  # the old signature keeps its old keys


def test_a_fake_teachers_reply_is_not_served_to_the_real_teachers_run(teacher: FaultTeacher, attacker: Attacker,
                                                                      tmp_path: Path) -> None:
    chunks = make_chunks()[:1]
    # A fake endpoint with the real teacher's model name fills the shared cache first.
    events, _ = run_all(settings_for(attacker.base_url, tmp_path, teacher_api_key="", mode="qa"), chunks)
    assert any("every 5 hours" in getattr(e, "answer", "") for e in events)  # planted in the cache
    before = teacher.total_calls
    events, _ = run_all(settings_for(teacher.base_url, tmp_path, teacher_api_key=KEY, mode="qa"), chunks)
    assert teacher.total_calls > before  # asked the real teacher: the planted entry was not reused
    assert not any("every 5 hours" in getattr(e, "answer", "") for e in events)
