"""`doc2slm split qa.jsonl --out DIR`: train / held-out / seen / validation sets, as the pipeline's split.

In-process (the qagen library) when no --server is given; through QAGenService otherwise, by the pipeline
step's own client (doc2slm_pipelines.steps.qagen.split_dataset), so both paths send and write the same.
The flags are the pipeline's split parameters: same names (with dashes), defaults and meanings; seed 0 and
a negative share leave the value to the service's setting (DOC2SLM_* in-process).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from doc2slm_common import storage

# The pipeline pins its split shares (see doc2slm_pipeline's docstring); these are its defaults, checked
# against the compiled pipeline by cli/tests/test_cli_pipeline_flags.py.
SPLIT_DEFAULTS: dict[str, Any] = {"split_seed": 0, "heldout_docs_share": 0.2, "seen_share": 0.1,
                                  "validation_share": 0.25}
SHOWN_SETS = ("train", "eval_heldout_questions", "eval_heldout_docs", "eval_seen", "eval_validation")


def add_split_flags(parser: argparse.ArgumentParser) -> None:
    d = SPLIT_DEFAULTS
    parser.add_argument("--split-seed", "--seed", dest="split_seed", type=int, default=d["split_seed"],
                        help="seed of the split; 0 (default): the service's setting (DOC2SLM_SPLIT_SEED, 13)")
    parser.add_argument("--heldout-docs-share", type=float, default=d["heldout_docs_share"],
                        help="share of documents held back whole, with >= 3 documents (default "
                             f"{d['heldout_docs_share']}; negative: the service's setting)")
    parser.add_argument("--seen-share", type=float, default=d["seen_share"],
                        help=f"share of train pairs copied into eval_seen (default {d['seen_share']}; "
                             "negative: the service's setting)")
    parser.add_argument("--validation-share", type=float, default=d["validation_share"],
                        help="share of held-out questions set aside to pick the checkpoint on (default "
                             f"{d['validation_share']}; negative: the service's setting)")
    parser.add_argument("--embedding-server", default=None,
                        help="HOST:PORT of EmbeddingService: also drop held-out questions semantically close to a "
                             "train question (in-process split; a server uses DOC2SLM_SPLIT_EMBEDDING_ADDRESS)")


def register(subparsers: Any) -> None:
    split = subparsers.add_parser(
        "split", help="split qa.jsonl into train / eval_heldout_questions / eval_heldout_docs / eval_seen",
        description="Writes train.jsonl, eval_heldout_questions.jsonl, eval_heldout_docs.jsonl, eval_seen.jsonl, "
                    "eval_validation.jsonl and dataset_card.json under --out (through a server also "
                    "split_card.json, as the pipeline's split step).")
    split.add_argument("qa", help="qa.jsonl (path, file:// or s3://)")
    split.add_argument("--out", required=True, help="directory or prefix for the split files")
    split.add_argument("--server", default=None, help="HOST:PORT of QAGenService (default: in-process)")
    add_split_flags(split)
    split.set_defaults(func=run_split)


def _share(value: float) -> float | None:
    """The service's convention for an `optional double`: negative means not given."""
    return value if value >= 0 else None


def split_to(qa_uri: str, out_uri: str, args: argparse.Namespace) -> dict[str, int]:
    """Split `qa_uri` into `out_uri`, through `args.server` when given; prints and returns the counts."""
    from doc2slm_pipelines.steps.qagen import require_training_pairs, split_dataset

    if args.server:
        outcome = split_dataset(qa_uri, out_uri, args.server, seed=args.split_seed,
                                heldout_docs_share=args.heldout_docs_share, seen_share=args.seen_share,
                                validation_share=args.validation_share, out_uri=out_uri)
        counts = outcome.counts
    else:
        from doc2slm_common.config import load_settings
        from doc2slm_qagen import factory
        from doc2slm_qagen.settings import QAGenSettings
        from doc2slm_qagen.split import split_dataset as split_in_process

        # The same reading of the flags as the server's reading of the request (seed 0: not given).
        config = factory.split_config(load_settings(QAGenSettings), args.split_seed or None,
                                      _share(args.heldout_docs_share), _share(args.seen_share),
                                      args.embedding_server or None, _share(args.validation_share))
        _, written = split_in_process(qa_uri, out_uri, config)
        counts = require_training_pairs(written)
    shown = ", ".join(f"{name} {counts.get(name, 0)}" for name in SHOWN_SETS)
    print(f"split -> {out_uri}: {shown}", file=sys.stderr)
    return counts


def run_split(args: argparse.Namespace) -> int:
    split_to(storage.to_uri(args.qa), storage.to_uri(args.out), args)
    return 0
