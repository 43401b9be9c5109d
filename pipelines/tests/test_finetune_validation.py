"""Training stops on the validation slice: the curve is recorded, the best weights come back, and it stops
early once the validation loss no longer falls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from doc2slm_pipelines.finetune import FinetuneConfig, FinetuneInputs, finetune
from doc2slm_pipelines.finetune.checkpoint import TrainingProgress
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl
from doc2slm_pipelines.finetune.validation import BestWeights, evaluation_steps
from safetensors.torch import load_file


def test_best_weights_stop_after_patience_and_restore_the_best_step() -> None:
    model = torch.nn.Linear(2, 2)
    progress = TrainingProgress()
    best = BestWeights(FinetuneConfig(early_stopping_patience=2), progress)
    weights_at: dict[int, torch.Tensor] = {}
    stops = []
    for step, loss in [(1, 1.0), (2, 0.7), (3, 0.8), (4, 0.75)]:
        with torch.no_grad():
            model.weight.fill_(float(step))
        weights_at[step] = model.weight.detach().clone()
        progress.step = step
        stops.append(best.record(step, loss, model))
    assert stops == [False, False, False, True]
    assert progress.best_step == 2 and progress.best_validation_value == 0.7 and progress.stopped_early
    assert progress.validation_curve == [[1, 1.0], [2, 0.7], [3, 0.8], [4, 0.75]]
    assert best.restore(model)
    assert torch.equal(model.weight, weights_at[2])


def test_patience_zero_never_stops_but_keeps_the_best() -> None:
    model = torch.nn.Linear(2, 2)
    progress = TrainingProgress()
    best = BestWeights(FinetuneConfig(early_stopping_patience=0), progress)
    assert not any(best.record(step, loss, model) for step, loss in [(1, 0.5), (2, 0.9), (3, 1.2), (4, 2.0)])
    assert progress.best_step == 1 and not progress.stopped_early


def test_evaluation_steps_once_per_epoch_and_at_the_end() -> None:
    assert evaluation_steps(FinetuneConfig(), steps_per_epoch=5, total_steps=12) == {5, 10, 12}
    assert evaluation_steps(FinetuneConfig(eval_every=4), steps_per_epoch=5, total_steps=12) == {4, 8, 12}


@pytest.mark.parametrize("name,value", [("eval_every", -1), ("early_stopping_patience", -1),
                                        ("early_stopping_min_gain", -0.1)])
def test_bad_validation_settings_are_refused_by_name(name: str, value: float) -> None:
    from doc2slm_common.errors import InvalidInput

    with pytest.raises(InvalidInput, match=name):
        FinetuneConfig(**{name: value}).validate()  # type: ignore[arg-type]


def test_an_overfitting_run_stops_early_and_returns_its_best_adapter(tmp_path: Path, tiny_base_model: Path) -> None:
    # Validation questions whose answers follow another rule than training's: as training fits its own
    # rule, their loss rises, so the run must stop before max_steps and keep an early step's weights.
    write_jsonl(tmp_path / "train.jsonl", qa_records(24))
    validation = [{"question": r["question"], "answer": f"Part {i} has no code.", "doc_id": "doc-a"}
                  for i, r in enumerate(qa_records(8, offset=100))]
    write_jsonl(tmp_path / "validation.jsonl", validation)
    config = FinetuneConfig(max_steps=40, eval_every=4, early_stopping_patience=2, batch_size=4, max_length=64,
                            learning_rate=5e-3, lora_rank=8, checkpoint_every=0, mix_chunks_share=0.0,
                            validation_metric="loss").validate()
    out = tmp_path / "adapter"
    card = finetune(FinetuneInputs(str(tmp_path / "train.jsonl"), str(out), str(tiny_base_model),
                                   eval_uri=str(tmp_path / "validation.jsonl")), config)
    validation_card = card["validation"]
    curve = validation_card["curve"]
    assert card["steps"] < 40 and validation_card["stopped_early"]
    assert [step for step, _ in curve] == list(range(4, card["steps"] + 1, 4))
    best_step, best_loss = min(curve, key=lambda point: point[1])
    assert validation_card["best_step"] == best_step and card["eval_loss"] == pytest.approx(best_loss, abs=1e-4)
    written = json.loads((out / "training_card.json").read_text())
    assert written["validation"]["curve"] == curve
    assert load_file(str(out / "adapter_model.safetensors"))  # the adapter of the best step was saved


def test_an_answer_metric_keeps_the_highest_value() -> None:
    model = torch.nn.Linear(2, 2)
    progress = TrainingProgress(validation_metric="answer_similarity")
    best = BestWeights(FinetuneConfig(early_stopping_patience=2), progress)
    stops = [best.record(step, value, model) for step, value in [(1, 0.40), (2, 0.52), (3, 0.49), (4, 0.47)]]
    assert stops == [False, False, False, True]
    assert progress.best_step == 2 and progress.best_validation_value == 0.52


@pytest.mark.parametrize("metric", ["answer_f1", "answer_similarity"])
def test_answers_judge_the_checkpoint_as_the_evaluation_would(tmp_path: Path, tiny_base_model: Path,
                                                               metric: str) -> None:
    # One judgement at the last step: the saved adapter is the judged one, so the answering step's greedy
    # answers to the validation questions must be exactly the answers the judge scored.
    from doc2slm_pipelines.answering import answer_base_and_tuned
    from doc2slm_pipelines.finetune import answer_validation

    write_jsonl(tmp_path / "train.jsonl", qa_records(16))
    validation = qa_records(6, offset=200)
    write_jsonl(tmp_path / "validation.jsonl", validation)
    config = FinetuneConfig(max_steps=6, eval_every=6, batch_size=4, max_length=64, learning_rate=5e-3,
                            lora_rank=8, checkpoint_every=0, mix_chunks_share=0.0, validation_metric=metric,
                            validation_max_new_tokens=12).validate()
    scored: list[list[str]] = []
    original = answer_validation.AnswerJudge.score

    def spy(self: answer_validation.AnswerJudge, model: torch.nn.Module) -> float:
        value = original(self, model)
        scored.append(list(self.last_answers))
        return value

    out = tmp_path / "adapter"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(answer_validation.AnswerJudge, "score", spy)
        card = finetune(FinetuneInputs(str(tmp_path / "train.jsonl"), str(out), str(tiny_base_model),
                                       eval_uri=str(tmp_path / "validation.jsonl")), config)
    judged = card["validation"]
    assert judged["metric"] == metric and judged["best_step"] == 6 and len(scored) == 2  # base, then step 6
    assert judged["base_value"] is not None and [step for step, _ in judged["curve"]] == [6]
    assert [step for step, _ in judged["loss_curve"]] == [6] and card["eval_loss"] == judged["loss_curve"][0][1]
    low, high = (0.0, 1.0) if metric == "answer_f1" else (-1.0, 1.0)
    assert low <= judged["best_value"] <= high
    answered = answer_base_and_tuned([{"question": r["question"], "reference": r["answer"]} for r in validation],
                                     base_model=str(tiny_base_model), adapter_uri=str(out), max_new_tokens=12,
                                     device="cpu")
    assert [a["tuned_answer"] for a in answered] == scored[-1]
    assert [a["base_answer"] for a in answered] == scored[0]


def test_auto_picks_the_embedder_when_it_is_installed() -> None:
    from doc2slm_pipelines.finetune.answer_validation import resolve_metric

    assert resolve_metric("auto") == "answer_similarity"  # the bundled MiniLM is in this venv
    assert resolve_metric("loss") == "loss"
