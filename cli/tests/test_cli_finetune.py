"""`doc2slm finetune` trains an adapter with progress, and names a bad setting with its status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from doc2slm_cli.main import main
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Path:
    root = tmp_path_factory.mktemp("cli-finetune")
    (root / "tiny").symlink_to(tiny_base_model, target_is_directory=True)
    write_jsonl(root / "train.jsonl", qa_records(8))
    write_jsonl(root / "eval.jsonl", qa_records(2, offset=50))
    return root


def test_finetune_command_writes_an_adapter_and_reports(inputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = inputs / "adapter"
    code = main(["finetune", "--train", str(inputs / "train.jsonl"), "--eval", str(inputs / "eval.jsonl"),
                 "--out", str(out), "--base-model", str(inputs / "tiny"), "--max-steps", "3", "--max-length", "64",
                 "--lora-rank", "8", "--no-packing", "--gradient-checkpointing", "off"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "estimate:" in captured.err and "fine-tune" in captured.err  # the estimate and the progress bar
    assert "steps 3, final loss" in captured.out and "eval loss" in captured.out
    card = json.loads((out / "training_card.json").read_text())
    assert card["hyperparameters"]["packing"] is False and card["hyperparameters"]["lora_rank"] == 8
    assert (out / "adapter_model.safetensors").is_file()


def test_bad_setting_exits_with_the_status_name(inputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["finetune", "--train", str(inputs / "train.jsonl"), "--out", str(inputs / "never"),
                 "--base-model", str(inputs / "tiny"), "--lora-dropout", "1.5"])
    assert code == 1
    assert "INVALID_ARGUMENT: fine-tune setting lora_dropout=1.5" in capsys.readouterr().err
    assert not (inputs / "never").exists()


def test_missing_training_file_is_not_found(inputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["finetune", "--train", str(inputs / "absent.jsonl"), "--out", str(inputs / "never2"),
                 "--base-model", str(inputs / "tiny")])
    assert code == 1 and capsys.readouterr().err.startswith("NOT_FOUND:")
