"""Base and tuned answers to evaluation questions, batched with left padding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from doc2slm_common.basemodel import resolve_base_model
from doc2slm_common.errors import InvalidInput
from doc2slm_pipelines.answering import (
    ANSWER_FIELDS,
    answer_eval_files,
    generate_answers,
    load_base_and_adapter,
)
from doc2slm_pipelines.finetune import FinetuneConfig, FinetuneInputs, finetune
from doc2slm_pipelines.finetune.data import format_prompt
from doc2slm_pipelines.finetune.synthetic import build_random_model_dir, qa_records, tiny_shape, write_jsonl
from transformers import AutoTokenizer


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("answering")
    tokenizer = AutoTokenizer.from_pretrained(str(resolve_base_model(None)))
    build_random_model_dir(root / "tiny", tiny_shape, tokenizer)
    write_jsonl(root / "train.jsonl", qa_records(24))
    config = FinetuneConfig(max_steps=12, batch_size=4, max_length=64, learning_rate=5e-3, lora_rank=8,
                            checkpoint_every=0)
    finetune(FinetuneInputs(str(root / "train.jsonl"), str(root / "adapter"), str(root / "tiny")), config)
    return root / "tiny", root / "adapter"


def test_every_question_gets_a_base_and_a_tuned_answer(adapter: tuple[Path, Path], tmp_path: Path) -> None:
    base_dir, adapter_dir = adapter
    held_out = write_jsonl(tmp_path / "eval_heldout_questions.jsonl", qa_records(5, doc_id="doc-a", offset=100))
    seen = write_jsonl(tmp_path / "eval_seen.jsonl", qa_records(3))
    progress: list[tuple[int, int]] = []
    answered = answer_eval_files([str(held_out), str(seen)], base_model=str(base_dir), adapter_uri=str(adapter_dir),
                                 out_uri=str(tmp_path / "answers.jsonl"), max_new_tokens=8, batch_size=3,
                                 on_progress=lambda done, total: progress.append((done, total)))
    written = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    assert written == answered and len(answered) == 8
    assert all(set(r) == set(ANSWER_FIELDS) for r in answered)
    assert [r["set"] for r in answered] == ["eval_heldout_questions"] * 5 + ["eval_seen"] * 3
    assert answered[0]["reference"] == "The code of part 100 is 11." and answered[0]["chunk_id"] == "doc-a-c0"
    assert all(isinstance(r["base_answer"], str) and isinstance(r["tuned_answer"], str) for r in answered)
    assert any(r["base_answer"] != r["tuned_answer"] for r in answered)  # the adapter changes the answers
    assert progress[-1] == (16, 16)


def test_batched_left_padded_answers_equal_one_at_a_time(adapter: tuple[Path, Path]) -> None:
    base_dir, adapter_dir = adapter
    model, tokenizer = load_base_and_adapter(str(base_dir), adapter_dir, torch.device("cpu"))
    prompts = [format_prompt(tokenizer, q) for q in ("Hi?", "What is the code of part 3?",
                                                      "Which of the parts has the longest code name of all?")]
    batched = generate_answers(model, tokenizer, prompts, max_new_tokens=6, batch_size=3)
    single = generate_answers(model, tokenizer, prompts, max_new_tokens=6, batch_size=1)
    assert batched == single


def test_eval_file_without_questions_is_refused(adapter: tuple[Path, Path], tmp_path: Path) -> None:
    base_dir, adapter_dir = adapter
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "no question here"}])
    with pytest.raises(InvalidInput, match="record 1"):
        answer_eval_files([str(bad)], base_model=str(base_dir), adapter_uri=str(adapter_dir),
                          out_uri=str(tmp_path / "a.jsonl"))


def test_the_onnx_engine_answers_through_the_same_records(adapter: tuple[Path, Path], tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime_genai")
    base_dir, adapter_dir = adapter
    questions = write_jsonl(tmp_path / "eval_heldout_questions.jsonl", qa_records(4, doc_id="doc-a", offset=100))
    progress: list[tuple[int, int]] = []
    answered = answer_eval_files([str(questions)], base_model=str(base_dir), adapter_uri=str(adapter_dir),
                                 out_uri=str(tmp_path / "answers.jsonl"), max_new_tokens=8, batch_size=3,
                                 on_progress=lambda done, total: progress.append((done, total)),
                                 engine="onnx")
    assert len(answered) == 4 and all(set(r) == set(ANSWER_FIELDS) for r in answered)
    assert any(r["base_answer"] != r["tuned_answer"] for r in answered)  # the merged adapter changes them
    assert progress[-1] == (8, 8)
    # float32 by default, so the evaluation's answers (and its verdict) do not move with the engine.
    reference = answer_eval_files([str(questions)], base_model=str(base_dir), adapter_uri=str(adapter_dir),
                                  out_uri=str(tmp_path / "reference.jsonl"), max_new_tokens=8, batch_size=3,
                                  engine="transformers")
    assert answered == reference


def test_an_unknown_onnx_precision_is_refused(adapter: tuple[Path, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    base_dir, adapter_dir = adapter
    questions = write_jsonl(tmp_path / "q.jsonl", qa_records(1))
    monkeypatch.setenv("DOC2SLM_ONNX_PRECISION", "int3")
    with pytest.raises(InvalidInput, match="DOC2SLM_ONNX_PRECISION"):
        answer_eval_files([str(questions)], base_model=str(base_dir), adapter_uri=str(adapter_dir),
                          out_uri=str(tmp_path / "a.jsonl"), engine="onnx")
