"""`doc2slm extract PDF... --out chunks.jsonl [--server HOST:PORT]`: PDFs to chunks.

In-process (the extraction library and its worker processes) when no server is given, through
ExtractionService otherwise; both give the same file. A failed document is printed as
`STATUS_NAME: source: reason`, the others' chunks are still written, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from doc2slm_common import storage
from doc2slm_common.errors import DomainError
from doc2slm_common.extraction_events import CHUNKS_PER_EVENT, chunks_of

UPLOAD_PIECE_BYTES = 1024 * 1024


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("extract", help="turn PDFs into chunks.jsonl")
    parser.add_argument("pdfs", nargs="+", metavar="PDF",
                        help="PDF files, directories (every .pdf under them), file:// or s3:// URIs or prefixes/")
    parser.add_argument("--out", required=True, help="chunks.jsonl to write (path, file:// or s3://)")
    parser.add_argument("--server", default=None, help="HOST:PORT of ExtractionService (default: in-process)")
    parser.add_argument("--backend", choices=["pypdf", "pypdfium2"], default=None,
                        help="text backend (default: DOC2SLM_BACKEND or pypdf)")
    parser.add_argument("--max-tokens", type=int, default=None, help="maximum tokens per chunk")
    parser.add_argument("--overlap-tokens", type=int, default=None, help="tokens repeated between chunks")
    parser.add_argument("--password", default="", help="password for encrypted PDFs")
    parser.add_argument("--deadline", type=float, default=600.0,
                        help="seconds one document may take through the server (default 600)")
    parser.set_defaults(func=run_extract)


def expand_inputs(items: list[str]) -> list[str]:
    """URIs of every PDF named: files as given, directories and prefixes/ expanded (sorted)."""
    uris: list[str] = []
    for item in items:
        uri = storage.to_uri(item)
        if uri.endswith("/") or (not storage.is_s3(uri) and storage.local_path(uri).is_dir()):
            uris.extend(storage.list_uris(uri.rstrip("/") + "/", ".pdf"))
        else:
            uris.append(uri)
    return uris


def source_name(uri: str) -> str:
    """What chunks call their document: the file name for local files (stable across machines), else the URI."""
    return uri if storage.is_s3(uri) else PurePosixPath(uri).name


class _Result:
    def __init__(self, source: str) -> None:
        self.source = source
        self.records: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.failure: tuple[str, str] | None = None
        self.pages_recovered = 0
        self.pages_unrecoverable = 0
        self.non_content: dict[str, int] = {}  # characters left out, by reason


def _in_process(uris: list[str], args: argparse.Namespace) -> Iterator[_Result]:
    from doc2slm_common.config import load_settings
    from doc2slm_extraction.documents import DocumentSource
    from doc2slm_extraction.extractor import Extractor
    from doc2slm_extraction.settings import ExtractionSettings

    settings = load_settings(ExtractionSettings, backend=args.backend, max_tokens=args.max_tokens,
                             overlap_tokens=args.overlap_tokens)
    sources = [DocumentSource(source_name(uri), _reader(uri), args.password) for uri in uris]
    with Extractor(settings) as extractor:
        options = extractor.options()
        for outcome in extractor.extract_many(sources, options):
            result = _Result(outcome.source)
            result.records = [chunk.to_record() for chunk in outcome.chunks]
            result.warnings = list(outcome.warnings)
            result.pages_recovered, result.pages_unrecoverable = outcome.pages_recovered, outcome.pages_unrecoverable
            result.non_content = dict(outcome.non_content)
            if outcome.failure is not None:
                result.failure = (outcome.failure.code_name, outcome.failure.message)
            yield result


def _reader(uri: str) -> Any:
    return lambda: storage.read_bytes(uri)


def _through_server(uris: list[str], args: argparse.Namespace) -> Iterator[_Result]:
    import grpc
    from doc2slm.v1 import extraction_pb2, extraction_pb2_grpc
    from doc2slm_common import client
    from doc2slm_extraction.documents import CHUNK_FIELDS

    options = extraction_pb2.ChunkingOptions(
        max_tokens=args.max_tokens or 0, overlap_tokens=args.overlap_tokens or 0, backend=args.backend or "",
        chunks_per_event=CHUNKS_PER_EVENT)

    def requests(uri: str, data: bytes) -> Iterator[Any]:
        yield extraction_pb2.ExtractDocumentRequest(header=extraction_pb2.DocumentHeader(
            source_name=source_name(uri), password=args.password, options=options))
        for start in range(0, len(data), UPLOAD_PIECE_BYTES):
            yield extraction_pb2.ExtractDocumentRequest(data=data[start : start + UPLOAD_PIECE_BYTES])

    def extract_one(uri: str) -> _Result:
        result = _Result(source_name(uri))
        try:
            data = storage.read_bytes(uri)  # read here: the server may not see this machine's files
        except DomainError as error:
            result.failure = (error.code_name, error.message)
            return result
        try:
            for event in client.stream(stub.ExtractDocument, lambda: requests(uri, data),
                                       deadline_s=args.deadline):
                if event.WhichOneof("event") != "result":
                    result.records.extend({name: getattr(chunk, name) for name in CHUNK_FIELDS}
                                          for chunk in chunks_of(event))
                else:
                    result.warnings = list(event.result.warnings)
                    result.pages_recovered = event.result.pages_recovered
                    result.pages_unrecoverable = event.result.pages_unrecoverable
                    result.non_content = dict(event.result.non_content_chars)
        except grpc.RpcError as error:
            code = error.code()
            result.failure = (code.name if code else "UNKNOWN", (error.details() or "").replace("\n", " "))
            result.records = []
        return result

    with client.open_channel(args.server) as channel, ThreadPoolExecutor(4) as pool:
        stub = extraction_pb2_grpc.ExtractionServiceStub(channel)
        yield from pool.map(extract_one, uris)


def _quality_line(recovered: int, unrecoverable: int, left_out: dict[str, int]) -> str:
    """What was fixed and left out, so that a reader sees it without the per-document warnings."""
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(left_out.items())) or "nothing"
    return (f"pages with words run together: {recovered} recovered, {unrecoverable} not; characters left out "
            f"(not content): {reasons}")


def run_extract(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    uris = expand_inputs(args.pdfs)
    if not uris:
        print("INVALID_ARGUMENT: no PDF found in the given paths", file=sys.stderr)
        return 1
    results = _through_server(uris, args) if args.server else _in_process(uris, args)
    records: list[dict[str, Any]] = []
    failed = 0
    recovered = unrecoverable = 0
    left_out: dict[str, int] = {}
    for result in tqdm(results, total=len(uris), unit="doc", desc="extract", file=sys.stderr,
                       disable=None):
        for warning in result.warnings:
            tqdm.write(f"warning: {result.source}: {warning}", file=sys.stderr)
        if result.failure is not None:
            failed += 1
            tqdm.write(f"{result.failure[0]}: {result.source}: {result.failure[1]}", file=sys.stderr)
        records.extend(result.records)
        recovered += result.pages_recovered
        unrecoverable += result.pages_unrecoverable
        for reason, count in result.non_content.items():
            left_out[reason] = left_out.get(reason, 0) + count
    storage.write_jsonl(storage.to_uri(args.out), records)
    print(f"{len(records)} chunks from {len(uris) - failed} of {len(uris)} documents -> {args.out}",
          file=sys.stderr)
    print(_quality_line(recovered, unrecoverable, left_out), file=sys.stderr)
    return 1 if failed else 0
