"""NEFTune noise on the input embeddings: only while training, bounded, gone afterwards (a fine-tune with it:
test_finetune_train.py)."""

from __future__ import annotations

from pathlib import Path

import torch
from doc2slm_pipelines.finetune.noise import embedding_noise, noise_scale
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
