"""Noise on the input embeddings while training (NEFTune, Jain et al. 2023).

Each training forward adds uniform noise in [-s, s] to the token embeddings, s = alpha / sqrt(L * d) for
rows of L tokens of width d, as the paper does (L counts a packed row's padding too, as transformers' own
NEFTune counts its padded rows). It is a regulariser: the model cannot lean on the exact
embedding of each word of the training questions, which is what a reworded question takes away too.
Evaluation, validation and serving never see it: the hook acts only in training mode and is removed when
training ends.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch


def noise_scale(alpha: float, tokens: int, width: int) -> float:
    """The half-width of the uniform noise for a row of `tokens` embeddings of `width` numbers."""
    return alpha / math.sqrt(max(1, tokens) * max(1, width))


def _add_noise(alpha: float) -> Any:
    def hook(module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor | None:
        if not module.training or output.dim() != 3:
            return None
        scale = noise_scale(alpha, output.shape[1], output.shape[2])
        # Drawn from torch's global generator, which the trainer seeds and checkpoints (resumes are exact).
        noise = torch.empty_like(output).uniform_(-scale, scale)
        return output + noise

    return hook


@contextlib.contextmanager
def embedding_noise(model: Any, alpha: float) -> Iterator[None]:
    """While inside, training-mode forwards of `model` see noisy input embeddings; alpha 0 changes nothing."""
    if alpha <= 0:
        yield
        return
    handle = model.get_input_embeddings().register_forward_hook(_add_noise(alpha))
    try:
        yield
    finally:
        handle.remove()
