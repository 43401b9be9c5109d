"""GPU check: an adapter served by the engine on CUDA answers (no kserve needed on that machine).

`python -m doc2slm_serving.gpu_check --gguf SmolLM2-135M-Instruct.Q4_1.gguf --out DIR` converts the
bundled GGUF (when no --base-dir is given), trains the apple/banana secret-word adapters on the GPU,
serves both plus the base model from one engine in bfloat16, asks each the secret question (alone and
in one mixed batch), runs the serving benchmark on CUDA, and writes DIR/gpu_check.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any


def _ask_concurrently(engine: Any, prompt: list[int], adapters: list[str | None]) -> list[str]:
    from doc2slm_serving.params import SamplingParams

    answers: list[str] = [""] * len(adapters)

    def ask(index: int) -> None:
        answers[index] = engine.generate(prompt, SamplingParams(max_new_tokens=12), adapters[index]).text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(adapters))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doc2slm_serving.gpu_check", description=__doc__)
    parser.add_argument("--gguf", type=Path, help="the bundled GGUF file (converted into --out)")
    parser.add_argument("--base-dir", type=Path, help="an already converted base model directory")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--bench-rounds", type=int, default=3)
    parser.add_argument("--bench-max-tokens", type=int, default=64)
    parser.add_argument("--device", default="cuda", help="cuda (the check); cpu only to rehearse the script")
    args = parser.parse_args(argv)

    import torch

    from doc2slm_serving.demo_adapters import SECRET_QUESTION, train_secret_word_adapter
    from doc2slm_serving.engine import GenerationEngine
    from doc2slm_serving.params import SamplingParams

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    base_dir = args.base_dir
    if base_dir is None:
        from doc2slm_common.basemodel import convert_gguf

        base_dir = args.out / "base"
        if not (base_dir / "config.json").exists():
            base_dir.mkdir(parents=True, exist_ok=True)
            convert_gguf(args.gguf, base_dir)
    started = time.perf_counter()
    adapters = {word: train_secret_word_adapter(base_dir, word, args.out / word, steps=12, device=args.device)
                for word in ("apple", "banana")}
    train_s = time.perf_counter() - started
    # "auto" must pick CUDA and bfloat16 on the GPU machine.
    engine = GenerationEngine(base_dir, device="auto" if args.device == "cuda" else args.device)
    engine.load()
    for word, path in adapters.items():
        engine.load_adapter(word, path)
    prompt = engine.encode_chat([{"role": "user", "content": SECRET_QUESTION}])
    alone = {str(name): engine.generate(prompt, SamplingParams(max_new_tokens=12), name).text
             for name in (None, "apple", "banana")}
    mixed = _ask_concurrently(engine, prompt, [None, "apple", "banana", "apple", None, "banana"])
    engine.close()
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "engine_device": str(engine.device),
        "engine_dtype": str(engine.dtype), "adapter_training_s": round(train_s, 2),
        "answers_alone": alone, "answers_mixed_batch": mixed,
        "apple_ok": "apple" in alone["apple"].lower() and "banana" in alone["banana"].lower(),
    }
    from doc2slm_serving.bench import benchmark, report

    # The onnx variants run on the host's CPU beside the GPU ones: the same table as on a laptop.
    measures, answers, loaded, late = benchmark(str(base_dir), args.device, args.bench_max_tokens, args.bench_rounds,
                                                "int8", None, 0)
    result["bench"] = [asdict(m) for m in measures]
    print(json.dumps(result, indent=2))
    print(report(measures, loaded, answers, late))
    (args.out / "gpu_check.json").write_text(json.dumps(result, indent=2))
    return 0 if result["apple_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
