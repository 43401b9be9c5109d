"""`doc2slm finetune --train train.jsonl [--eval eval.jsonl] --out adapter/ [--base-model ...]`.

Trains a LoRA adapter in this process with doc2slm_pipelines.finetune (QLoRA on CUDA, float32 LoRA on
CPU), showing the pre-training estimate and a progress bar with the loss. Every FinetuneConfig field is
a flag (`--lora-rank`, `--max-steps`, ...). Rerun the same command after an interruption to resume
from the last checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    from doc2slm_pipelines.finetune.arguments import add_config_arguments

    parser = subparsers.add_parser("finetune", help="train a LoRA adapter on QA pairs",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, help="training QA pairs, JSONL (path, file:// or s3://)")
    parser.add_argument("--eval", default=None, help="QA pairs for an evaluation loss after training")
    parser.add_argument("--out", required=True, help="adapter directory or s3:// prefix to write")
    parser.add_argument("--base-model", default=None,
                        help="bundled (default: SmolLM2-135M-Instruct), a local path, s3:// or a hub id")
    parser.add_argument("--chunks", default=None, help="chunks.jsonl mixed in by --mix-chunks-share")
    add_config_arguments(parser)
    parser.set_defaults(func=run_finetune)


def run_finetune(args: argparse.Namespace) -> int:
    from doc2slm_pipelines.finetune.arguments import config_from_args
    from doc2slm_pipelines.finetune.run import FinetuneInputs, finetune
    from tqdm import tqdm

    config = config_from_args(args)
    bar: Any = None

    def on_estimate(estimate: Any) -> None:
        nonlocal bar
        print(estimate.summary(), file=sys.stderr, flush=True)
        bar = tqdm(total=estimate.total_steps, desc="fine-tune", unit="step", file=sys.stderr)

    def on_step(step: int, total: int, loss: float) -> None:
        if bar is not None:
            bar.n = step  # absolute, so a resumed run's bar starts at its checkpoint
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            bar.refresh()

    try:
        card = finetune(FinetuneInputs(args.train, args.out, args.base_model, args.eval, args.chunks), config,
                        on_step=on_step, on_estimate=on_estimate)
    finally:
        if bar is not None:
            bar.close()
    eval_loss = f", eval loss {card['eval_loss']:.4f}" if card.get("eval_loss") is not None else ""
    print(f"adapter: {args.out}\nsteps {card['steps']}, final loss {card['final_loss']}{eval_loss}, "
          f"{card['tokens_per_s']} tokens/s, {card['wall_seconds']} s, {card['precision']}")
    return 0
