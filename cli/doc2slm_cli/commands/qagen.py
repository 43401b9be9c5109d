"""`doc2slm qagen chunks.jsonl --out qa.jsonl [...]` and `doc2slm split qa.jsonl --out DIR`.

qagen asks the teacher for pairs in-process (the qagen library) when no --server is given, through
QAGenService otherwise; both write the same qa.jsonl (atomically) and qa.summary.json beside it. With
--split-out DIR the split runs right after. A chunk that failed is printed as `CODE: chunk_id: reason`;
the other pairs are still written and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from doc2slm_common import storage

EXAMPLES = """
teacher: flags, else DOC2SLM_TEACHER_BASE_URL / OPENAI_BASE_URL, DOC2SLM_TEACHER_MODEL, OPENAI_API_KEY;
default: doc2slm's own serving at http://127.0.0.1:8080/openai/v1 (model smollm2-135m-instruct).
examples:
  doc2slm qagen chunks.jsonl --out qa.jsonl --split-out dataset/
  doc2slm qagen chunks.jsonl --out qa.jsonl --teacher-base-url https://api.openai.com/v1 \\
      --teacher-model gpt-4o-mini --mode qa --concurrency 8
  doc2slm split qa.jsonl --out dataset/ --seed 7
"""


def _add_split_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=None, help="split seed (default: DOC2SLM_SPLIT_SEED or 13)")
    parser.add_argument("--heldout-docs-share", type=float, default=None,
                        help="share of documents held back whole, with >= 3 documents (default 0.2)")
    parser.add_argument("--seen-share", type=float, default=None,
                        help="share of train pairs copied into eval_seen (default 0.1)")
    parser.add_argument("--embedding-server", default=None,
                        help="HOST:PORT of EmbeddingService: also drop held-out questions semantically close to a "
                             "train question (in-process split; a server uses DOC2SLM_SPLIT_EMBEDDING_ADDRESS)")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "qagen", help="ask a teacher LLM for grounded QA pairs about each chunk",
        description="Chunks to question/answer pairs through any OpenAI-compatible teacher, filtered "
                    "(grounding, near-duplicates, refusals, 'in this text' questions), cached and resumable.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chunks", help="chunks.jsonl (path, file:// or s3://)")
    parser.add_argument("--out", required=True, help="qa.jsonl to write")
    parser.add_argument("--server", default=None, help="HOST:PORT of QAGenService (default: in-process)")
    parser.add_argument("--teacher-base-url", default=None, help="OpenAI-compatible base URL of the teacher")
    parser.add_argument("--teacher-model", default=None, help="teacher model name")
    parser.add_argument("--mode", choices=["qa", "answer_first"], default=None,
                        help="qa: the teacher writes questions and answers; answer_first (default): answers "
                             "are the chunk's sentences, the teacher writes questions (for weak teachers)")
    parser.add_argument("--pairs-per-chunk", type=int, default=None, help="pairs asked for per chunk")
    parser.add_argument("--concurrency", type=int, default=None, help="teacher requests in flight")
    parser.add_argument("--max-requests", type=int, default=None, help="stop after this many teacher requests")
    parser.add_argument("--max-tokens", type=int, default=None, help="stop after this many completion tokens")
    parser.add_argument("--paraphrase-share", type=float, default=None,
                        help="share of chunks whose questions are asked again in other words (held-out set)")
    parser.add_argument("--cache", default=None, help="teacher cache prefix (file:// or s3://)")
    parser.add_argument("--deadline", type=float, default=24 * 3600.0,
                        help="seconds the whole call may take through the server (default 86400)")
    parser.add_argument("--split-out", default=None, help="also split the pairs into train/eval files here")
    _add_split_flags(parser)
    parser.set_defaults(func=run_qagen)

    split = subparsers.add_parser(
        "split", help="split qa.jsonl into train / eval_heldout_questions / eval_heldout_docs / eval_seen",
        description="Writes train.jsonl, eval_heldout_questions.jsonl, eval_heldout_docs.jsonl, "
                    "eval_seen.jsonl and dataset_card.json under --out.")
    split.add_argument("qa", help="qa.jsonl (path, file:// or s3://)")
    split.add_argument("--out", required=True, help="directory or prefix for the split files")
    split.add_argument("--server", default=None, help="HOST:PORT of QAGenService (default: in-process)")
    _add_split_flags(split)
    split.set_defaults(func=run_split)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {"teacher_base_url": args.teacher_base_url, "teacher_model": args.teacher_model, "mode": args.mode,
            "pairs_per_chunk": args.pairs_per_chunk, "max_concurrency": args.concurrency,
            "max_requests": args.max_requests, "max_tokens": args.max_tokens,
            "paraphrase_share": args.paraphrase_share, "cache_uri": args.cache}


def _in_process(chunks: list[Any], args: argparse.Namespace) -> Iterator[Any]:
    from doc2slm_common.config import load_settings
    from doc2slm_qagen import factory
    from doc2slm_qagen.settings import QAGenSettings

    run = factory.open_run(load_settings(QAGenSettings), **_options(args))
    try:
        yield from run.generator.run(chunks)
    finally:
        run.close()


def _through_server(chunks: list[Any], args: argparse.Namespace) -> Iterator[Any]:
    from doc2slm.v1 import qagen_pb2, qagen_pb2_grpc
    from doc2slm_common import client
    from doc2slm_qagen.service import options_to_proto, record_from_event

    request = qagen_pb2.GeneratePairsRequest(options=options_to_proto(_options(args)), cache_uri=args.cache or "")
    if storage.is_s3(storage.to_uri(args.chunks)):
        request.chunks_uri = storage.to_uri(args.chunks)  # the server reads it itself
    else:
        request.chunks.extend(chunk_to_proto(c) for c in chunks)
    with client.open_channel(args.server) as channel:
        stub = qagen_pb2_grpc.QAGenServiceStub(channel)
        for event in client.stream(stub.GeneratePairs, request, deadline_s=args.deadline):
            yield record_from_event(event)


def chunk_to_proto(chunk: Any) -> Any:
    from doc2slm.v1 import common_pb2

    return common_pb2.Chunk(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, source=chunk.source,
                            page_start=chunk.page_start, page_end=chunk.page_end, text=chunk.text)


def run_qagen(args: argparse.Namespace) -> int:
    from doc2slm_qagen.chunkwork import ChunkFailure
    from doc2slm_qagen.dataset import read_chunks, summary_to_dict, write_pairs
    from doc2slm_qagen.generate import RunSummary
    from doc2slm_qagen.records import PairRecord
    from tqdm import tqdm

    chunks = read_chunks(storage.to_uri(args.chunks))
    events = _through_server(chunks, args) if args.server else _in_process(chunks, args)
    pairs: list[PairRecord] = []
    summary: RunSummary | None = None
    failed = 0
    with tqdm(total=len(chunks), unit="chunk", desc="qagen", file=sys.stderr, disable=None) as bar:
        done: set[str] = set()
        for event in events:
            if isinstance(event, RunSummary):
                summary = event
                continue
            chunk_id = event.chunk_id if isinstance(event, PairRecord) else event.item_id
            if chunk_id not in done:
                done.add(chunk_id)
                bar.update(1)
            if isinstance(event, ChunkFailure):
                failed += 1
                tqdm.write(f"{event.code}: {event.item_id}: {event.message}", file=sys.stderr)
            else:
                pairs.append(event)
    write_pairs(storage.to_uri(args.out), pairs, summary_to_dict(summary) if summary else None)
    if summary is not None:
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(summary.dropped.items())) or "none"
        print(f"{len(pairs)} pairs from {summary.chunks_with_pair} of {summary.chunks_total} chunks -> {args.out}; "
              f"teacher calls {summary.teacher_calls}, cached chunks {summary.chunks_cached}, "
              f"failed {summary.chunks_failed}; dropped: {dropped}", file=sys.stderr)
        if summary.stopped_by_budget:
            print(f"stopped by the request/token budget: {summary.chunks_not_started} chunks not asked yet; "
                  "run again to continue from the cache", file=sys.stderr)
    if args.split_out:
        _split(storage.to_uri(args.out), args)
    return 1 if failed else 0


def _split(qa_uri: str, args: argparse.Namespace) -> None:
    out_uri = storage.to_uri(args.split_out if hasattr(args, "split_out") and args.split_out else args.out)
    if args.server:
        from doc2slm.v1 import qagen_pb2, qagen_pb2_grpc
        from doc2slm_common import client

        request = qagen_pb2.SplitDatasetRequest(qa_uri=qa_uri, out_uri=out_uri, seed=args.seed or 0,
                                                heldout_docs_share=args.heldout_docs_share or 0,
                                                seen_share=args.seen_share or 0)
        with client.open_channel(args.server) as channel:
            reply = client.unary(qagen_pb2_grpc.QAGenServiceStub(channel).SplitDataset, request)
        counts = dict(reply.counts)
    else:
        from doc2slm_common.config import load_settings
        from doc2slm_qagen import factory
        from doc2slm_qagen.settings import QAGenSettings
        from doc2slm_qagen.split import split_dataset

        config = factory.split_config(load_settings(QAGenSettings), args.seed, args.heldout_docs_share,
                                      args.seen_share, args.embedding_server)
        _, counts = split_dataset(qa_uri, out_uri, config)
    shown = ", ".join(f"{name} {counts.get(name, 0)}" for name in
                      ("train", "eval_heldout_questions", "eval_heldout_docs", "eval_seen"))
    print(f"split -> {out_uri}: {shown}", file=sys.stderr)


def run_split(args: argparse.Namespace) -> int:
    _split(storage.to_uri(args.qa), args)
    return 0
