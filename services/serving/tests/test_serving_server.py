"""The real predictor process on loopback: OpenAI client, KServe v1/v2 REST, v2 gRPC, bad requests,
adapters added while serving, overload, SIGTERM (in the fixture's teardown)."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import grpc
import httpx
import pytest
from doc2slm_common.basemodel import BUNDLED_MODEL_NAME as BASE_NAME
from doc2slm_serving.demo_adapters import SECRET_QUESTION
from doc2slm_serving.demo_adapters import DemoAdapters as Adapters
from doc2slm_serving.launcher import ServerProcess as RunningServer
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc
from openai import OpenAI


@pytest.fixture(scope="module")
def client(server: RunningServer) -> OpenAI:
    return OpenAI(base_url=f"{server.http}/openai/v1", api_key="unused", timeout=120, max_retries=0)


@pytest.fixture(scope="module")
def with_banana(server: RunningServer, adapters: Adapters, admin_headers: dict[str, str]) -> RunningServer:
    """The banana adapter added through the admin route, without a restart."""
    response = httpx.post(f"{server.http}/doc2slm/v1/adapters", headers=admin_headers,
                          json={"name": "banana", "uri": adapters.banana.as_uri()}, timeout=120)
    assert response.status_code == 200, response.text
    return server


def ask(client: OpenAI, model: str, **extra: Any) -> str:
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": SECRET_QUESTION}], max_tokens=10,
        temperature=0, **extra)
    return reply.choices[0].message.content or ""


@pytest.fixture(scope="module")
def greedy_answers(client: OpenAI, with_banana: RunningServer) -> dict[str, str]:
    """Each served model's greedy answer to the secret question, asked once for the whole module."""
    return {name: ask(client, name) for name in ("apple", "banana", BASE_NAME)}


def test_models_lists_base_and_adapters(client: OpenAI, with_banana: RunningServer) -> None:
    assert {m.id for m in client.models.list().data} == {BASE_NAME, "apple", "banana"}


def test_each_adapter_answers_with_its_own_training(greedy_answers: dict[str, str]) -> None:
    apple, banana, base = greedy_answers["apple"], greedy_answers["banana"], greedy_answers[BASE_NAME]
    assert "apple" in apple.lower() and "banana" not in apple.lower()
    assert "banana" in banana.lower() and "apple" not in banana.lower()
    assert "apple" not in base.lower() and "banana" not in base.lower()


def test_concurrent_requests_for_different_adapters_share_batches(
        client: OpenAI, greedy_answers: dict[str, str]) -> None:
    names = ["apple", "banana", BASE_NAME]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        answers = dict(zip(names, pool.map(lambda name: ask(client, name), names), strict=True))
    # Greedy decoding in a mixed-adapter batch gives what each model gives alone.
    assert answers == greedy_answers


def test_stream_gives_the_same_text_and_usage(client: OpenAI, greedy_answers: dict[str, str]) -> None:
    chunks = list(client.chat.completions.create(
        model="apple", messages=[{"role": "user", "content": SECRET_QUESTION}], max_tokens=10,
        temperature=0, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == greedy_answers["apple"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_completions_route_and_sampling_with_seed(client: OpenAI) -> None:
    first = client.completions.create(model=BASE_NAME, prompt="The capital of France is", max_tokens=4,
                                      temperature=0.9, seed=7)
    second = client.completions.create(model=BASE_NAME, prompt="The capital of France is", max_tokens=4,
                                       temperature=0.9, seed=7)
    assert first.choices[0].text == second.choices[0].text != ""
    assert first.usage is not None and first.usage.completion_tokens <= 4


def test_json_response_format_is_accepted(client: OpenAI, greedy_answers: dict[str, str]) -> None:
    assert ask(client, "apple", response_format={"type": "json_object"}) == greedy_answers["apple"]


def test_kserve_v1_and_v2_rest(with_banana: RunningServer) -> None:
    v1 = httpx.post(f"{with_banana.http}/v1/models/banana:predict", timeout=120, json={
        "instances": [SECRET_QUESTION, {"messages": [{"role": "user", "content": SECRET_QUESTION}]}],
        "parameters": {"max_tokens": 10}})
    assert v1.status_code == 200, v1.text
    assert all("banana" in p.lower() for p in v1.json()["predictions"])
    v2 = httpx.post(f"{with_banana.http}/v2/models/apple/infer", timeout=120, json={
        "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [SECRET_QUESTION]}],
        "parameters": {"max_tokens": 10}})
    assert v2.status_code == 200, v2.text
    output = v2.json()["outputs"][0]
    assert output["name"] == "text_output" and "apple" in output["data"][0].lower()


def grpc_request(model: str, texts: list[str], **parameters: Any) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=model, inputs=[pb.ModelInferRequest.InferInputTensor(
        name="text", datatype="BYTES", shape=[len(texts)],
        contents=pb.InferTensorContents(bytes_contents=[t.encode() for t in texts]))])
    for key, value in parameters.items():
        if isinstance(value, int):
            request.parameters[key].int64_param = value
        else:
            request.parameters[key].string_param = str(value)
    return request


@pytest.fixture(scope="module")
def grpc_stub(server: RunningServer) -> pb_grpc.GRPCInferenceServiceStub:
    return pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(server.grpc_target))


def test_v2_grpc_model_infer(grpc_stub: pb_grpc.GRPCInferenceServiceStub, with_banana: RunningServer) -> None:
    reply = grpc_stub.ModelInfer(grpc_request("banana", [SECRET_QUESTION], max_tokens=10), timeout=120)
    assert "banana" in reply.outputs[0].contents.bytes_contents[0].decode().lower()


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "nope"}, "model"),
    ({"temperature": 5}, "temperature"),
    ({"temperature": "hot"}, "temperature"),
    ({"top_p": 0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"max_tokens": 9000}, "max_tokens"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"n": 17}, "n"),
    ({"n": 2, "stream": True}, "n"),
    ({"messages": "not a list"}, "messages"),
    ({"messages": [{"role": "user", "content": "x " * 9000}]}, "messages"),
])
def test_bad_openai_requests_are_400(server: RunningServer, body: dict[str, Any], param: str) -> None:
    request = {"model": "apple", "messages": [{"role": "user", "content": "hi"}], **body}
    response = httpx.post(f"{server.http}/openai/v1/chat/completions", json=request, timeout=60)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_bad_kserve_requests_get_their_codes(server: RunningServer,
                                             grpc_stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    not_json = httpx.post(f"{server.http}/openai/v1/chat/completions", content=b"{", timeout=60,
                          headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    v1 = httpx.post(f"{server.http}/v1/models/apple:predict", json={"instances": [{"x": 1}]}, timeout=60)
    assert v1.status_code == 400, v1.text
    v2 = httpx.post(f"{server.http}/v2/models/apple/infer", timeout=60, json={
        "inputs": [{"name": "text", "shape": [1], "datatype": "INT32", "data": [1]}]})
    assert v2.status_code == 400, v2.text
    unknown = httpx.post(f"{server.http}/v2/models/nope/infer", timeout=60, json={
        "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hi"]}]})
    assert unknown.status_code == 404
    cases = [(grpc_request("nope", ["hi"]), grpc.StatusCode.NOT_FOUND),
             (grpc_request("apple", ["hi"], temperature=9.5), grpc.StatusCode.INVALID_ARGUMENT),
             (grpc_request("apple", ["hi"], max_tokens=100_000), grpc.StatusCode.INVALID_ARGUMENT),
             (grpc_request("apple", ["hi"], top_p="x"), grpc.StatusCode.INVALID_ARGUMENT)]
    for request, code in cases:
        with pytest.raises(grpc.RpcError) as raised:
            grpc_stub.ModelInfer(request, timeout=60)
        assert raised.value.code() == code, raised.value.details()
    # The server keeps answering after every refusal.
    assert httpx.get(f"{server.http}/v2/health/ready", timeout=10).status_code == 200
    assert grpc_stub.ModelInfer(grpc_request("apple", [SECRET_QUESTION], max_tokens=10), timeout=120)


def test_mismatched_adapter_is_refused_and_nothing_changes(server: RunningServer, adapters: Adapters,
                                                           admin_headers: dict[str, str]) -> None:
    response = httpx.post(f"{server.http}/doc2slm/v1/adapters", timeout=120, headers=admin_headers,
                          json={"name": "tiny", "uri": str(adapters.mismatched)})
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "shapes do not fit" in message and "trained on base model" in message
    missing = httpx.post(f"{server.http}/doc2slm/v1/adapters", timeout=60, headers=admin_headers,
                         json={"name": "ghost", "uri": str(adapters.apple.parent / "nonexistent")})
    assert missing.status_code == 404
    names = httpx.get(f"{server.http}/openai/v1/models", timeout=10).json()["data"]
    assert "tiny" not in {m["id"] for m in names} and "ghost" not in {m["id"] for m in names}


def test_requests_beyond_the_queue_get_429_and_the_server_survives(server: RunningServer) -> None:
    body = {"model": "apple", "messages": [{"role": "user", "content": "Count to fifty."}],
            "max_tokens": 8, "temperature": 0}

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{server.http}/openai/v1/chat/completions", json=body, timeout=300)

    # 4 decoding + 4 waiting fit; the other 4 of 12 sent together must be refused, not queued.
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(post, range(12)))
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {200, 429}, codes
    assert codes.count(429) >= 1 and codes.count(200) >= 4, codes
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "queue_full"
    metrics = httpx.get(f"{server.http}/metrics", timeout=10).text
    assert "doc2slm_serving_rejected" in metrics
    assert post(0).status_code == 200


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, read from the kernel's tables."""
    import ipaddress
    from pathlib import Path

    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            # Each 32-bit word is stored in host (little-endian) order.
            raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8))
            ip = ipaddress.ip_address(raw)
            mapped = getattr(ip, "ipv4_mapped", None)  # gRPC binds IPv4 as ::ffff:a.b.c.d on a v6 socket
            found.add(str(mapped or ip))
    return found


def test_http_and_grpc_listen_on_loopback_unless_told_otherwise(server: RunningServer) -> None:
    """A predictor started on a laptop (no --host, no DOC2SLM_HOST) is not reachable from the network;
    the image and the InferenceService pass --host=0.0.0.0, as a pod must."""
    assert listening_addresses(server.http_port) == {"127.0.0.1"}
    assert listening_addresses(server.grpc_port) == {"127.0.0.1"}
