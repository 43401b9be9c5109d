"""The environment the chart gives each service is what that service reads: every DOC2SLM_* variable
set on a container names a real settings field (a typo would be silently ignored at run time), and the
values the chart sets pass the services' own validation."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator

import pytest
from doc2slm_common.config import Doc2slmSettings, load_settings
from doc2slm_common.server import ServerSettings

from tests.deploy.render import Manifest, by_kind, release_config

# Read by doc2slm_common itself (basemodel.cache_dir, uri_access) rather than by a settings class.
READ_DIRECTLY = {"DOC2SLM_CACHE_DIR", "DOC2SLM_ALLOWED_URI_PREFIXES"}
SERVICES = ("extraction", "qagen", "embedding", "scoring")


def settings_class(service: str) -> type[Doc2slmSettings]:
    module = importlib.import_module(f"doc2slm_{service}.settings")
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, Doc2slmSettings) and v is not Doc2slmSettings]
    (cls,) = [c for c in classes if c.__module__ == module.__name__]
    return cls


def env_names(cls: type[Doc2slmSettings]) -> set[str]:
    return {f"DOC2SLM_{name.upper()}" for name in cls.model_fields}


def container_env(manifests: list[Manifest], service: str) -> dict[str, str]:
    (deployment,) = [d for d in by_kind(manifests, "Deployment") if d["metadata"]["name"] == f"doc2slm-{service}"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


@pytest.fixture
def chart_environment(
    chart_renders: dict[str, list[Manifest]], request: pytest.FixtureRequest
) -> Iterator[dict[str, str]]:
    """The container's literal env plus the ConfigMap, applied to os.environ for one test."""
    service = request.param
    config = release_config(chart_renders["generic"])
    env = {**config["data"], **container_env(chart_renders["generic"], service)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.parametrize("service", SERVICES)
def test_every_doc2slm_variable_on_a_container_is_a_setting(
    chart_renders: dict[str, list[Manifest]], service: str
) -> None:
    known = env_names(ServerSettings) | env_names(settings_class(service)) | READ_DIRECTLY
    unknown = {k for k in container_env(chart_renders["generic"], service) if k.startswith("DOC2SLM_")} - known
    assert not unknown, f"{service}: the chart sets {sorted(unknown)}, which no setting reads"


@pytest.mark.parametrize("chart_environment", SERVICES, indirect=True)
def test_the_chart_environment_passes_the_services_validation(chart_environment: dict[str, str]) -> None:
    server = load_settings(ServerSettings)
    assert server.host == "0.0.0.0"
    assert server.port == int(chart_environment["DOC2SLM_PORT"])
    assert server.metrics_port == 9090
    assert server.drain_seconds > 0


@pytest.mark.parametrize("chart_environment", ["qagen"], indirect=True)
def test_qagen_reads_the_teacher_from_the_configmap(chart_environment: dict[str, str]) -> None:
    settings = load_settings(settings_class("qagen")).model_dump()
    assert settings["teacher_base_url"] == chart_environment["OPENAI_BASE_URL"]
    assert settings["teacher_model"] == chart_environment["DOC2SLM_TEACHER_MODEL"]


def test_predictor_args_parse_with_the_predictor_own_parser(chart_renders: dict[str, list[Manifest]]) -> None:
    import argparse

    from doc2slm_serving.__main__ import add_serving_arguments

    parser = argparse.ArgumentParser(exit_on_error=False)
    add_serving_arguments(parser)
    for cloud, rendered in chart_renders.items():
        for isvc in by_kind(rendered, "InferenceService"):
            for container in isvc["spec"]["predictor"].get("containers", []):
                args = parser.parse_args(container["args"])  # an unknown flag raises here
                assert args.served_name and args.adapter, cloud
