"""NEFTune noise on the input embeddings: only while training, bounded, gone afterwards, recorded in the card."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from doc2slm_common.errors import InvalidInput
from doc2slm_pipelines.finetune import FinetuneConfig, FinetuneInputs, finetune
from doc2slm_pipelines.finetune.noise import embedding_noise, noise_scale
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def _embeddings(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.get_input_embeddings()(ids).clone()  # type: ignore[operator]


def test_noise_is_bounded_drawn_only_in_training_mode_and_removed_afterwards(tiny_base_model: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(str(tiny_base_model), dtype=torch.float32)
    ids = torch.randint(0, 100, (2, 12))
    clean = _embeddings(model, ids)
    bound = noise_scale(5.0, 12, clean.shape[-1])
    with embedding_noise(model, 5.0):
        model.train()
        noisy = _embeddings(model, ids)
        model.eval()
        judged = _embeddings(model, ids)
    model.train()
    after = _embeddings(model, ids)
    difference = (noisy - clean).abs()
    assert 0 < difference.max() <= bound + 1e-7
    assert difference.mean() > bound / 4  # uniform on [-s, s]: mean |x| is s / 2
    assert torch.equal(judged, clean) and torch.equal(after, clean)
    with embedding_noise(model, 0.0):
        assert torch.equal(_embeddings(model, ids), clean)


def test_a_fine_tune_with_noise_learns_and_differs_from_one_without(tmp_path: Path, tiny_base_model: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl", qa_records(32))
    cards, weights = {}, {}
    for alpha in (0.0, 5.0):
        out = tmp_path / f"adapter-{alpha:g}"
        config = FinetuneConfig(max_steps=12, batch_size=4, max_length=64, learning_rate=3e-3, lora_rank=8,
                                checkpoint_every=0, neftune_alpha=alpha).validate()
        cards[alpha] = finetune(FinetuneInputs(str(tmp_path / "train.jsonl"), str(out), str(tiny_base_model)),
                                config)
        weights[alpha] = load_file(str(out / "adapter_model.safetensors"))
    assert cards[5.0]["hyperparameters"]["neftune_alpha"] == 5.0
    losses = [loss for _step, loss in cards[5.0]["loss_curve"]]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.2
    assert any(not torch.equal(weights[0.0][name], weights[5.0][name]) for name in weights[0.0])


def test_a_negative_alpha_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="neftune_alpha"):
        FinetuneConfig(neftune_alpha=-1.0).validate()
