#!/usr/bin/env python3
"""GPU check of the fine-tune step: run by scripts/gpu_check.sh on one CUDA machine with no hub access.

Phases (each guarded by the time budget; figures are written after every phase, so a cut-off run
still reports what it measured):
  loss        random Llama-2-7B shape, 4-bit NF4 built on the GPU, the project's trainer on synthetic
              QA data with a learnable rule for a few hundred steps: the loss must fall.
  throughput  the same 7B, then a 13B shape: QLoRA tokens/s, MFU and peak memory at a long sequence.
  serving     the production path end to end on a small random model saved to disk: `finetune()`
              (QLoRA through transformers' bitsandbytes loading, checkpoints), then doc2slm_serving's
              GenerationEngine loads base + adapter and answers trained questions, and the evaluation
              answering step answers the same questions for comparison.
MFU = 6 x N x tokens/s / 989.4 TFLOP/s (H100 dense bf16); N and the convention: finetune/throughput.py.
`--tiny` runs every phase with tiny shapes on CPU (bitsandbytes' CPU 4-bit path) to prove the script.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from doc2slm_pipelines.finetune.batching import BatchStream
from doc2slm_pipelines.finetune.config import FinetuneConfig
from doc2slm_pipelines.finetune.data import build_examples
from doc2slm_pipelines.finetune.model import PreparedModel, attach_lora
from doc2slm_pipelines.finetune.quantize import quantize_linear_layers
from doc2slm_pipelines.finetune.synthetic import (
    LLAMA2_7B,
    LLAMA2_13B,
    LlamaShape,
    build_random_model_dir,
    qa_records,
    synthetic_tokenizer,
    tiny_shape,
    write_jsonl,
)
from doc2slm_pipelines.finetune.throughput import H100_BF16_DENSE_PEAK_FLOPS, measure_training_throughput
from doc2slm_pipelines.finetune.trainer import train

SMALL_SERVING_SHAPE = LlamaShape(hidden=1024, layers=8, heads=16, intermediate=2816, vocab=0)


class Check:
    def __init__(self, out: Path, budget_s: float, tiny: bool) -> None:
        self.out, self.budget_s, self.tiny = out, budget_s, tiny
        self.start = time.monotonic()
        self.device = torch.device("cuda" if torch.cuda.is_available() and not tiny else "cpu")
        self.figures: dict[str, Any] = {"env": environment(self.device), "tiny": tiny, "phases": {},
                                        "skipped": [], "errors": {}}
        self.records = qa_records(512)
        self.tokenizer = synthetic_tokenizer([r["question"] + " " + r["answer"] for r in self.records])

    def left_s(self) -> float:
        return self.budget_s - (time.monotonic() - self.start)

    def run(self, name: str, needs_s: float, phase: Callable[[], dict[str, Any]]) -> None:
        if self.left_s() < needs_s:
            self.figures["skipped"].append(f"{name}: {self.left_s():.0f}s left of the budget, needs ~{needs_s:.0f}s")
        else:
            started = time.monotonic()
            try:
                self.figures["phases"][name] = phase() | {"phase_seconds": round(time.monotonic() - started, 1)}
            except Exception as error:  # one broken phase must not hide the others' figures
                self.figures["errors"][name] = f"{type(error).__name__}: {error}\n{traceback.format_exc()[-3000:]}"
            release(self.device)
        self.save()

    def save(self) -> None:
        self.figures["elapsed_s"] = round(time.monotonic() - self.start, 1)
        path = self.out / "gpu_figures.json"
        path.write_text(json.dumps(self.figures, indent=2))


def environment(device: torch.device) -> dict[str, Any]:
    env: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                           "device": str(device)}
    for name in ("transformers", "peft", "bitsandbytes"):
        try:
            env[name] = __import__(name).__version__
        except Exception as error:
            env[name] = f"unavailable: {error}"
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["gpu_memory_gib"] = round(torch.cuda.get_device_properties(device).total_memory / 1024**3, 1)
    return env


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def quantized_random_llama(shape: LlamaShape, tokenizer: Any, device: torch.device) -> tuple[Any, float]:
    """A random Llama built in bf16 straight on the GPU (no CPU fp32 copy), then made 4-bit layer by layer."""
    from transformers import LlamaForCausalLM

    started = time.monotonic()
    compute = torch.bfloat16 if device.type == "cuda" else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(compute)
    try:
        with torch.device(device):
            model = LlamaForCausalLM(shape.config(tokenizer))
    finally:
        torch.set_default_dtype(previous)
    quantize_linear_layers(model, device, compute)
    return model, time.monotonic() - started


def base_config(tiny: bool, **overrides: Any) -> FinetuneConfig:
    values: dict[str, Any] = {"lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.05, "learning_rate": 1e-3,
                              "warmup_ratio": 0.05, "packing": True, "gradient_checkpointing": True,
                              "checkpoint_every": 0, "log_every": 25, "force_4bit": tiny}
    values.update(overrides)
    return FinetuneConfig(**values).validate()


def loss_and_throughput(check: Check, shape: LlamaShape, name: str, loss_steps: int,
                        seq_len: int, batch: int, measure_steps: int, loss_len: int = 256,
                        loss_batch: int = 4) -> dict[str, Any]:
    model, build_s = quantized_random_llama(shape, check.tokenizer, check.device)
    figures: dict[str, Any] = {"shape": shape.__dict__, "build_seconds": round(build_s, 1)}
    loss_config = base_config(check.tiny, max_steps=max(1, loss_steps), max_length=loss_len,
                              batch_size=loss_batch)
    prepared: PreparedModel = attach_lora(model, check.tokenizer, loss_config, check.device, quantized=True)
    figures["precision"] = prepared.precision
    figures["trainable_params"] = prepared.trainable_params
    if loss_steps > 0:
        examples, card = build_examples(check.tokenizer, check.records, loss_config.max_length)
        stream = BatchStream(examples, batch_size=loss_config.batch_size, max_length=loss_config.max_length,
                             packing=True, seed=loss_config.seed, pad_token_id=check.tokenizer.pad_token_id)
        result = train(prepared, stream, loss_config, loss_steps, output_uri=None, fingerprint=name)
        losses = [loss for _step, loss in result.progress.loss_curve]
        window = max(1, min(10, len(losses) // 4))
        figures["loss"] = {"steps": loss_steps, "tokens_per_step": round(card.tokens / stream.per_epoch),
                           "first_mean": sum(losses[:window]) / window, "last_mean": sum(losses[-window:]) / window,
                           "curve_every_10": [losses[i] for i in range(0, len(losses), 10)] + [losses[-1]],
                           "tokens_per_s": round(result.tokens_per_s, 1), "train_seconds":
                           round(result.progress.train_seconds, 1)}
        figures["loss"]["falls"] = figures["loss"]["last_mean"] < 0.7 * figures["loss"]["first_mean"]
    if measure_steps > 0:
        speed_config = base_config(check.tiny, max_length=seq_len, batch_size=batch)
        peak = H100_BF16_DENSE_PEAK_FLOPS if check.device.type == "cuda" else None
        figures["throughput"] = measure_training_throughput(prepared, speed_config, warmup_steps=2,
                                                            measured_steps=measure_steps, peak_flops=peak).to_dict()
    del prepared, model
    return figures


def throughput_only(check: Check, shape: LlamaShape, seq_len: int, batch: int, steps: int) -> dict[str, Any]:
    return loss_and_throughput(check, shape, "throughput", 0, seq_len, batch, steps)


def production_path(check: Check, steps: int) -> dict[str, Any]:
    """finetune() from a saved model dir, then serve the adapter with the serving engine and answer."""
    from doc2slm_pipelines.answering import answer_base_and_tuned
    from doc2slm_pipelines.finetune.run import FinetuneInputs, finetune
    from doc2slm_serving.engine import GenerationEngine
    from doc2slm_serving.params import SamplingParams

    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    shape = tiny_shape(len(check.tokenizer)) if check.tiny else LlamaShape(
        **{**SMALL_SERVING_SHAPE.__dict__, "vocab": len(check.tokenizer)})
    dtype = torch.bfloat16 if check.device.type == "cuda" else torch.float32
    base_dir = build_random_model_dir(work / "base", shape, check.tokenizer, dtype=dtype)
    trained = check.records[:64]
    write_jsonl(work / "train.jsonl", trained)
    config = base_config(check.tiny, max_steps=steps, max_length=256, batch_size=4, checkpoint_every=max(1, steps // 3),
                         learning_rate=2e-3, gradient_checkpointing=None)
    card = finetune(FinetuneInputs(str(work / "train.jsonl"), str(work / "adapter"), str(base_dir)), config)
    figures: dict[str, Any] = {key: card[key] for key in ("device", "precision", "steps", "final_loss", "tokens_per_s",
                                                          "peak_memory_gib", "train_seconds", "wall_seconds")}
    figures["first_loss"] = card["loss_curve"][0][1]
    figures["estimate_seconds"] = round(card["estimate"]["seconds"], 1)

    questions = trained[:8]
    engine = GenerationEngine(base_dir, device=check.device.type)
    engine.load()
    try:
        engine.load_adapter("tuned", work / "adapter")
        served = []
        for record in questions:
            prompt = engine.encode_chat([{"role": "user", "content": record["question"]}])
            tuned = engine.generate(prompt, SamplingParams(max_new_tokens=16), adapter="tuned", timeout_s=120).text
            base = engine.generate(prompt, SamplingParams(max_new_tokens=16), adapter=None, timeout_s=120).text
            served.append({"question": record["question"], "reference": record["answer"], "served_tuned": tuned.strip(),
                           "served_base": base.strip()})
    finally:
        engine.close()
    squash = lambda text: "".join(text.split())  # noqa: E731 - the word-level tokenizer decodes with spaces
    figures["served"] = served
    figures["served_exact_matches"] = sum(squash(s["served_tuned"]) == squash(s["reference"]) for s in served)
    answered = answer_base_and_tuned([{"set": "seen", "question": q["question"], "reference": q["answer"]}
                                      for q in questions], base_model=str(base_dir), adapter_uri=str(work / "adapter"),
                                     max_new_tokens=16, batch_size=8)
    figures["answering_agrees_with_serving"] = sum(
        squash(a["tuned_answer"]) == squash(s["served_tuned"]) for a, s in zip(answered, served, strict=True))
    figures["questions"] = len(questions)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny shapes on CPU: proves the script, measures nothing")
    parser.add_argument("--out", default=os.environ.get("OUT", "out/gpu_check"), help="folder for gpu_figures.json")
    parser.add_argument("--budget-s", type=float, default=400.0, help="stop starting phases after this long")
    parser.add_argument("--loss-steps", type=int, default=200)
    parser.add_argument("--loss-len", type=int, default=256, help="row length of the loss phase")
    parser.add_argument("--loss-batch", type=int, default=4, help="rows per step of the loss phase")
    parser.add_argument("--seq-len", type=int, default=1024, help="sequence length of the throughput phase")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--measure-steps", type=int, default=6)
    parser.add_argument("--serve-steps", type=int, default=200)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    check = Check(out, args.budget_s, args.tiny)
    if check.device.type != "cuda" and not args.tiny:
        print("no CUDA device: run with --tiny to check the script on CPU", file=sys.stderr)
        return 2
    if args.tiny:
        big = small = tiny_shape(len(check.tokenizer))
        args.loss_steps, args.seq_len, args.batch = min(args.loss_steps, 20), 64, 2
        args.loss_len, args.loss_batch = 64, 2
        args.measure_steps, args.serve_steps = min(args.measure_steps, 3), min(args.serve_steps, 20)
    else:
        big, small = LLAMA2_7B, LLAMA2_13B
    check.run("llama2_7b", 90, lambda: loss_and_throughput(check, big, "llama2-7b", args.loss_steps, args.seq_len,
                                                          args.batch, args.measure_steps, args.loss_len,
                                                          args.loss_batch))
    check.run("llama2_13b", 100, lambda: throughput_only(check, small, args.seq_len, args.batch, args.measure_steps))
    check.run("production_path", 60, lambda: production_path(check, args.serve_steps))
    print(json.dumps(check.figures, indent=2))
    return 1 if check.figures["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
