"""The evaluate step against a real ScoringService and the real EmbeddingService it calls, on loopback: the
report lands where the quality gate and the summary read it, and the scoring service's settings are the
report's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl
from doc2slm_pipelines.steps.evaluate import evaluate_adapter, report_request, request_report
from doc2slm_pipelines.steps.quality_gate import judge_report
from doc2slm_pipelines.summary import load_summary

from tests.fixtures import start_scoring

REPORT_FILES = ("metrics.json", "pairs.csv", "similarity_hist.png", "report.md", "report.html")


def _answers(count: int) -> list[dict[str, Any]]:
    """answers.jsonl records: the tuned model repeats the reference, the base one says something else."""
    return [{"set": "eval_heldout_questions", "question": r["question"], "reference": r["answer"],
             "base_answer": "I do not know.", "tuned_answer": r["answer"], "doc_id": r["doc_id"],
             "chunk_id": r["chunk_id"]} for r in qa_records(count)]


@pytest.fixture(scope="module")
def strict_scoring(embedding_service: str) -> Iterator[str]:
    """A scoring service its operator configured: stricter thresholds, fewer resamples than the defaults."""
    running = start_scoring(embedding_service, acceptable_threshold=0.9, borderline_threshold=0.8,
                            bootstrap_samples=123)
    yield f"127.0.0.1:{running.port}"
    running.stop(0)


def test_the_report_is_the_scoring_services_where_the_gate_and_summary_read_it(scoring_service: str,
                                                                                tmp_path: Path) -> None:
    answers = storage.write_jsonl(storage.to_uri(tmp_path / "answers.jsonl"), _answers(6))
    report = request_report(report_request(answers, str(tmp_path / "report"), seed=3), scoring_service)
    assert report.report_uri == storage.join(storage.to_uri(tmp_path), "report", "report.html")
    for name in REPORT_FILES:
        assert (tmp_path / "report" / name).stat().st_size > 0, name
    assert report.metrics == json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert report.metrics["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    # The service's own defaults, since the step asked for none.
    assert report.metrics["thresholds"] == {"acceptable": 0.5, "borderline": 0.4}
    assert report.metrics["bootstrap_samples"] == 2000
    assert judge_report(report.report_uri, 0.0).passed
    assert load_summary(storage.to_uri(tmp_path)).get("metrics", "headline_set") == "eval_heldout_questions"


def test_a_threshold_set_on_the_scoring_service_shows_in_the_report(strict_scoring: str, tmp_path: Path) -> None:
    answers = storage.write_jsonl(storage.to_uri(tmp_path / "answers.jsonl"), _answers(4))
    report = request_report(report_request(answers, str(tmp_path / "report")), strict_scoring)
    assert report.metrics["thresholds"] == {"acceptable": 0.9, "borderline": 0.8}
    assert report.metrics["bootstrap_samples"] == 123
    assert "0.9" in (tmp_path / "report" / "report.md").read_text()
    # A request that names its thresholds and resamples still has them.
    asked = request_report(report_request(answers, str(tmp_path / "asked"), acceptable=0.6, borderline=0.3,
                                          bootstrap_samples=50), strict_scoring)
    assert asked.metrics["thresholds"] == {"acceptable": 0.6, "borderline": 0.3}
    assert asked.metrics["bootstrap_samples"] == 50


def test_a_request_with_one_threshold_or_negative_resamples_is_refused_before_any_call(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="both thresholds"):
        report_request("answers.jsonl", str(tmp_path), acceptable=0.7)
    with pytest.raises(InvalidInput, match="bootstrap_samples"):
        report_request("answers.jsonl", str(tmp_path), bootstrap_samples=-1)


def test_a_missing_answers_file_is_the_services_status(scoring_service: str, tmp_path: Path) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        request_report(report_request(str(tmp_path / "none.jsonl"), str(tmp_path / "report")), scoring_service)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Path:
    """An untrained LoRA adapter on the session's tiny model: real answering code, answers in milliseconds."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter = tmp_path_factory.mktemp("evaluate-step") / "adapter"
    model = AutoModelForCausalLM.from_pretrained(str(tiny_base_model))
    get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])).save_pretrained(adapter)
    return adapter


def test_evaluate_adapter_answers_writes_answers_and_the_scoring_services_report(
        scoring_service: str, tiny_base_model: Path, tiny_adapter: Path, tmp_path: Path) -> None:
    held_out = write_jsonl(tmp_path / "hq.jsonl", qa_records(3, offset=50))
    seen = write_jsonl(tmp_path / "seen.jsonl", qa_records(2))
    outcome = evaluate_adapter({"eval_heldout_questions": str(held_out), "eval_seen": str(seen)},
                               str(tiny_adapter), str(tmp_path / "work"), scoring_service,
                               base_model=str(tiny_base_model), max_questions=0, max_new_tokens=4)
    work = tmp_path / "work"
    assert outcome.questions == 5 and outcome.answers_uri == storage.to_uri(work / "answers.jsonl")
    assert len(storage.read_jsonl(outcome.answers_uri)) == 5
    assert outcome.report_prefix == storage.to_uri(work / "report")
    assert outcome.report_uri == storage.to_uri(work / "report" / "report.html")
    assert outcome.metrics["set_order"] == ["eval_heldout_questions", "eval_seen"]
    assert outcome.metrics == json.loads((work / "report" / "metrics.json").read_text())
