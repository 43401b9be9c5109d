"""`doc2slm evaluate` on question files a user brings: base and tuned answers, a report per file, built
in-process or by a real ScoringService (--server) on loopback, the same either way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from doc2slm_cli.main import main
from doc2slm_common.local_services import free_port
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl
from doc2slm_scoring.kfp_metrics import flatten_metrics

from tests.fixtures import start_scoring


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


def _evaluate(tuned: Path, out: Path, *extra: str) -> int:
    write_jsonl(tuned / "faq.jsonl", qa_records(4, offset=20))
    return main(["evaluate", "--eval", str(tuned / "faq.jsonl"), "--adapter", str(tuned / "adapter"),
                 "--out", str(out), "--base-model", str(tuned / "tiny"), "--max-new-tokens", "4", *extra])


def test_through_a_scoring_server_the_report_is_the_in_process_one(tuned: Path, scoring_service: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert _evaluate(tuned, tuned / "local") == 0
    assert _evaluate(tuned, tuned / "served", "--server", scoring_service) == 0
    assert "4 questions answered; report: file://" in capsys.readouterr().out
    for name in ("answers.jsonl", "report.md"):
        assert (tuned / "served" / name).read_text() == (tuned / "local" / name).read_text(), name
    local, served = (json.loads((tuned / side / "metrics.json").read_text()) for side in ("local", "served"))
    # One MiniLM in both, batched differently: the same figures to float32 precision.
    assert flatten_metrics(served) == pytest.approx(flatten_metrics(local), abs=1e-5)
    assert served["thresholds"] == local["thresholds"] and served["bootstrap_samples"] == local["bootstrap_samples"]


def test_the_scoring_servers_settings_apply_unless_flags_name_others(tuned: Path, embedding_service: str) -> None:
    running = start_scoring(embedding_service, acceptable_threshold=0.85, borderline_threshold=0.75,
                            bootstrap_samples=77)
    try:
        server = f"127.0.0.1:{running.port}"
        assert _evaluate(tuned, tuned / "strict", "--server", server) == 0
        assert _evaluate(tuned, tuned / "flags", "--server", server, "--acceptable", "0.6", "--borderline", "0.2",
                         "--bootstrap-samples", "40") == 0
    finally:
        running.stop(0)
    strict, flags = (json.loads((tuned / side / "metrics.json").read_text()) for side in ("strict", "flags"))
    assert (strict["thresholds"], strict["bootstrap_samples"]) == ({"acceptable": 0.85, "borderline": 0.75}, 77)
    assert (flags["thresholds"], flags["bootstrap_samples"]) == ({"acceptable": 0.6, "borderline": 0.2}, 40)


def test_a_server_that_is_not_there_is_unavailable(tuned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _evaluate(tuned, tuned / "nowhere", "--server", f"127.0.0.1:{free_port()}")
    assert code == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("UNAVAILABLE:")


def test_conflicting_flags_are_refused_before_any_model_loads(tuned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tuned / "refused"
    assert _evaluate(tuned, out, "--server", "127.0.0.1:1", "--embedding-server", "127.0.0.1:2") == 2
    assert "--embedding-server" in capsys.readouterr().err
    assert _evaluate(tuned, out, "--acceptable", "0.7") == 1
    assert capsys.readouterr().err.startswith("INVALID_ARGUMENT: give both thresholds")
    assert not out.exists()
