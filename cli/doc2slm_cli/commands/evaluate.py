"""`doc2slm evaluate --eval FILE ... --adapter DIR --out report/ [--server HOST:PORT]`: base vs tuned on any
question set.

Takes the pipeline's eval sets or any JSONL of {question, answer} a user brings (each file is one set,
named by its file stem). Answers come from doc2slm_pipelines.answering and go to OUT/answers.jsonl; the
report is ScoringService's BuildReport on that file, asked by the pipeline step's own client
(doc2slm_pipelines.steps.evaluate) through --server, or run in-process by the scoring library's servicer
without one. Both read one request built by the step's `report_request` and one reply read by its
`report_outcome`, so the report is the pipeline's whichever path made it. Through a server, the server
reads the answers and writes the report at those URIs itself: use s3:// when it runs on another machine.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from doc2slm_common import storage
from doc2slm_common.config import ConfigError

# Flags that are pipeline parameters carry the parameter's name (dest), default and meaning; a test checks
# them against doc2slm_pipeline's signature.
EVALUATE_DEFAULTS: dict[str, Any] = {"base_model": "bundled", "max_new_tokens": 64}


def register(subparsers: Any) -> None:
    d = EVALUATE_DEFAULTS
    parser = subparsers.add_parser("evaluate", help="answer eval questions with base and tuned model; write report/")
    parser.add_argument("--eval", dest="eval_files", action="append", required=True, metavar="FILE",
                        help="JSONL of {question, answer} (file path, file:// or s3://); repeatable, one set each")
    parser.add_argument("--adapter", required=True, help="the tuned adapter directory (path, file:// or s3://)")
    parser.add_argument("--out", required=True, help="report directory (path, file:// or s3://)")
    parser.add_argument("--server", default=None, metavar="HOST:PORT",
                        help="HOST:PORT of ScoringService (default: in-process)")
    parser.add_argument("--base-model", default=d["base_model"],
                        help="base model: bundled (SmolLM2-135M-Instruct), a path, s3:// or a hub id")
    parser.add_argument("--embedding-server", default=None, metavar="HOST:PORT",
                        help="in-process only: embed through this EmbeddingService instead of the in-process "
                             "encoder (a scoring --server embeds through its own DOC2SLM_EMBEDDING_ADDRESS)")
    parser.add_argument("--max-new-tokens", type=int, default=d["max_new_tokens"],
                        help=f"answer length cap (default {d['max_new_tokens']})")
    parser.add_argument("--batch-size", type=int, default=8, help="questions generated together (default 8)")
    parser.add_argument("--acceptable", type=float, default=None,
                        help="cosine at or above: acceptable; with --borderline, or neither: the scoring "
                             "service's setting (0.5)")
    parser.add_argument("--borderline", type=float, default=None,
                        help="cosine at or above: borderline; neither: the scoring service's setting (0.4)")
    parser.add_argument("--bootstrap-samples", type=int, default=0,
                        help="resamples for the intervals; 0: the scoring service's setting (2000)")
    parser.set_defaults(func=evaluate)


def evaluate(args: argparse.Namespace) -> int:
    from doc2slm_pipelines.answering import answer_base_and_tuned, records_from_eval_files
    from doc2slm_pipelines.engine_choice import use_local_engine
    from doc2slm_pipelines.steps.evaluate import report_request, request_report
    from doc2slm_pipelines.steps.records import ANSWERS_FILE
    from tqdm import tqdm

    if args.server and args.embedding_server:
        raise ConfigError("--embedding-server is for the in-process report; a scoring --server embeds through "
                          "its own DOC2SLM_EMBEDDING_ADDRESS")
    out = storage.to_uri(args.out)
    answers_uri = storage.join(out, ANSWERS_FILE)
    # Bad flags and bad files fail here, before any model loads.
    request = report_request(answers_uri, out, acceptable=args.acceptable, borderline=args.borderline,
                             bootstrap_samples=args.bootstrap_samples)
    records = records_from_eval_files(args.eval_files)
    print(f"engine: {use_local_engine()} (DOC2SLM_ENGINE)", file=sys.stderr)
    with tqdm(desc="answering (base, then tuned)", unit="answer", file=sys.stderr) as bar:

        def on_progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        answered = answer_base_and_tuned(records, base_model=args.base_model, adapter_uri=args.adapter,
                                         max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                         on_progress=on_progress)
    storage.write_jsonl(answers_uri, answered)
    report = request_report(request, args.server) if args.server else _in_process(request, out, args)
    print(f"{len(answered)} questions answered; report: {report.report_uri}")
    for name, line in _headlines(report.metrics):
        print(f"  {name}: {line}")
    return 0


def _in_process(request: Any, out: str, args: argparse.Namespace) -> Any:
    """The scoring library's BuildReport, with the service's settings (DOC2SLM_*) and the in-process encoder
    or an EmbeddingService: the same reply a server would send."""
    from doc2slm_common.config import load_settings
    from doc2slm_pipelines.steps.evaluate import report_outcome
    from doc2slm_scoring.service import ScoringServicer, embedding_client
    from doc2slm_scoring.settings import ScoringSettings

    settings = load_settings(ScoringSettings, embedding_address=args.embedding_server)
    if args.embedding_server:
        embedder: Any = embedding_client(settings)
    else:
        from doc2slm_embedding import load_encoder

        embedder = load_encoder()
    try:
        return report_outcome(ScoringServicer(settings, embedder).report(request), out)
    finally:
        if args.embedding_server:
            embedder.close()


def _headlines(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    lines = []
    for name in metrics["set_order"]:
        block = metrics["sets"][name]
        base, tuned = block["systems"]["base"]["cosine"], block["systems"]["tuned"]["cosine"]
        role = "" if block["is_result"] else " (memorisation ceiling, not the result)"
        lines.append((name, f"n={block['n']} cosine base {base['mean']:.3f} tuned {tuned['mean']:.3f}{role}"))
    return lines
