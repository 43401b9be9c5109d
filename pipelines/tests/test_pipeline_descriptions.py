"""The compiled pipeline describes every input, so the KFP UI explains each parameter a user may set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from doc2slm_pipelines.pipeline import compile_pipeline


@pytest.fixture(scope="module")
def pipeline_spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = compile_pipeline(tmp_path_factory.mktemp("compiled") / "pipeline.yaml")
    spec: dict[str, Any] = next(iter(yaml.safe_load_all(Path(path).read_text())))
    return spec


def _undescribed(definitions: dict[str, Any]) -> list[str]:
    """Names of the parameters and artifacts in a KFP inputDefinitions/outputDefinitions block that lack
    a description (KFP copies it from the function's Google-style docstring)."""
    entries = {**definitions.get("parameters", {}), **definitions.get("artifacts", {})}
    return sorted(name for name, entry in entries.items() if not str(entry.get("description", "")).strip())


def test_every_pipeline_parameter_has_a_description(pipeline_spec: dict[str, Any]) -> None:
    parameters = pipeline_spec["root"]["inputDefinitions"]["parameters"]
    assert len(parameters) > 30
    assert _undescribed(pipeline_spec["root"]["inputDefinitions"]) == []


def test_every_component_input_and_output_has_a_description(pipeline_spec: dict[str, Any]) -> None:
    components = pipeline_spec["components"]
    assert set(components) == {f"comp-{name}" for name in
                               ("extract", "generate-qa", "split", "finetune", "evaluate", "deploy")}
    missing = {name: {"inputs": _undescribed(component.get("inputDefinitions", {})),
                      "outputs": _undescribed(component.get("outputDefinitions", {}))}
               for name, component in components.items()}
    assert {name: gaps for name, gaps in missing.items() if gaps["inputs"] or gaps["outputs"]} == {}


def test_the_default_rule_is_stated_where_the_ui_shows_it(pipeline_spec: dict[str, Any]) -> None:
    parameters = pipeline_spec["root"]["inputDefinitions"]["parameters"]
    # One spelling of "use the service's setting" per kind of value, said on the parameter itself.
    assert "negative: the qagen service's setting" in parameters["paraphrase_share"]["description"]
    assert "0: the qagen service's setting" in parameters["pairs_per_chunk"]["description"]
    assert '"": the qagen service\'s setting' in parameters["generation_mode"]["description"]
