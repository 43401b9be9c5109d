"""The fine-tune step end to end: data in, estimate, train (or resume), adapter directory out.

Output (at `output_uri`, a local directory or s3:// prefix): adapter_model.safetensors,
adapter_config.json, the tokenizer files and training_card.json. A finished output with the same
fingerprint is returned as is, so re-running an unchanged pipeline costs nothing.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from doc2slm_common import storage

from .answer_validation import LOSS, AnswerJudge, resolve_metric
from .batching import BatchStream
from .card import CARD_NAME, build_card, run_fingerprint
from .checkpoint import checkpoint_dir
from .config import FinetuneConfig
from .contrast import with_wrong_questions
from .data import DataCard, TokenizedExample, build_examples
from .distributed import Ranks, barrier, process_group, rank_device, ranks_from_env
from .estimate import ModelShape, TrainingEstimate, estimate_training
from .model import attach_lora, load_base_model, load_tokenizer, pick_device, use_gradient_checkpointing
from .trainer import StepCallback, train
from .validation import ValidationSlice

log = logging.getLogger(__name__)


@dataclass
class FinetuneInputs:
    train_uri: str
    output_uri: str
    base_model: str | None = None  # resolve_base_model spec: None/"bundled", a path, s3://, a hub id
    eval_uri: str | None = None
    chunks_uri: str | None = None  # chunks.jsonl, used when mix_chunks_share > 0


def _resolve_base(spec: str | None) -> Path:
    from doc2slm_common.basemodel import resolve_base_model

    return Path(resolve_base_model(spec))


def finetune(inputs: FinetuneInputs, config: FinetuneConfig, *, on_step: StepCallback | None = None,
             on_estimate: Any = None) -> dict[str, Any]:
    """Train a LoRA adapter; returns the training card (also written beside the adapter).

    Launched by torchrun (WORLD_SIZE > 1) it is one data-parallel rank of the job: every rank trains on
    its share of each step, rank 0 writes checkpoints, adapter and card, and the others wait for it.
    """
    config.validate()
    ranks = ranks_from_env()
    device = rank_device(pick_device(config), ranks)
    with process_group(ranks, device):
        return _finetune(inputs, config, ranks, device, on_step=on_step, on_estimate=on_estimate)


def _finetune(inputs: FinetuneInputs, config: FinetuneConfig, ranks: Ranks, device: torch.device, *,
              on_step: StepCallback | None, on_estimate: Any) -> dict[str, Any]:
    wall_start = time.perf_counter()
    output_uri = storage.to_uri(inputs.output_uri)
    train_bytes = storage.read_bytes(inputs.train_uri)
    pairs = storage.read_jsonl(inputs.train_uri)
    chunks = storage.read_jsonl(inputs.chunks_uri) if inputs.chunks_uri and config.mix_chunks_share else []
    base_dir = _resolve_base(inputs.base_model)
    base_name = inputs.base_model or "bundled:SmolLM2-135M-Instruct"
    extra = json.dumps(chunks, sort_keys=True).encode() if chunks else b""
    if ranks.distributed:
        # A step's data depends on the world size, so a checkpoint of another world size must not resume.
        extra += f"world_size={ranks.world_size}".encode()
    fingerprint = run_fingerprint(config, base_name, train_bytes, extra)
    finished = _finished_card(output_uri, fingerprint)
    if finished is not None:
        log.info("adapter at %s is already trained with these data and settings; reusing it", output_uri)
        return finished

    tokenizer = load_tokenizer(base_dir)
    examples, data_card = build_examples(tokenizer, pairs, config.max_length, chunks=chunks,
                                         mix_chunks_share=config.mix_chunks_share, seed=config.seed)
    if config.contrast_weight > 0:
        examples = with_wrong_questions(tokenizer, examples, pairs, config.max_length, config.seed, data_card)
    stream = BatchStream(examples, batch_size=config.batch_size, max_length=config.max_length,
                         packing=config.packing, seed=config.seed, pad_token_id=tokenizer.pad_token_id)
    validation = _validation_slice(tokenizer, inputs.eval_uri, config, judge=ranks.is_main)
    eval_count = validation.examples if validation else 0
    # Each optimizer step takes grad_accumulation micro-batches on every rank.
    micro_per_step = config.grad_accumulation * ranks.world_size
    total_steps = stream.total_steps(config.epochs, config.max_steps, micro_per_step)

    quantized = device.type == "cuda" or config.force_4bit
    checkpointing = use_gradient_checkpointing(config, device)
    from transformers import AutoConfig

    shape = ModelShape.from_config(AutoConfig.from_pretrained(str(base_dir)))
    tokens_per_step = round(data_card.tokens / max(1, stream.per_epoch)) * micro_per_step
    estimate: TrainingEstimate = estimate_training(shape, config, device=device, total_steps=total_steps,
                                                   tokens_per_step=tokens_per_step, quantized=quantized,
                                                   checkpointing=checkpointing, devices=ranks.world_size)
    log.info("%s", estimate.summary())
    if on_estimate is not None and ranks.is_main:
        on_estimate(estimate)

    model, quantized = load_base_model(base_dir, config, device)
    prepared = attach_lora(model, tokenizer, config, device, quantized)
    result = train(prepared, stream, config, total_steps, output_uri=output_uri, fingerprint=fingerprint,
                   on_step=on_step, validation=validation, ranks=ranks)
    card = build_card(config=config, base_model=base_name, base_model_dir=str(base_dir), data=data_card,
                      estimate=estimate, prepared=prepared, result=result,
                      wall_seconds=time.perf_counter() - wall_start, fingerprint=fingerprint,
                      eval_examples=eval_count)
    card["world_size"] = ranks.world_size
    if ranks.is_main:
        save_adapter(prepared.model, tokenizer, card, output_uri)
    # The others return only once the adapter is complete, so no rank reports success before it exists.
    barrier(ranks)
    return card


def _validation_slice(tokenizer: Any, eval_uri: str | None, config: FinetuneConfig, *, judge: bool
                      ) -> ValidationSlice | None:
    """The validation file as loss examples and, for an answer metric, an answer judge (on rank 0 only,
    the rank that judges)."""
    if not eval_uri:
        return None
    from .data import tokenize_pair

    card = DataCard()
    records = [r for r in storage.read_jsonl(eval_uri)
               if isinstance(r.get("question"), str) and isinstance(r.get("answer"), str)]
    examples = []
    for index, record in enumerate(records):
        example = tokenize_pair(tokenizer, record["question"], record["answer"], config.max_length, card)
        if example is not None:
            example.record = index
            examples.append(example)
    if not examples:
        return None
    stream = BatchStream(examples, batch_size=config.batch_size, max_length=config.max_length,
                         packing=False, seed=config.seed, pad_token_id=tokenizer.pad_token_id)
    metric = resolve_metric(config.validation_metric)
    answer_judge = AnswerJudge(tokenizer, records, config, metric) if judge and metric != LOSS else None
    return ValidationSlice(stream, metric, answer_judge, _contrast_stream(tokenizer, examples, records, config))


def _contrast_stream(tokenizer: Any, examples: list[TokenizedExample], records: list[dict[str, Any]],
                     config: FinetuneConfig) -> BatchStream | None:
    """The validation examples, each also after a wrong question, for the question's value; None when
    none has a partner (a single answer)."""
    card = DataCard()
    # Twice max_length: a validation example is never dropped for the room its wrong-question copy takes.
    paired = with_wrong_questions(tokenizer, examples, records, 2 * config.max_length, config.seed, card)
    if not card.contrast_pairs:
        return None
    return BatchStream([e for e in paired if e.contrast_start], batch_size=config.batch_size,
                       max_length=2 * config.max_length, packing=True, seed=config.seed,
                       pad_token_id=tokenizer.pad_token_id)


def _finished_card(output_uri: str, fingerprint: str) -> dict[str, Any] | None:
    card_uri = storage.join(output_uri, CARD_NAME)
    if not storage.exists(card_uri):
        return None
    card: dict[str, Any] = json.loads(storage.read_text(card_uri))
    return card if card.get("fingerprint") == fingerprint else None


def save_adapter(model: Any, tokenizer: Any, card: dict[str, Any], output_uri: str) -> None:
    """Adapter, tokenizer and card to the output; the card goes last, so its presence means complete."""
    with tempfile.TemporaryDirectory(prefix="doc2slm-adapter-") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        for path in sorted(Path(tmp).iterdir()):
            if path.is_file():
                storage.write_bytes(storage.join(output_uri, path.name), path.read_bytes())
    storage.write_text(storage.join(output_uri, CARD_NAME), json.dumps(card, indent=2))
    if not storage.is_s3(output_uri):
        # The adapter is complete; the local checkpoints (optimizer state, several times the adapter's
        # size) have no further use.
        shutil.rmtree(storage.local_path(checkpoint_dir(output_uri)), ignore_errors=True)
    log.info("adapter written to %s", output_uri)
