"""The pre-publish adapter check on real adapters: accepted, mismatched, and each rule broken once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from doc2slm_common.basemodel import BUNDLED_MODEL_HF_ID, BUNDLED_MODEL_NAME
from doc2slm_serving.adapter_check import (
    AdapterRejected,
    check_adapter,
    inspect_adapter,
    linear_shapes,
    safetensors_header,
)
from doc2slm_serving.demo_adapters import DemoAdapters


@pytest.fixture(scope="module")
def base_config(bundled_dir: Path) -> dict[str, object]:
    return json.loads((bundled_dir / "config.json").read_text())


def base_names(bundled_dir: Path) -> set[str]:
    return {str(bundled_dir), BUNDLED_MODEL_NAME, BUNDLED_MODEL_HF_ID}


def edited_copy(source: Path, target: Path, **changes: object) -> Path:
    shutil.copytree(source, target)
    config = json.loads((target / "adapter_config.json").read_text())
    config.update(changes)
    (target / "adapter_config.json").write_text(json.dumps(config))
    return target


def test_trained_adapter_passes(adapters: DemoAdapters, base_config: dict[str, object],
                                bundled_dir: Path) -> None:
    report = check_adapter(adapters.apple, base_config, base_names(bundled_dir))
    assert report.rank == 8 and report.target_modules == ["q_proj", "v_proj"]


def test_adapter_of_another_base_is_refused_with_every_reason(
        adapters: DemoAdapters, base_config: dict[str, object], bundled_dir: Path) -> None:
    with pytest.raises(AdapterRejected) as raised:
        check_adapter(adapters.mismatched, base_config, base_names(bundled_dir))
    problems = " | ".join(raised.value.problems)
    assert "weight shapes do not fit" in problems and "[8, 64]" in problems
    assert "trained on base model" in problems


@pytest.mark.parametrize(("change", "expected"), [
    ({"r": 12}, "vLLM's LoRA ranks"),
    ({"modules_to_save": ["lm_head"]}, "modules_to_save"),
    ({"target_modules": ["q_proj", "rotary_emb"]}, "not projections of the base model"),
    ({"target_modules": []}, "target_modules is empty"),
    ({"peft_type": "IA3"}, "only LORA"),
    ({"use_dora": True}, "DoRA"),
    ({"base_model_name_or_path": "meta-llama/Llama-2-13b-chat-hf"}, "trained on base model"),
])
def test_each_rule(adapters: DemoAdapters, base_config: dict[str, object], bundled_dir: Path,
                   tmp_path: Path, change: dict[str, object], expected: str) -> None:
    broken = edited_copy(adapters.apple, tmp_path / "broken", **change)
    report = inspect_adapter(broken, base_config, base_names(bundled_dir))
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems


def test_embedding_weights_are_refused(adapters: DemoAdapters, base_config: dict[str, object],
                                       tmp_path: Path) -> None:
    """A header naming lm_head weights (as modules_to_save or trainable tokens would write)."""
    broken = tmp_path / "with-lm-head"
    shutil.copytree(adapters.apple, broken)
    header = json.dumps({"base_model.model.lm_head.weight": {"dtype": "F32", "shape": [1, 1],
                                                             "data_offsets": [0, 4]}}).encode()
    (broken / "adapter_model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 4)
    assert "lm_head.weight" in next(iter(safetensors_header(broken / "adapter_model.safetensors")))
    report = inspect_adapter(broken, base_config)
    assert any("embedding/lm_head" in problem for problem in report.problems)


def test_missing_or_broken_files(tmp_path: Path) -> None:
    assert "no adapter_config.json" in inspect_adapter(tmp_path).problems[0]
    (tmp_path / "adapter_config.json").write_text("{not json")
    assert "not JSON" in inspect_adapter(tmp_path).problems[0]
    (tmp_path / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 8, "target_modules": ["q_proj"], "base_model_name_or_path": "x"}))
    (tmp_path / "adapter_model.safetensors").write_bytes(b"\x01")
    assert any("cannot read" in p for p in inspect_adapter(tmp_path).problems)


def test_linear_shapes_follow_grouped_query_attention(base_config: dict[str, object]) -> None:
    shapes = linear_shapes(base_config)
    assert shapes["q_proj"] == (576, 576) and shapes["k_proj"] == (576, 192)
    assert shapes["down_proj"] == (1536, 576)
