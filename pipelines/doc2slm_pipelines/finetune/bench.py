"""`make bench-finetune`: the trainer's tokens/s against a bare PyTorch+peft loop, and padding waste.

Both loops train the same SmolLM2-135M-Instruct LoRA model (r=16 on all linear layers, float32 on CPU) on
the very same micro-batches, alternating bare/trainer rounds so that load from other processes on the
shared cores hits both alike; the best round of each is compared. The bare loop gets its batches
pre-collated, so any cost of the trainer's data path counts against the trainer. Target: >= 0.9x.
The question contrast (contrast.py) is timed in the same rounds as training pairs per second with the term
against without it: its price, since each pair then also carries its answer after a wrong question.
Padding waste is the share of computed token positions that are padding, for packed rows, length-grouped
batches and batches in plain random order.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import time
from typing import Any

import torch

from .batching import BatchStream, padding_waste, plan_epoch
from .config import FinetuneConfig
from .contrast import with_wrong_questions
from .data import TokenizedExample, build_examples
from .model import PreparedModel, prepare_for_training
from .trainer import train

_SENTENCES = [
    "The pump must be primed before the first start.",
    "Replace the filter cartridge every six months or after 500 operating hours.",
    "Warranty claims need the serial number printed on the rating plate.",
    "Do not operate the unit above 40 degrees Celsius ambient temperature.",
    "The status light blinks amber while the firmware update is running.",
    "Employees may carry over at most five unused vacation days into the next year.",
]


def bench_records(count: int, seed: int = 0) -> list[dict[str, str]]:
    """QA pairs with one- to four-sentence answers, so lengths vary as in teacher-made data."""
    rng = random.Random(seed)
    return [{"question": f"What does section {i} of the manual say?",
             "answer": " ".join(rng.choice(_SENTENCES) for _ in range(rng.randint(1, 4))),
             "doc_id": "bench", "chunk_id": f"bench-{i}"} for i in range(count)]


def random_order_waste(examples: list[TokenizedExample], batch_size: int, seed: int) -> float:
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    real = padded = 0
    for start in range(0, len(order), batch_size):
        lengths = [len(examples[i].input_ids) for i in order[start: start + batch_size]]
        real += sum(lengths)
        padded += max(lengths) * len(lengths)
    return 1.0 - real / padded


def bare_loop_tokens_per_s(prepared: PreparedModel, batches: list[dict[str, torch.Tensor]], lr: float) -> float:
    params = [p for p in prepared.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr)
    prepared.model.train()
    tokens = 0
    started = time.perf_counter()
    for batch in batches:
        loss = prepared.model(**batch, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        mask = batch.get("attention_mask")
        tokens += int(mask.sum()) if mask is not None else int(batch["input_ids"].numel())
    return tokens / (time.perf_counter() - started)


def trainer_tokens_per_s(prepared: PreparedModel, stream: BatchStream, config: FinetuneConfig, steps: int) -> float:
    result = train(prepared, stream, config, steps, output_uri=None, fingerprint="bench")
    return result.progress.tokens_seen / result.progress.train_seconds


def pairs_per_s(prepared: PreparedModel, stream: BatchStream, config: FinetuneConfig, steps: int) -> float:
    """Training pairs per second over `steps` single-micro-batch steps (the first epoch's first batches)."""
    plan = plan_epoch(stream.examples, batch_size=stream.batch_size, max_length=stream.max_length, packing=True,
                      seed=stream.seed, epoch=0, rows_per_epoch=stream.rows_per_epoch)
    pairs = sum(len(row) for rows in plan[:steps] for row in rows)
    result = train(prepared, stream, config, steps, output_uri=None, fingerprint="bench")
    return pairs / result.progress.train_seconds


def run(steps: int, rounds: int, batch_size: int, max_length: int) -> dict[str, Any]:
    from doc2slm_common.basemodel import resolve_base_model

    config = FinetuneConfig(max_steps=steps, batch_size=batch_size, max_length=max_length, packing=True,
                            checkpoint_every=0, log_every=10**6, device="cpu").validate()
    base_dir = resolve_base_model(None)
    prepared = prepare_for_training(base_dir, config)
    records = bench_records(400)
    examples, card = build_examples(prepared.tokenizer, records, max_length)
    pad = prepared.tokenizer.pad_token_id
    stream = BatchStream(examples, batch_size=batch_size, max_length=max_length, packing=True, seed=config.seed,
                         pad_token_id=pad)
    grouped = BatchStream(examples, batch_size=batch_size, max_length=max_length, packing=False,
                          seed=config.seed, pad_token_id=pad)
    batches = [stream.micro_batch(i).tensors for i in range(steps)]
    contrast_card = dataclasses.replace(card, contrast_pairs=0)
    contrast_examples = with_wrong_questions(prepared.tokenizer, examples, records, max_length, config.seed,
                                             contrast_card)
    contrasted = BatchStream(contrast_examples, batch_size=batch_size, max_length=max_length, packing=True,
                             seed=config.seed, pad_token_id=pad)
    contrast_config = FinetuneConfig(**{**config.to_dict(), "contrast_weight": 1.0}).validate()
    bare_loop_tokens_per_s(prepared, batches[:1], config.learning_rate)  # warm up kernels and allocator
    bare, real, plain_pairs, contrast_pairs = [], [], [], []
    for _ in range(rounds):
        bare.append(bare_loop_tokens_per_s(prepared, batches, config.learning_rate))
        real.append(trainer_tokens_per_s(prepared, stream, config, steps))
        plain_pairs.append(pairs_per_s(prepared, stream, config, steps))
        contrast_pairs.append(pairs_per_s(prepared, contrasted, contrast_config, steps))
    return {
        "model": "SmolLM2-135M-Instruct", "precision": prepared.precision, "threads": torch.get_num_threads(),
        "steps_per_round": steps, "rounds": rounds, "batch_size": batch_size, "max_length": max_length,
        "bare_tokens_per_s": [round(x, 1) for x in bare], "trainer_tokens_per_s": [round(x, 1) for x in real],
        "ratio_best_trainer_over_best_bare": round(max(real) / max(bare), 3),
        "padding_waste": {"packed": round(padding_waste(stream), 4), "length_grouped": round(padding_waste(grouped), 4),
                          "random_order": round(random_order_waste(examples, batch_size, config.seed), 4)},
        "examples": card.qa_pairs, "mean_example_tokens": round(card.tokens / card.qa_pairs, 1),
        "question_contrast": {"pairs_with_copy": contrast_card.contrast_pairs,
                              "plain_pairs_per_s": [round(x, 2) for x in plain_pairs],
                              "contrast_pairs_per_s": [round(x, 2) for x in contrast_pairs],
                              "ratio_best_contrast_over_best_plain": round(max(contrast_pairs) / max(plain_pairs), 3)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (0: torch's default); 1 avoids OpenMP spin-waits on busy shared cores")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    figures = run(args.steps, args.rounds, args.batch_size, args.max_length)
    print(json.dumps(figures, indent=2))
    print(f"trainer vs bare PyTorch+peft loop: {figures['ratio_best_trainer_over_best_bare']:.3f}x "
          f"(target >= 0.9x); padding waste packed {figures['padding_waste']['packed']:.1%}, "
          f"length-grouped {figures['padding_waste']['length_grouped']:.1%}, "
          f"random order {figures['padding_waste']['random_order']:.1%}")
    contrast = figures["question_contrast"]
    print(f"question contrast: {contrast['ratio_best_contrast_over_best_plain']:.3f}x the training pairs per "
          f"second of training without it ({contrast['pairs_with_copy']} of {figures['examples']} pairs carry a copy)")


if __name__ == "__main__":
    main()
