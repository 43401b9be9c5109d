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
    assert progress.best_step == 2 and progress.best_validation_loss == 0.7 and progress.stopped_early
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
                            learning_rate=5e-3, lora_rank=8, checkpoint_every=0, mix_chunks_share=0.0).validate()
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
