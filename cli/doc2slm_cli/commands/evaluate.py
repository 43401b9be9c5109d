"""`doc2slm evaluate --eval FILE ... --adapter DIR --out report/`: base vs tuned on any question set.

Takes the pipeline's eval sets or any JSONL of {question, answer} a user brings (each file is one set,
named by its file stem). Answers come from doc2slm_pipelines.answering, embeddings from the in-process
encoder or an EmbeddingService (--embedding-server), the report from doc2slm_scoring's builder.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from doc2slm_common import storage


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("evaluate", help="answer eval questions with base and tuned model; write report/")
    parser.add_argument("--eval", dest="eval_files", action="append", required=True, metavar="FILE",
                        help="JSONL of {question, answer} (file path, file:// or s3://); repeatable, one set each")
    parser.add_argument("--adapter", required=True, help="the tuned adapter directory (path, file:// or s3://)")
    parser.add_argument("--out", required=True, help="report directory (path, file:// or s3://)")
    parser.add_argument("--base-model", default=None, help="base model id or path (default: the bundled SmolLM2)")
    parser.add_argument("--embedding-server", default=None, metavar="HOST:PORT",
                        help="embed through this EmbeddingService instead of in-process")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="answer length cap (default 64)")
    parser.add_argument("--batch-size", type=int, default=8, help="questions generated together (default 8)")
    parser.add_argument("--acceptable", type=float, default=0.5, help="cosine at or above: acceptable (0.5)")
    parser.add_argument("--borderline", type=float, default=0.4, help="cosine at or above: borderline (0.4)")
    parser.add_argument("--bootstrap-samples", type=int, default=2000, help="resamples for intervals (2000)")
    parser.set_defaults(func=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    from doc2slm_pipelines.answering import answer_base_and_tuned, records_from_eval_files
    from doc2slm_scoring.report.build import build_report
    from doc2slm_scoring.similarity import Thresholds

    thresholds = Thresholds(acceptable=args.acceptable, borderline=args.borderline)
    out = storage.to_uri(args.out)
    records = records_from_eval_files(args.eval_files)  # bad files fail here, before any model loads
    from tqdm import tqdm

    with tqdm(desc="answering (base, then tuned)", unit="answer", file=sys.stderr) as bar:

        def on_progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        answered = answer_base_and_tuned(records, base_model=args.base_model, adapter_uri=args.adapter,
                                         max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                         on_progress=on_progress)
    storage.write_jsonl(storage.join(out, "answers.jsonl"), answered)
    embed, model_name, close = _embedder(args.embedding_server)
    try:
        result = build_report(answered, out, embed, embedding_model=model_name, thresholds=thresholds,
                              bootstrap_samples=args.bootstrap_samples)
    finally:
        close()
    print(f"{len(answered)} questions answered; report: {result.report_uri}")
    for name, line in _headlines(result.metrics):
        print(f"  {name}: {line}")
    return 0


def _embedder(address: str | None) -> tuple[Any, str, Any]:
    if address:
        from doc2slm_scoring.embedding_client import EmbeddingClient

        client = EmbeddingClient(address)
        return client.embed, client.model_name, client.close
    from doc2slm_embedding import load_encoder

    encoder = load_encoder()
    return encoder.embed, encoder.model_name, lambda: None


def _headlines(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    lines = []
    for name in metrics["set_order"]:
        block = metrics["sets"][name]
        base, tuned = block["systems"]["base"]["cosine"], block["systems"]["tuned"]["cosine"]
        role = "" if block["is_result"] else " (memorisation ceiling, not the result)"
        lines.append((name, f"n={block['n']} cosine base {base['mean']:.3f} tuned {tuned['mean']:.3f}{role}"))
    return lines
