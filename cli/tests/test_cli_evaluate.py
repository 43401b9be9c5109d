"""`doc2slm evaluate` on question files a user brings: base and tuned answers, a report per file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from doc2slm_cli.main import main
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Path:
    root = tmp_path_factory.mktemp("cli-evaluate")
    (root / "tiny").symlink_to(tiny_base_model, target_is_directory=True)
    write_jsonl(root / "train.jsonl", qa_records(8))
    code = main(["finetune", "--train", str(root / "train.jsonl"), "--out", str(root / "adapter"),
                 "--base-model", str(root / "tiny"), "--max-steps", "2", "--max-length", "64", "--lora-rank", "4",
                 "--no-packing", "--gradient-checkpointing", "off"])
    assert code == 0
    return root


def test_evaluate_reports_each_user_file_as_a_set(tuned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_jsonl(tuned / "faq.jsonl", [{"question": r["question"], "answer": r["answer"]} for r in qa_records(3)])
    write_jsonl(tuned / "policy.jsonl", qa_records(2, offset=40))
    out = tuned / "report"
    code = main(["evaluate", "--eval", str(tuned / "faq.jsonl"), "--eval", str(tuned / "policy.jsonl"),
                 "--adapter", str(tuned / "adapter"), "--out", str(out), "--base-model", str(tuned / "tiny"),
                 "--max-new-tokens", "4", "--bootstrap-samples", "50"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "5 questions answered" in printed and "faq: n=3" in printed and "policy: n=2" in printed
    answers = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert [a["set"] for a in answers] == ["faq"] * 3 + ["policy"] * 2
    assert all(isinstance(a["base_answer"], str) and isinstance(a["tuned_answer"], str) for a in answers)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["sets"]) == {"faq", "policy"} and metrics["counts"]["total"] == 5
    for name in ("report.html", "report.md", "pairs.csv", "similarity_hist.png"):
        assert (out / name).stat().st_size > 0


def test_a_file_without_answers_is_invalid(tuned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_jsonl(tuned / "bad.jsonl", [{"question": "What?"}])
    code = main(["evaluate", "--eval", str(tuned / "bad.jsonl"), "--adapter", str(tuned / "adapter"),
                 "--out", str(tuned / "never"), "--base-model", str(tuned / "tiny")])
    assert code == 1
    assert capsys.readouterr().err.startswith("INVALID_ARGUMENT:")
    assert not (tuned / "never" / "metrics.json").exists()
