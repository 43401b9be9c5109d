"""Renders shared by the deploy tests: each cloud's chart and overlay once per session."""

from __future__ import annotations

import pytest

from tests.deploy.render import CLOUDS, MANIFESTS, Manifest, cloud_values, helm_template, kustomize


@pytest.fixture(scope="session")
def chart_renders() -> dict[str, list[Manifest]]:
    """cloud -> rendered chart objects; "generic" is values.yaml alone."""
    renders = {"generic": helm_template()}
    for cloud in CLOUDS:
        renders[cloud] = helm_template([cloud_values(cloud)])
    return renders


@pytest.fixture(scope="session")
def overlay_renders() -> dict[str, list[Manifest]]:
    return {cloud: kustomize(MANIFESTS / "overlays" / cloud) for cloud in CLOUDS}
