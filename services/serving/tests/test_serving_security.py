"""Issue 14, finding 2, on the real predictor process: nobody swaps or unloads a model without the
credentials meant for it, and a failed replacement keeps what was served."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import grpc
import httpx
import pytest
from doc2slm_serving.admin import ADMIN_PREFIX, AdminRoutes, LockedRepository
from doc2slm_serving.demo_adapters import SECRET_QUESTION
from doc2slm_serving.demo_adapters import DemoAdapters as Adapters
from doc2slm_serving.launcher import ServerProcess as RunningServer
from doc2slm_serving.settings import ServingSettings
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc as pb_grpc


def _add(server: RunningServer, name: str, uri: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{server.http}{ADMIN_PREFIX}/adapters", json={"name": name, "uri": uri},
                      headers=headers or {}, timeout=120)


def _answer(server: RunningServer, model: str) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": SECRET_QUESTION}], "max_tokens": 10,
            "temperature": 0}
    response = httpx.post(f"{server.http}/openai/v1/chat/completions", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"]).lower()


def _models(server: RunningServer) -> set[str]:
    return {m["id"] for m in httpx.get(f"{server.http}/openai/v1/models", timeout=10).json()["data"]}


def test_the_admin_route_is_off_by_default() -> None:
    routes = AdminRoutes(None, ServingSettings(), LockedRepository()).router().routes  # type: ignore[arg-type]
    assert f"{ADMIN_PREFIX}/adapters" not in {getattr(r, "path", "") for r in routes}
    with pytest.raises(ValueError, match="admin_token"):
        ServingSettings(admin_enabled=True, admin_uri_prefixes=["/srv"])
    with pytest.raises(ValueError, match="admin_uri_prefixes"):
        ServingSettings(admin_enabled=True, admin_token="t" * 32)


def test_an_adapter_swap_needs_the_token(server: RunningServer, adapters: Adapters) -> None:
    for headers in [{}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": "Basic eDp5"}]:
        response = _add(server, "apple", adapters.banana.as_uri(), headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["type"] == "authentication_error"
    assert "apple" in _answer(server, "apple")  # still apple's training


def test_an_adapter_uri_outside_the_prefixes_is_refused(server: RunningServer, admin_headers: dict[str, str],
                                                        tmp_path: Path, adapters: Adapters) -> None:
    outside = tmp_path / "elsewhere"
    shutil.copytree(adapters.banana, outside)
    for uri in [outside.as_uri(), "file:///proc/self", f"{adapters.apple.parent.as_uri()}/../x",
                "s3://any-bucket/adapter"]:
        response = _add(server, "stolen", uri, admin_headers)
        assert response.status_code == 403, response.text
    assert "stolen" not in _models(server)


def test_the_repository_api_cannot_unload_or_load(server: RunningServer) -> None:
    for action in ("unload", "load"):
        response = httpx.post(f"{server.http}/v2/repository/models/apple/{action}", timeout=10)
        assert response.status_code == 403, response.text
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="apple"), timeout=10)
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert stub.ModelReady(pb.ModelReadyRequest(name="apple"), timeout=10).ready
    assert httpx.get(f"{server.http}/v2/health/ready", timeout=10).status_code == 200
    assert "apple" in _answer(server, "apple")


def _truncated_copy(adapter: Path, target: Path) -> Path:
    """The header is intact (the pre-load check passes), the tensor data is cut: loading fails."""
    shutil.copytree(adapter, target)
    weights = target / "adapter_model.safetensors"
    data = weights.read_bytes()
    header_end = 8 + struct.unpack("<Q", data[:8])[0]
    json.loads(data[8:header_end])
    weights.write_bytes(data[:header_end + (len(data) - header_end) // 2])
    return target


def test_a_failed_replacement_keeps_the_served_adapter(server: RunningServer, adapters: Adapters,
                                                       admin_headers: dict[str, str]) -> None:
    broken = _truncated_copy(adapters.banana, adapters.apple.parent / "broken-banana")
    response = _add(server, "apple", broken.as_uri(), admin_headers)
    assert response.status_code >= 400, response.text
    answer = _answer(server, "apple")
    assert "apple" in answer and "banana" not in answer


def test_the_number_of_adapters_is_capped(server: RunningServer, adapters: Adapters,
                                          admin_headers: dict[str, str]) -> None:
    for name in ("second", "third"):  # apple, second, third: 3 of 3
        assert _add(server, name, adapters.banana.as_uri(), admin_headers).status_code == 200
    refused = _add(server, "fourth", adapters.banana.as_uri(), admin_headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "limit_exceeded"
    # Replacing one that is served is not a new one.
    assert _add(server, "second", adapters.banana.as_uri(), admin_headers).status_code == 200
    assert _models(server) >= {"apple", "second", "third"} and "fourth" not in _models(server)
