"""The kustomize base, components and cloud overlays build with kubectl and stay equal to the chart."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from tests.deploy.render import (
    CLOUDS,
    MANIFESTS,
    Manifest,
    cloud_values,
    helm_template,
    key,
    kustomize,
    load_sync_module,
    tool,
)

SYNC = load_sync_module()


def strip_cloud_label(manifest: Manifest) -> Manifest:
    """The overlays add doc2slm.io/cloud through kustomize labels; the normalised chart has none."""
    manifest = copy.deepcopy(manifest)
    manifest["metadata"].pop("namespace", None)
    manifest["metadata"].get("labels", {}).pop("doc2slm.io/cloud", None)
    template = manifest.get("spec", {}).get("template")
    if isinstance(template, dict):
        template.get("metadata", {}).get("labels", {}).pop("doc2slm.io/cloud", None)
    # kustomize labels also reach volumeClaimTemplates; harmless, but the chart keeps them minimal.
    for claim in manifest.get("spec", {}).get("volumeClaimTemplates", []):
        claim["metadata"].get("labels", {}).pop("doc2slm.io/cloud", None)
    return manifest


def as_map(manifests: list[Manifest]) -> dict[tuple[str, str], Manifest]:
    return {key(m): m for m in manifests}


def test_generated_base_and_components_are_up_to_date() -> None:
    assert SYNC.main(["--helm", str(tool("helm")), "--check"]) == 0, (
        "manifests/ is stale: run .venv/bin/python manifests/sync_from_chart.py")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_overlay_has_the_same_kinds_and_names_as_the_chart(
    chart_renders: dict[str, list[Manifest]], overlay_renders: dict[str, list[Manifest]], cloud: str
) -> None:
    assert sorted(map(key, overlay_renders[cloud])) == sorted(map(key, chart_renders[cloud]))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_overlay_objects_equal_the_chart_objects(
    chart_renders: dict[str, list[Manifest]], overlay_renders: dict[str, list[Manifest]], cloud: str
) -> None:
    chart = as_map([SYNC.normalize(copy.deepcopy(m)) for m in chart_renders[cloud]])
    overlay = as_map([strip_cloud_label(m) for m in overlay_renders[cloud]])
    for object_key, expected in chart.items():
        assert overlay[object_key] == expected, f"{cloud}: {object_key} differs between chart and overlay"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_overlay_sets_namespace_and_cloud_label(overlay_renders: dict[str, list[Manifest]], cloud: str) -> None:
    for manifest in overlay_renders[cloud]:
        assert manifest["metadata"]["namespace"] == "doc2slm"
        assert manifest["metadata"]["labels"]["doc2slm.io/cloud"] == cloud


def test_components_match_the_chart_options(tmp_path: Path) -> None:
    """An overlay with the hpa and vllm-runtime components equals the chart with those values on."""
    manifests = Path(os.path.relpath(MANIFESTS, tmp_path))  # kustomize wants relative paths
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{manifests / 'overlays' / 'eks'}]\n"
        f"components: [{manifests / 'components' / 'hpa'}, {manifests / 'components' / 'vllm-runtime'}]\n"
    )
    built = as_map([strip_cloud_label(m) for m in kustomize(tmp_path)])
    sets = ["inferenceService.runtime=huggingface-vllm"] + [
        f"services.{svc}.autoscaling.enabled=true" for svc in ("extraction", "qagen", "embedding", "scoring")]
    chart = as_map([SYNC.normalize(m) for m in helm_template([cloud_values("eks")], sets)])
    assert sorted(built) == sorted(chart)
    for object_key, expected in chart.items():
        assert built[object_key] == expected, object_key
