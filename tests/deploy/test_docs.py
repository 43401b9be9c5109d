"""docs/cluster-install.md stays true to the chart: every chart value it names exists, every values
file and overlay it tells people to use exists, and each cloud's GPU label it quotes is the one the
cloud's values file selects on."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.render import CHART, CLOUDS, MANIFESTS, ROOT, cloud_values, helm_template

DOC = (ROOT / "docs" / "cluster-install.md").read_text()
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())


FREE_FORM = ("extraEnv", "nodeSelector", "annotations")  # maps whose keys are the user's


def has_path(values: object, dotted: str) -> bool:
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        if part in FREE_FORM:
            return True
        node = node[part]
    return True


def named_values() -> set[str]:
    top = "|".join(VALUES)
    found = re.findall(rf"(?:`|--set )((?:{top})\.[\w.<>]+)(?![\w./-]*/)", DOC)
    return {name.replace("<svc>", "extraction") for name in found}


def refused_values() -> set[str]:
    """Values the guide says the schema refuses (the sentence with "are refused")."""
    sentence = DOC[DOC.index("Values that would put a key"):DOC.index("are refused")]
    return set(re.findall(r"`([\w.]+)`", sentence))


def test_every_value_the_guide_names_exists() -> None:
    named = named_values() - refused_values()
    assert len(named) >= 10
    missing = sorted(n for n in named if not has_path(VALUES, n))
    assert not missing, f"docs/cluster-install.md names values the chart lacks: {missing}"


@pytest.mark.parametrize("name", sorted(refused_values()))
def test_values_the_guide_calls_refused_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        helm_template(sets=[f"{name}=AKIAEXAMPLE"])


@pytest.mark.parametrize("cloud", CLOUDS)
def test_cloud_install_commands_point_at_real_files(cloud: str) -> None:
    assert (MANIFESTS / "overlays" / cloud / "kustomization.yaml").exists()
    assert cloud_values(cloud).exists()
    assert f"values-{cloud}.yaml" in DOC
    selector = yaml.safe_load(cloud_values(cloud).read_text())["gpu"]["nodeSelector"]
    for label, value in selector.items():
        assert f"`{label}: {value}`" in DOC, f"the guide does not quote {cloud}'s GPU selector {label}"
