"""Issue 14 on the rendered chart: who may reach and change the predictor, and where services read and write."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.render import Manifest, by_kind, containers, helm_template


def _env(container: Manifest) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _predictor(rendered: list[Manifest]) -> Manifest:
    (isvc,) = by_kind(rendered, "InferenceService")
    return isvc


def test_an_external_endpoint_without_source_ranges_is_refused() -> None:
    with pytest.raises(ValueError, match="loadBalancerSourceRanges"):
        helm_template(sets=["inferenceService.external.enabled=true"])


def test_the_admin_route_is_off_unless_enabled_and_then_takes_its_token_from_a_secret() -> None:
    (container,) = containers(_predictor(helm_template()))
    env = _env(container)
    assert "DOC2SLM_ADMIN_ENABLED" not in env and "DOC2SLM_ADMIN_TOKEN" not in env
    assert env["DOC2SLM_MAX_ADAPTERS"] == "16"
    with pytest.raises(ValueError, match="uriPrefixes"):
        helm_template(sets=["inferenceService.admin.enabled=true"])
    rendered = helm_template(sets=["inferenceService.admin.enabled=true",
                                   "inferenceService.admin.uriPrefixes={s3://doc2slm/published/}"])
    (container,) = containers(_predictor(rendered))
    env = _env(container)
    assert env["DOC2SLM_ADMIN_ENABLED"] == "true"
    assert env["DOC2SLM_ADMIN_TOKEN"] == {"secretKeyRef": {"name": "doc2slm-serving-admin", "key": "token"}}
    assert env["DOC2SLM_ADMIN_URI_PREFIXES"] == "s3://doc2slm/published/"


def test_vllm_requires_an_api_key_from_a_secret_and_never_updates_lora_at_run_time() -> None:
    isvc = _predictor(helm_template(sets=["inferenceService.runtime=huggingface-vllm"]))
    model = isvc["spec"]["predictor"]["model"]
    assert "--api-key=$(VLLM_API_KEY)" in model["args"]
    env = _env(model)
    assert env["VLLM_API_KEY"] == {"secretKeyRef": {"name": "doc2slm-vllm-api-key", "key": "api-key"}}
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "False"
    with pytest.raises(ValueError, match="apiKeySecret"):
        helm_template(sets=["inferenceService.runtime=huggingface-vllm",
                            "inferenceService.vllm.apiKeySecret.name="])


def test_each_grpc_service_is_confined_to_its_storage_prefixes_and_its_scratch_dirs() -> None:
    """DOC2SLM_ALLOWED_URI_PREFIXES follows the service's storage identity (objectStore.identities), so an
    out-of-prefix URI is PERMISSION_DENIED in the service before the object store refuses it; embedding
    has no storage at all. With the old shared Secret every service keeps the whole bucket."""
    rendered = helm_template(sets=["objectStore.bucket=team-a", "services.extraUriPrefixes={s3://shared/docs/}",
                                   "objectStore.identities.scoring.read={runs/,reports/}"])
    expected = {"extraction": "s3://team-a/docs/,", "qagen": "s3://team-a/runs/,", "embedding": "",
                "scoring": "s3://team-a/runs/,s3://team-a/reports/,"}
    deployments = {d["metadata"]["name"]: d for d in by_kind(rendered, "Deployment")}
    for service, bucket_prefixes in expected.items():
        (container,) = containers(deployments[f"doc2slm-{service}"])
        assert _env(container)["DOC2SLM_ALLOWED_URI_PREFIXES"] == \
            f"{bucket_prefixes}file:///tmp,file:///cache,s3://shared/docs/", service
    shared = helm_template(sets=["objectStore.existingSecret=doc2slm-object-store"])
    for deployment in by_kind(shared, "Deployment"):
        (container,) = containers(deployment)
        assert _env(container)["DOC2SLM_ALLOWED_URI_PREFIXES"] == "s3://doc2slm/,file:///tmp,file:///cache"


def test_the_predictor_limits_reach_its_settings_and_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    from doc2slm_common.config import load_settings
    from doc2slm_serving.settings import ServingSettings

    (container,) = containers(_predictor(helm_template(sets=["inferenceService.limits.maxTokens=512",
                                                             "inferenceService.limits.requestTimeoutSeconds=30"])))
    for name, value in _env(container).items():
        if name.startswith("DOC2SLM_") and isinstance(value, str):
            monkeypatch.setenv(name, value)
    settings = load_settings(ServingSettings)
    assert (settings.max_tokens_limit, settings.request_timeout_s) == (512, 30.0)
    assert (settings.max_body_bytes, settings.max_prompt_chars) == (4 * 1024 * 1024, 200_000)
