"""Steady-state training throughput and model FLOPs utilisation of the project's own trainer.

MFU here is the common convention: 6 x N x tokens/s over the device's dense bf16 peak, where N counts
every weight a token passes through (all linear layers, 4-bit ones at their unpacked size, the output
head and the LoRA matrices; not the input embedding, which is a lookup). 6N is forward (2N) plus backward
(4N); it ignores that frozen weights need no weight gradient (-2N), that activation recomputation
repeats the forward (+2N) and the attention-score FLOPs, so it is comparable with published MFU figures
rather than an exact count of the work done.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from .batching import BatchStream
from .config import FinetuneConfig
from .data import TokenizedExample
from .model import PreparedModel
from .trainer import train

H100_BF16_DENSE_PEAK_FLOPS = 989.4e12


@dataclass
class Throughput:
    tokens_per_s: float
    step_seconds: float
    tokens_per_step: int
    measured_steps: int
    flops_params: int
    mfu: float | None
    peak_memory_gib: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def random_token_examples(count: int, length: int, vocab: int, seed: int = 0) -> list[TokenizedExample]:
    """Full-length rows of random tokens, every position in the loss: pure throughput load."""
    rng = random.Random(seed)
    rows = [[rng.randrange(4, vocab) for _ in range(length)] for _ in range(count)]
    return [TokenizedExample(row, list(row), "chunk") for row in rows]


def flops_params(model: torch.nn.Module) -> int:
    """N of the 6N rule: every parameter except the input embedding (4-bit weights unpacked)."""
    from .quantize import count_parameters

    total, _trainable = count_parameters(model)
    get_input = getattr(model, "get_input_embeddings", None)
    embedding = get_input() if callable(get_input) else None
    return total - (embedding.weight.numel() if embedding is not None else 0)


def measure_training_throughput(prepared: PreparedModel, config: FinetuneConfig, *, warmup_steps: int,
                                measured_steps: int, peak_flops: float | None) -> Throughput:
    """Run warmup + measured steps of `train` on random full rows; time only the measured ones."""
    vocab = int(prepared.model.get_input_embeddings().weight.shape[0])
    steps = warmup_steps + measured_steps
    rows = config.batch_size * config.grad_accumulation * steps
    examples = random_token_examples(rows, config.max_length, vocab, seed=config.seed)
    stream = BatchStream(examples, batch_size=config.batch_size, max_length=config.max_length, packing=True,
                         seed=config.seed, pad_token_id=0)
    stamps: list[float] = []

    def on_step(step: int, total: int, loss: float) -> None:
        # train() has already synchronised (it reads the loss), so the clock sees finished work.
        stamps.append(time.perf_counter())

    run_config = FinetuneConfig(**{**config.to_dict(), "max_steps": steps, "checkpoint_every": 0,
                                   "log_every": max(1, steps)})
    result = train(prepared, stream, run_config, steps, output_uri=None, fingerprint="throughput",
                   on_step=on_step)
    seconds = stamps[-1] - stamps[warmup_steps - 1] if warmup_steps > 0 else result.progress.train_seconds
    tokens_per_step = config.batch_size * config.grad_accumulation * config.max_length
    tokens_per_s = tokens_per_step * measured_steps / seconds
    n = flops_params(prepared.model)
    mfu = 6.0 * n * tokens_per_s / peak_flops if peak_flops else None
    return Throughput(tokens_per_s, seconds / measured_steps, tokens_per_step, measured_steps, n, mfu,
                      result.peak_memory_bytes / 1024**3)
