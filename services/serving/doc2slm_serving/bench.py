"""Benchmark (`make bench-serve`): tokens/s and time to first token, base vs adapter, merged vs unmerged.

Three engines over the same base model, measured in the same run, rounds interleaved so that a busy
machine slows them alike:
- base:      the plain model, no peft (the baseline);
- adapter:   a LoRA adapter of the fine-tuning step's shape (r=16 on all seven projections), unmerged,
             chosen per request as the server does (and the base model through the same PeftModel);
- merged:    the same adapter folded into the weights (what a single-adapter deployment could do).
Each at concurrency 1 and 4 (4 requests queued together are decoded as one batch). The adapter's
B matrices are random (init_lora_weights=False) so it changes the output; its speed does not depend
on the values. Ratios are printed against the base model at the same concurrency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from doc2slm_common.basemodel import resolve_base_model

from doc2slm_serving.engine import GenerationEngine
from doc2slm_serving.params import SamplingParams
from doc2slm_serving.rows import GenerationRequest

PROMPTS = ["Write a short story about a lighthouse keeper.", "Explain how a bicycle gear works.",
           "Describe a walk through a forest in autumn.", "Give advice to a new gardener."]
ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class Measure:
    variant: str
    concurrency: int
    tokens_per_s: float
    ttft_ms: float
    requests: int
    tokens: int


class _TimingSink:
    def __init__(self, started: float) -> None:
        self.started = started
        self.first_text: float | None = None
        self.tokens = 0
        self.done = threading.Event()

    def on_text(self, text: str) -> None:
        if self.first_text is None:
            self.first_text = time.perf_counter()

    def on_finish(self, reason: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.tokens = completion_tokens
        self.done.set()

    def on_error(self, error: BaseException) -> None:
        print(f"request failed: {error}", file=sys.stderr)
        self.done.set()


def make_adapter(base_dir: Path, out_dir: Path) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    config = LoraConfig(r=16, lora_alpha=32, target_modules=ALL_PROJECTIONS, init_lora_weights=False,
                        task_type="CAUSAL_LM")
    get_peft_model(AutoModelForCausalLM.from_pretrained(base_dir), config).save_pretrained(str(out_dir))
    return out_dir


def run_wave(engine: GenerationEngine, adapter: str | None, concurrency: int, max_tokens: int,
             offset: int) -> tuple[float, list[_TimingSink]]:
    """Queue `concurrency` requests at once; returns the wall time until the last one finished."""
    params = SamplingParams(max_new_tokens=max_tokens, ignore_eos=True)  # same work for every variant
    started = time.perf_counter()
    sinks = []
    for i in range(concurrency):
        prompt = engine.encode_chat([{"role": "user", "content": PROMPTS[(offset + i) % len(PROMPTS)]}])
        sink = _TimingSink(started)
        engine.submit(GenerationRequest(prompt, adapter, params, sink))
        sinks.append(sink)
    for sink in sinks:
        sink.done.wait()
    return time.perf_counter() - started, sinks


def benchmark(base_spec: str | None, device: str, max_tokens: int, rounds: int) -> list[Measure]:
    base_dir = resolve_base_model(base_spec)
    with tempfile.TemporaryDirectory() as scratch:
        adapter_dir = make_adapter(base_dir, Path(scratch) / "adapter")
        engines = {name: GenerationEngine(base_dir, device=device, max_batch_size=4, batch_wait_s=0.02)
                   for name in ("base", "lora", "merged")}
        for engine in engines.values():
            engine.load()
        engines["lora"].load_adapter("adapter", adapter_dir)
        engines["merged"].load_adapter("adapter", adapter_dir)
        engines["merged"].merge_adapter("adapter")
    variants: dict[str, tuple[GenerationEngine, str | None]] = {
        "base": (engines["base"], None), "adapter": (engines["lora"], "adapter"),
        "base-via-peft": (engines["lora"], None), "merged": (engines["merged"], None)}
    for engine, adapter in variants.values():  # warm-up: first calls allocate caches
        run_wave(engine, adapter, 1, 4, 0)
    walls: dict[tuple[str, int], list[float]] = {}
    sinks: dict[tuple[str, int], list[_TimingSink]] = {}
    for round_index in range(rounds):
        for concurrency in (1, 4):
            for name, (engine, adapter) in variants.items():
                wall, wave = run_wave(engine, adapter, concurrency, max_tokens, round_index)
                walls.setdefault((name, concurrency), []).append(wall)
                sinks.setdefault((name, concurrency), []).extend(wave)
    for engine in engines.values():
        engine.close()
    measures = []
    for (name, concurrency), wall_times in walls.items():
        done = sinks[(name, concurrency)]
        tokens = sum(s.tokens for s in done)
        ttfts = [(s.first_text - s.started) * 1000 for s in done if s.first_text is not None]
        measures.append(Measure(name, concurrency, tokens / sum(wall_times),
                                statistics.median(ttfts) if ttfts else float("nan"), len(done), tokens))
    return measures


def report(measures: list[Measure]) -> str:
    by_key = {(m.variant, m.concurrency): m for m in measures}
    lines = [f"{'variant':<14} {'conc':>4} {'tokens/s':>9} {'TTFT ms':>8} {'vs base':>8}"]
    for m in measures:
        base = by_key[("base", m.concurrency)]
        lines.append(f"{m.variant:<14} {m.concurrency:>4} {m.tokens_per_s:>9.1f} {m.ttft_ms:>8.0f} "
                     f"{m.tokens_per_s / base.tokens_per_s:>8.3f}")
    for concurrency in (1, 4):
        base, adapter = by_key[("base", concurrency)], by_key[("adapter", concurrency)]
        overhead = 1 - adapter.tokens_per_s / base.tokens_per_s
        verdict = "within" if overhead < 0.15 else "OVER"
        lines.append(f"adapter overhead at concurrency {concurrency}: {overhead:.1%} of base tokens/s "
                     f"({verdict} the 15% target); merged/unmerged = "
                     f"{by_key[('merged', concurrency)].tokens_per_s / adapter.tokens_per_s:.3f}")
    for variant in ("base", "adapter"):
        lines.append(f"batching gain ({variant}): concurrency 4 / 1 = "
                     f"{by_key[(variant, 4)].tokens_per_s / by_key[(variant, 1)].tokens_per_s:.2f}x tokens/s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doc2slm_serving.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-model", default=None, help="bundled (default), a directory, s3:// or hub id")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--max-tokens", type=int, default=32, help="tokens generated per request")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per variant")
    parser.add_argument("--json", type=Path, default=None, help="also write the measures here")
    parser.add_argument("--torch-threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    measures = benchmark(args.base_model, args.device, args.max_tokens, args.rounds)
    print(report(measures))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(m) for m in measures], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
