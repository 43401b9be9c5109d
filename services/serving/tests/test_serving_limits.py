"""Issue 14, finding 6, on the real predictor process: request limits hold before work starts.

The server here has small limits and a batch wait (1 s, the most allowed) four times its request timeout
(0.25 s), so every request that reaches the decoder times out by construction: one that queues in the first
three quarters of a batch window times out there, one that joins a batch at its end has less than its
0.25 s left for a prefill and a dozen decode steps on one thread. Everything refused earlier is refused
without waiting. With the timeout equal to the wait, a request sent just as the previous one timed out
joined that window's batch at once and could finish inside its own second (seen: a v1 predict got 200).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from doc2slm_common.basemodel import BUNDLED_MODEL_NAME as BASE_NAME
from doc2slm_common.config import ConfigError, load_settings
from doc2slm_serving.launcher import ServerProcess, start_server, stop_server
from doc2slm_serving.settings import ServingSettings
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc

MAX_BODY = 1024 * 1024
MAX_PROMPT_CHARS = 100_000
MAX_TOKENS = 64
CHAT = "/openai/v1/chat/completions"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"DOC2SLM_MAX_BODY_BYTES": str(MAX_BODY), "DOC2SLM_MAX_PROMPT_CHARS": str(MAX_PROMPT_CHARS),
           "DOC2SLM_MAX_TOKENS_LIMIT": str(MAX_TOKENS), "DOC2SLM_DEFAULT_MAX_TOKENS": "16",
           "DOC2SLM_REQUEST_TIMEOUT_S": "0.25", "DOC2SLM_BATCH_WAIT_MS": "1000"}
    running = start_server(["--torch-threads", "1", "--models-dir", "/nonexistent"],
                           tmp_path_factory.mktemp("limited") / "server.log", env=env)
    yield running
    stop_server(running)


def _chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": BASE_NAME, "messages": [{"role": "user", "content": content}], **extra}


def _openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    return dict(error)


def test_a_50_mb_prompt_is_refused_and_liveness_answers_meanwhile(limited: ServerProcess) -> None:
    # 50 MB of prompt, encoded before the clock starts (json.dumps would hold this process's GIL).
    big = json.dumps(_chat("word " * (10 * 1024 * 1024))).encode()
    outcome: dict[str, httpx.Response] = {}
    sender = threading.Thread(target=lambda: outcome.update(big=httpx.post(
        f"{limited.http}{CHAT}", content=big, headers={"content-type": "application/json"}, timeout=120)))
    sender.start()
    slowest = 0.0
    while sender.is_alive() or slowest == 0.0:
        started = time.monotonic()
        assert httpx.get(f"{limited.http}/v2/health/live", timeout=30).status_code == 200
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    sender.join()
    assert slowest < 1.0, f"liveness took {slowest:.2f}s while the big prompt was in"
    error = _openai_error(outcome["big"], 413)
    assert error["code"] == "request_too_large"


def test_a_chunked_body_over_the_limit_is_refused(limited: ServerProcess) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "x", "messages": [{"role": "user", "content": "'
        for _ in range(50):
            yield b"word " * (1024 * 1024 // 5)
        yield b'"}]}'

    response = httpx.post(f"{limited.http}{CHAT}", content=chunks(), timeout=120,
                          headers={"content-type": "application/json"})  # no Content-Length: chunked
    assert _openai_error(response, 413)["code"] == "request_too_large"
    # KServe's own routes are under the same limit (their error shape is KServe's).
    v1 = httpx.post(f"{limited.http}/v1/models/{BASE_NAME}:predict", content=b"x" * (MAX_BODY + 1), timeout=60)
    assert v1.status_code == 413


def test_a_long_prompt_is_refused_by_its_characters(limited: ServerProcess) -> None:
    started = time.monotonic()
    response = httpx.post(f"{limited.http}{CHAT}", json=_chat("a" * (MAX_PROMPT_CHARS + 1)), timeout=60)
    error = _openai_error(response, 400)
    assert error["code"] == "context_length_exceeded" and "max_prompt_chars" in error["message"]
    assert time.monotonic() - started < 1.0  # before the request's deadline: nothing was queued
    completion = httpx.post(f"{limited.http}/openai/v1/completions", timeout=60,
                            json={"model": BASE_NAME, "prompt": "b" * (MAX_PROMPT_CHARS + 1)})
    assert _openai_error(completion, 400)["param"] == "prompt"
    v1 = httpx.post(f"{limited.http}/v1/models/{BASE_NAME}:predict", timeout=60,
                    json={"instances": ["c" * (MAX_PROMPT_CHARS // 2 + 1)] * 2})
    assert v1.status_code == 400 and "max_prompt_chars" in v1.text


def test_max_tokens_over_the_cap_is_refused(limited: ServerProcess) -> None:
    response = httpx.post(f"{limited.http}{CHAT}", json=_chat("hi", max_tokens=MAX_TOKENS + 1), timeout=60)
    error = _openai_error(response, 400)
    assert error["param"] == "max_tokens" and error["code"] == "max_tokens_exceeded"
    v1 = httpx.post(f"{limited.http}/v1/models/{BASE_NAME}:predict", timeout=60,
                    json={"instances": ["hi"], "parameters": {"max_tokens": MAX_TOKENS + 1}})
    assert v1.status_code == 400 and "max_tokens_limit" in v1.text


def test_a_request_past_its_deadline_is_a_408_and_leaves_the_queue(limited: ServerProcess) -> None:
    started = time.monotonic()
    response = httpx.post(f"{limited.http}{CHAT}", json=_chat("hi", max_tokens=8), timeout=60)
    assert _openai_error(response, 408)["code"] == "request_timeout"
    assert time.monotonic() - started < 5.0
    with httpx.stream("POST", f"{limited.http}{CHAT}", json=_chat("hi", max_tokens=8, stream=True),
                      timeout=60) as streamed:
        events = b"".join(streamed.iter_bytes()).decode()
    assert "request_timeout" in events and events.rstrip().endswith("data: [DONE]")
    v1 = httpx.post(f"{limited.http}/v1/models/{BASE_NAME}:predict", json={"instances": ["hi"]}, timeout=60)
    assert v1.status_code == 408, v1.text
    with grpc.insecure_channel(limited.grpc_target) as channel:
        request = pb.ModelInferRequest(model_name=BASE_NAME, inputs=[pb.ModelInferRequest.InferInputTensor(
            name="text", datatype="BYTES", shape=[1], contents=pb.InferTensorContents(bytes_contents=[b"hi"]))])
        with pytest.raises(grpc.RpcError) as raised:
            pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=30)
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    deadline = time.monotonic() + 10
    while "doc2slm_serving_queue_depth 0.0" not in httpx.get(f"{limited.http}/metrics", timeout=10).text:
        assert time.monotonic() < deadline, "timed-out requests stayed queued"
        time.sleep(0.2)


def test_a_body_that_trickles_in_is_a_408(limited: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", limited.http_port), timeout=10) as conn:
        conn.sendall(b"POST " + CHAT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"model\": ")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            piece = conn.recv(65536)
            if not piece:
                break
            reply += piece
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"request_timeout" in reply


def test_limits_are_validated_at_start() -> None:
    with pytest.raises(ConfigError, match="max_tokens_limit"):
        load_settings(ServingSettings, default_max_tokens=512, max_tokens_limit=100)
    for bad in ({"max_body_bytes": 10}, {"request_timeout_s": 0}, {"max_prompt_chars": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            load_settings(ServingSettings, **bad)
    settings = ServingSettings()
    assert settings.default_max_tokens <= settings.max_tokens_limit < settings.max_body_bytes
