"""`doc2slm qagen chunks.jsonl --out qa.jsonl [...]`: grounded QA pairs from a teacher, as the pipeline makes them.

In-process (the qagen library) when no --server is given; through QAGenService otherwise, by the pipeline
step's own client (doc2slm_pipelines.steps.qagen.generate_pairs). Both paths read the flags through the
step's `generation_options` and write through its `collect_pairs`, so qa.jsonl lines are the pipeline's
records whichever path made them; generation_card.json and qa.summary.json go beside --out. A chunk that
failed is printed as `CODE: chunk_id: reason`; the other pairs are still written and the exit status is 1.
With --split-out DIR the split (`doc2slm split`) runs right after.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from doc2slm_common import storage

from doc2slm_cli.commands.split import add_split_flags, split_to

EXAMPLES = """
teacher: flags, else DOC2SLM_TEACHER_BASE_URL / OPENAI_BASE_URL, DOC2SLM_TEACHER_MODEL, OPENAI_API_KEY;
default: doc2slm's own serving at http://127.0.0.1:8080/openai/v1 (model smollm2-135m-instruct).
"", 0 and a negative share leave a knob to the service's setting (DOC2SLM_* in-process), as in the pipeline.
examples:
  doc2slm qagen chunks.jsonl --out qa.jsonl --split-out dataset/
  doc2slm qagen chunks.jsonl --out qa.jsonl --teacher-base-url https://api.openai.com/v1 \\
      --teacher-model gpt-4o-mini --generation-mode question_answer --concurrency 8
  doc2slm split qa.jsonl --out dataset/ --split-seed 7
"""

# Flags that are pipeline parameters carry the parameter's name (dest), default and meaning; a test checks
# them against doc2slm_pipeline's signature.
GENERATION_DEFAULTS: dict[str, Any] = {"teacher_base_url": "", "teacher_model": "", "generation_mode": "",
                                       "pairs_per_chunk": 0, "questions_per_answer": 0, "paraphrase_share": -1.0,
                                       "max_teacher_requests": 0}
# `--mode qa` predates the pipeline's spelling and keeps working.
MODE_ALIASES = {"qa": "question_answer"}


def register(subparsers: Any) -> None:
    d = GENERATION_DEFAULTS
    parser = subparsers.add_parser(
        "qagen", help="ask a teacher LLM for grounded QA pairs about each chunk",
        description="Chunks to question/answer pairs through any OpenAI-compatible teacher, filtered "
                    "(grounding, near-duplicates, refusals, 'in this text' questions), cached and resumable.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chunks", help="chunks.jsonl (path, file:// or s3://)")
    parser.add_argument("--out", required=True, help="qa.jsonl to write")
    parser.add_argument("--server", default=None, help="HOST:PORT of QAGenService (default: in-process)")
    parser.add_argument("--teacher-base-url", default=d["teacher_base_url"],
                        help="OpenAI-compatible base URL of the teacher")
    parser.add_argument("--teacher-model", default=d["teacher_model"], help="teacher model name")
    parser.add_argument("--generation-mode", "--mode", dest="generation_mode", default=d["generation_mode"],
                        choices=["question_answer", "answer_first", "qa"],
                        help="question_answer (qa): the teacher writes questions and answers; answer_first "
                             "(the service's default): answers are the chunk's sentences, the teacher writes "
                             "questions (for weak teachers)")
    parser.add_argument("--pairs-per-chunk", type=int, default=d["pairs_per_chunk"],
                        help="answers (or QA pairs) asked for per chunk; 0: the service's setting (3)")
    parser.add_argument("--questions-per-answer", type=int, default=d["questions_per_answer"],
                        help="answer_first: training questions per answer sentence; 0: the service's setting (3)")
    parser.add_argument("--paraphrase-share", type=float, default=d["paraphrase_share"],
                        help="share of chunks whose questions are asked again in other words (held-out set); "
                             "negative: the service's setting (0.5)")
    parser.add_argument("--max-teacher-requests", "--max-requests", dest="max_teacher_requests", type=int,
                        default=d["max_teacher_requests"],
                        help="stop after this many teacher requests; 0: the service's budget")
    parser.add_argument("--max-tokens", type=int, default=0,
                        help="stop after this many completion tokens; 0: the service's setting")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="teacher requests in flight; 0: the service's setting (4)")
    parser.add_argument("--cache", default=None, help="teacher cache prefix (file:// or s3://)")
    parser.add_argument("--deadline", type=float, default=24 * 3600.0,
                        help="seconds the whole call may take through the server (default 86400)")
    parser.add_argument("--split-out", default=None, help="also split the pairs into train/eval files here")
    add_split_flags(parser)
    parser.set_defaults(func=run_qagen)


def options(args: argparse.Namespace) -> Any:
    """The request's GenerationOptions, built by the pipeline step from the flags."""
    from doc2slm_pipelines.steps.qagen import generation_options

    return generation_options(teacher_base_url=args.teacher_base_url, teacher_model=args.teacher_model,
                              pairs_per_chunk=args.pairs_per_chunk,
                              mode=MODE_ALIASES.get(args.generation_mode, args.generation_mode),
                              max_concurrency=args.concurrency, max_requests=args.max_teacher_requests,
                              paraphrase_share=args.paraphrase_share,
                              questions_per_answer=args.questions_per_answer, max_tokens=args.max_tokens)


def _in_process_events(chunks: list[Any], request_options: Any, args: argparse.Namespace) -> Iterator[Any]:
    """The library's run, as the service's stream events: the server reads the same options the same way."""
    from doc2slm_common.config import load_settings
    from doc2slm_qagen import factory
    from doc2slm_qagen.service import event_to_proto, options_from_proto
    from doc2slm_qagen.settings import QAGenSettings

    run = factory.open_run(load_settings(QAGenSettings), cache_uri=args.cache,
                           **options_from_proto(request_options))
    try:
        for event in run.generator.run(chunks):
            yield event_to_proto(event)
    finally:
        run.close()


def chunk_to_proto(chunk: Any) -> Any:
    from doc2slm.v1 import common_pb2

    return common_pb2.Chunk(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, source=chunk.source,
                            page_start=chunk.page_start, page_end=chunk.page_end, text=chunk.text)


class _Progress:
    """One bar step per chunk seen, failures printed as they arrive, the summary kept."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.seen: set[str] = set()
        self.failed = 0
        self.summary: Any = None

    def __call__(self, event: Any) -> None:
        kind = event.WhichOneof("event")
        if kind == "summary":
            self.summary = event
            return
        chunk_id = event.pair.chunk_id if kind == "pair" else event.failure.item_id
        if chunk_id not in self.seen:
            self.seen.add(chunk_id)
            self.bar.update(1)
        if kind == "failure":
            self.failed += 1
            self.bar.write(f"{event.failure.code}: {event.failure.item_id}: {event.failure.message}",
                           file=sys.stderr)


def _report(progress: _Progress, pairs: int, qa_uri: str, out: str) -> None:
    """qa.summary.json (the split puts its filter counts into the dataset card) and the closing lines."""
    import json

    from doc2slm_qagen.dataset import summary_to_dict, summary_uri_for
    from doc2slm_qagen.service import record_from_event

    if progress.summary is None:
        return
    summary = record_from_event(progress.summary)
    storage.write_text(summary_uri_for(qa_uri), json.dumps(summary_to_dict(summary), indent=2, sort_keys=True))
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(summary.dropped.items())) or "none"
    print(f"{pairs} pairs from {summary.chunks_with_pair} of {summary.chunks_total} chunks -> {out}; "
          f"teacher calls {summary.teacher_calls}, cached chunks {summary.chunks_cached}, "
          f"failed {summary.chunks_failed}; dropped: {dropped}", file=sys.stderr)
    if summary.stopped_by_budget:
        print(f"stopped by the request/token budget after {len(progress.seen)} of {summary.chunks_total} "
              "chunks; run again to continue from the cache", file=sys.stderr)


def run_qagen(args: argparse.Namespace) -> int:
    from doc2slm_pipelines.steps.qagen import collect_pairs, generate_pairs
    from doc2slm_qagen.dataset import read_chunks
    from tqdm import tqdm

    chunks_uri, qa_uri = storage.to_uri(args.chunks), storage.to_uri(args.out)
    work_uri = qa_uri.rsplit("/", 1)[0]  # the generation card goes beside qa.jsonl
    chunks = read_chunks(chunks_uri)
    request_options = options(args)
    with tqdm(total=len(chunks), unit="chunk", desc="qagen", file=sys.stderr, disable=None) as bar:
        progress = _Progress(bar)
        if args.server:
            # A server reads s3:// itself; local chunks go inline, since it may not see this machine's files.
            inline = [] if storage.is_s3(chunks_uri) else [chunk_to_proto(c) for c in chunks]
            outcome = generate_pairs(chunks_uri, work_uri, args.server, request_options, deadline_s=args.deadline,
                                     chunks=inline, qa_uri=qa_uri, cache_uri=args.cache or "", on_event=progress)
        else:
            outcome = collect_pairs(_in_process_events(chunks, request_options, args), work_uri, qa_uri=qa_uri,
                                    on_event=progress)
    _report(progress, outcome.pairs, qa_uri, args.out)
    if args.split_out:
        split_to(qa_uri, storage.to_uri(args.split_out), args)
    return 1 if progress.failed else 0
