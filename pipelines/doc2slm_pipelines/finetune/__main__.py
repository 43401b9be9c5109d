"""`python -m doc2slm_pipelines.finetune --train train.jsonl --out adapter/`: the step as a process.

The pipeline component and the GPU job run the step this way; a SIGKILLed process rerun with the same
arguments resumes from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .arguments import add_config_arguments, config_from_args
from .run import FinetuneInputs, finetune


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m doc2slm_pipelines.finetune", description=__doc__)
    parser.add_argument("--train", required=True, help="training QA pairs (JSONL URI or path)")
    parser.add_argument("--out", required=True, help="output directory or s3:// prefix for the adapter")
    parser.add_argument("--eval", default=None, help="QA pairs for an evaluation loss at the end")
    parser.add_argument("--chunks", default=None, help="chunks.jsonl, mixed in by --mix-chunks-share")
    parser.add_argument("--base-model", default=None, help="bundled (default), a path, s3:// or a hub id")
    add_config_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        card = finetune(FinetuneInputs(args.train, args.out, args.base_model, args.eval, args.chunks), config)
    except Exception as error:
        code = getattr(error, "code_name", None)
        if code is None:
            raise
        print(f"{code}: {error}", file=sys.stderr)
        return 2
    summary = {k: card[k] for k in ("steps", "final_loss", "eval_loss", "tokens_per_s", "wall_seconds")}
    # One write of the whole line: under torchrun every rank prints it to the same pipe, and print()'s separate
    # write of the newline let two ranks' lines run together on a loaded machine ('{...}{...}').
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
