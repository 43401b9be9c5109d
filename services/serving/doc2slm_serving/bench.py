"""Benchmark (`make bench-serve`): the onnx engine beside transformers, base vs adapter, in one run.

Five variants over the same base model, measured in the same process, rounds interleaved so that a busy
machine slows them alike:
- transformers base:    the plain model, no peft (the baseline of every ratio);
- transformers adapter: a LoRA adapter of the fine-tuning step's shape (r=16 on all seven projections),
                        unmerged, chosen per request as the server does;
- transformers merged:  the same adapter folded into the weights;
- onnx base / adapter:  onnxruntime on the exported model, and on the adapter merged and exported.
Each at concurrency 1 and 8 (requests queued together are decoded as one batch). The adapter's B matrices
are random (init_lora_weights=False) so it changes the output; its speed does not depend on the values.
Then the answers: each engine's greedy answer to the same prompts, alone, compared with transformers'.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from doc2slm_common.basemodel import resolve_base_model

from doc2slm_serving.bench_equality import compare, describe
from doc2slm_serving.engine_base import EngineBase
from doc2slm_serving.onnx_export import PRECISIONS
from doc2slm_serving.params import SamplingParams
from doc2slm_serving.rows import GenerationRequest

PROMPTS = ["Write a short story about a lighthouse keeper.", "Explain how a bicycle gear works.",
           "Describe a walk through a forest in autumn.", "Give advice to a new gardener."]
ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
CONCURRENCY = (1, 8)
# Between waves: torch's OpenMP threads and onnxruntime's pool spin for a while after their last op, and
# on 2 cores that spinning can slow whichever variant runs next (seen: at concurrency 1 the onnx base
# variant, right after the transformers ones, ran 8-23% below the onnx adapter variant in four runs, though
# both are models of the same size).
SETTLE_S = 0.5


@dataclass
class Measure:
    variant: str
    concurrency: int
    tokens_per_s: float
    ttft_ms: float
    requests: int
    tokens: int


@dataclass
class Loaded:
    step: str
    seconds: float
    rss_mb: float  # resident memory the step added to the process


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


def run_wave(engine: EngineBase, adapter: str | None, concurrency: int, max_tokens: int,
             offset: int) -> tuple[float, list[_TimingSink]]:
    """Queue `concurrency` requests at once; returns the wall time until the last one finished."""
    started = time.perf_counter()
    sinks = _queue(engine, adapter, concurrency, max_tokens, offset)
    for sink in sinks:
        sink.done.wait()
    return time.perf_counter() - started, sinks


def _queue(engine: EngineBase, adapter: str | None, count: int, max_tokens: int, offset: int) -> list[_TimingSink]:
    """Submit `count` requests of exactly `max_tokens` tokens each (the same work for every variant)."""
    params = SamplingParams(max_new_tokens=max_tokens, ignore_eos=True)
    started = time.perf_counter()
    sinks = []
    for i in range(count):
        prompt = engine.encode_chat([{"role": "user", "content": PROMPTS[(offset + i) % len(PROMPTS)]}])
        sinks.append(_TimingSink(started))
        engine.submit(GenerationRequest(prompt, adapter, params, sinks[-1]))
    return sinks


def late_arrival(engine: EngineBase, long_tokens: int, short_tokens: int) -> float:
    """Seconds until a short request finishes when it arrives while 7 long answers decode: static batching
    makes it wait for them, continuous batching lets it join the running batch."""
    running = _queue(engine, None, max(CONCURRENCY) - 1, long_tokens, 0)
    while running[0].first_text is None and not running[0].done.is_set():
        time.sleep(0.005)
    [late] = _queue(engine, None, 1, short_tokens, len(PROMPTS) - 1)
    late.done.wait()
    finished = time.perf_counter() - late.started
    for sink in running:
        sink.done.wait()
    return finished


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def load_engines(base_dir: Path, adapter_dir: Path, device: str, precision: str,
                 onnx_cache: Path | None) -> tuple[dict[str, EngineBase], list[Loaded]]:
    from doc2slm_serving.engine import GenerationEngine
    from doc2slm_serving.engine_onnx import OnnxGenerationEngine

    queueing = {"max_batch_size": max(CONCURRENCY), "batch_wait_s": 0.02}
    engines: dict[str, EngineBase] = {}
    loaded = []

    def timed(step: str, work: Callable[[], None]) -> None:
        before, started = _rss_mb(), time.perf_counter()
        work()
        loaded.append(Loaded(step, round(time.perf_counter() - started, 1), round(_rss_mb() - before)))

    for name in ("base", "lora", "merged", "onnx"):
        # No prefix cache here: the waves repeat four prompts, and reusing them would time the cache, not the
        # decoding (bench_engines.py times the cache on the local teacher's real prompts).
        engine: EngineBase = (OnnxGenerationEngine(base_dir, precision=precision, cache=onnx_cache,
                                                   prefix_cache_bytes=0, **queueing)
                              if name == "onnx" else GenerationEngine(base_dir, device=device, **queueing))
        timed(f"{name} engine: base model", engine.load)
        if name != "base":
            timed(f"{name} engine: adapter", functools.partial(engine.load_adapter, "adapter", adapter_dir))
        if isinstance(engine, GenerationEngine) and name == "merged":
            engine.merge_adapter("adapter")
        engines[name] = engine
    return engines, loaded


def benchmark(base_spec: str | None, device: str, max_tokens: int, rounds: int, precision: str,
              onnx_cache: Path | None, equality_prompts: int
              ) -> tuple[list[Measure], list[str], list[Loaded], dict[str, float]]:
    base_dir = resolve_base_model(base_spec)
    with tempfile.TemporaryDirectory() as scratch:
        # Exported into the scratch folder unless told otherwise: the export is timed in every run, and
        # this run's random adapter leaves no export behind in the shared cache.
        adapter_dir = make_adapter(base_dir, Path(scratch) / "adapter")
        engines, loaded = load_engines(base_dir, adapter_dir, device, precision, onnx_cache or Path(scratch))
        measures, answers, late = _measure(engines, max_tokens, rounds, equality_prompts)
        return measures, answers, loaded, late


def _measure(engines: dict[str, EngineBase], max_tokens: int, rounds: int,
             equality_prompts: int) -> tuple[list[Measure], list[str], dict[str, float]]:
    variants: dict[str, tuple[EngineBase, str | None]] = {
        "base": (engines["base"], None), "adapter": (engines["lora"], "adapter"),
        "merged": (engines["merged"], None), "onnx": (engines["onnx"], None),
        "onnx-adapter": (engines["onnx"], "adapter")}
    # Warm-up at every concurrency: the first batch of a size allocates its buffers (KV cache, onnxruntime's
    # arenas); measured on the earlier onnxruntime-genai engine, its first batch of 8 ran at half speed.
    for engine, adapter in variants.values():
        for concurrency in CONCURRENCY:
            run_wave(engine, adapter, concurrency, 4, 0)
    walls: dict[tuple[str, int], list[float]] = {}
    sinks: dict[tuple[str, int], list[_TimingSink]] = {}
    for round_index in range(rounds):
        for concurrency in CONCURRENCY:
            for name, (engine, adapter) in variants.items():
                time.sleep(SETTLE_S)
                wall, wave = run_wave(engine, adapter, concurrency, max_tokens, round_index)
                walls.setdefault((name, concurrency), []).append(wall)
                sinks.setdefault((name, concurrency), []).extend(wave)
    late: dict[str, float] = {}
    for name in ("base", "onnx"):  # after the timed rounds, so it cannot disturb them
        time.sleep(SETTLE_S)
        late[name] = late_arrival(engines[name], max_tokens * 4, max(1, max_tokens // 4))
    answers = [describe(compare(engines["base"], engines["onnx"], None, prompts=equality_prompts, max_tokens=48)),
               describe(compare(engines["lora"], engines["onnx"], "adapter", prompts=equality_prompts,
                                max_tokens=48))] if equality_prompts else []
    for engine in engines.values():
        engine.close()
    measures = []
    for (name, concurrency), wall_times in walls.items():
        done = sinks[(name, concurrency)]
        tokens = sum(s.tokens for s in done)
        ttfts = [(s.first_text - s.started) * 1000 for s in done if s.first_text is not None]
        measures.append(Measure(name, concurrency, tokens / sum(wall_times),
                                statistics.median(ttfts) if ttfts else float("nan"), len(done), tokens))
    return measures, answers, late


def report(measures: list[Measure], loaded: list[Loaded], answers: list[str], late: dict[str, float]) -> str:
    by_key = {(m.variant, m.concurrency): m for m in measures}
    lines = [f"{'variant':<14} {'conc':>4} {'tokens/s':>9} {'TTFT ms':>8} {'vs base':>8}"]
    for m in measures:
        base = by_key[("base", m.concurrency)]
        lines.append(f"{m.variant:<14} {m.concurrency:>4} {m.tokens_per_s:>9.1f} {m.ttft_ms:>8.0f} "
                     f"{m.tokens_per_s / base.tokens_per_s:>8.3f}")
    for concurrency in CONCURRENCY:
        for engine, base_name, adapter_name in (("transformers", "base", "adapter"), ("onnx", "onnx", "onnx-adapter")):
            base, adapter = by_key[(base_name, concurrency)], by_key[(adapter_name, concurrency)]
            overhead = 1 - adapter.tokens_per_s / base.tokens_per_s
            verdict = "within" if overhead < 0.15 else "OVER"
            lines.append(f"{engine} adapter overhead at concurrency {concurrency}: {overhead:.1%} of its base "
                         f"tokens/s ({verdict} the 15% target)")
        speedup = by_key[("onnx", concurrency)].tokens_per_s / by_key[("base", concurrency)].tokens_per_s
        target = 5.0 if concurrency == 1 else 3.0
        lines.append(f"onnx / transformers at concurrency {concurrency}: {speedup:.2f}x tokens/s "
                     f"({'meets' if speedup >= target else 'BELOW'} the {target:.0f}x target)")
    if late:
        lines.append(f"a short request arriving while 7 long ones decode is done after {late['base']:.2f} s on "
                     f"transformers (waits for the batch), {late['onnx']:.2f} s on onnx (joins it): "
                     f"{late['base'] / late['onnx']:.1f}x sooner")
    for item in loaded:  # the onnx engine's times include the export when it was not cached
        lines.append(f"load, {item.step}: {item.seconds:.1f} s, +{item.rss_mb:.0f} MB resident")
    return "\n".join(lines + answers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doc2slm_serving.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-model", default=None, help="bundled (default), a directory, s3:// or hub id")
    parser.add_argument("--device", default="cpu", help="the transformers engine's device: cpu, cuda")
    parser.add_argument("--max-tokens", type=int, default=32, help="tokens generated per request")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per variant")
    parser.add_argument("--onnx-precision", default="int8", choices=PRECISIONS)
    parser.add_argument("--onnx-cache", type=Path, default=None,
                        help="export cache (default: a temporary folder, so the export is timed)")
    parser.add_argument("--equality-prompts", type=int, default=16, help="prompts for the answer comparison")
    parser.add_argument("--json", type=Path, default=None, help="also write the measures here")
    parser.add_argument("--torch-threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args(argv)
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    measures, answers, loaded, late = benchmark(args.base_model, args.device, args.max_tokens, args.rounds,
                                          args.onnx_precision, args.onnx_cache, args.equality_prompts)
    print(report(measures, loaded, answers, late))
    if args.json is not None:
        args.json.write_text(json.dumps({"measures": [asdict(m) for m in measures],
                                         "loaded": [asdict(item) for item in loaded], "answers": answers,
                                         "late_request_s": late}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
