"""The run's printed summary, read back from a real report written by the scoring package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from doc2slm_embedding.encoder import SentenceEncoder, load_encoder
from doc2slm_pipelines.steps.records import REPORT_DIR
from doc2slm_pipelines.summary import format_summary, load_summary
from doc2slm_scoring import build_report

REFERENCES = ["The pump must be serviced every six months.", "The unit needs 230 V mains power.",
              "Only trained electricians may open the control cabinet.", "The warning light is red.",
              "The reset button is on the back panel.", "The tank holds 40 litres."]


@pytest.fixture(scope="module")
def minilm() -> SentenceEncoder:
    return load_encoder()


def _answers(set_name: str, tuned_right: bool) -> list[dict[str, str]]:
    return [{"set": set_name, "question": f"Question {i}?", "reference": reference,
             "base_answer": "I do not know.", "tuned_answer": reference if tuned_right else "It depends."}
            for i, reference in enumerate(REFERENCES)]


def test_the_summary_says_how_much_of_the_gain_an_untrained_document_shares(tmp_path: Path,
                                                                          minilm: SentenceEncoder) -> None:
    answers = _answers("eval_heldout_questions", True) + _answers("eval_heldout_docs", False)
    build_report(answers, str(tmp_path / REPORT_DIR), minilm.embed, embedding_model="all-MiniLM-L6-v2",
                 bootstrap_samples=200)
    summary = load_summary(str(tmp_path))
    facts = summary.cards["metrics"]["facts_beyond_register"]
    line = next(line for line in format_summary(summary).splitlines() if "facts or register" in line)
    assert f"held-out questions gain {facts['heldout_questions_gain']:.3f}" in line
    assert f"difference {facts['difference']:.3f}" in line and line.endswith("too few questions")
    assert facts["difference"] > 0.3  # right answers on trained facts, vague ones on the untrained document


def test_a_run_without_a_held_out_document_prints_no_such_line(tmp_path: Path, minilm: SentenceEncoder) -> None:
    build_report(_answers("eval_heldout_questions", True), str(tmp_path / REPORT_DIR), minilm.embed,
                 embedding_model="all-MiniLM-L6-v2", bootstrap_samples=50)
    assert "facts or register" not in format_summary(load_summary(str(tmp_path)))
