"""`doc2slm extract PDF... --out chunks.jsonl [--server HOST:PORT]`: PDFs to chunks.

In-process (the extraction library and its worker processes) when no server is given; through
ExtractionService otherwise, by the pipeline step's own client (doc2slm_pipelines.steps.extract
.extract_uploaded). Both paths hand over DocumentChunks whose records are the pipeline's chunks.jsonl
records, so the file is the same whichever path made it. A failed document is printed as
`STATUS_NAME: source: reason`, the others' chunks are still written, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doc2slm_pipelines.steps.extract import DocumentChunks


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
    # Its worker pool and files are closed when run_extract returns: the process may end at once (main.exit_now).
    parser.set_defaults(func=run_extract, exit_at_once=True)


def expand_inputs(items: list[str]) -> list[str]:
    """URIs of every PDF named: files as given, directories and prefixes/ expanded (sorted)."""
    from doc2slm_common import storage

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
    return uri if uri.startswith("s3://") else PurePosixPath(uri).name


def _in_process(uris: list[str], args: argparse.Namespace) -> Iterator[DocumentChunks]:
    """The extraction library here. Its workers start in the background and the first documents are handed
    to them at once, so that the rest of start-up (the progress bar, the record type's imports) overlaps them."""
    from doc2slm_common.config import load_settings
    from doc2slm_extraction.documents import DocumentSource
    from doc2slm_extraction.extractor import Extractor
    from doc2slm_extraction.settings import ExtractionSettings

    settings = load_settings(ExtractionSettings, backend=args.backend, max_tokens=args.max_tokens,
                             overlap_tokens=args.overlap_tokens)
    extractor = Extractor(settings, start_in_background=True)
    sources = [DocumentSource(source_name(uri), _reader(uri), args.password) for uri in uris]
    return _records_of(extractor, extractor.extract_many(sources, extractor.options()))


def _records_of(extractor: Any, outcomes: Iterator[Any]) -> Iterator[DocumentChunks]:
    from doc2slm_pipelines.steps.extract import DocumentChunks

    with extractor:
        for outcome in outcomes:
            failure = outcome.failure
            yield DocumentChunks(
                source=outcome.source, records=[chunk.to_record() for chunk in outcome.chunks],
                doc_id=outcome.doc_id, pages=outcome.pages, warnings=list(outcome.warnings),
                failure=None if failure is None else (failure.code_name, failure.message),
                pages_recovered=outcome.pages_recovered, pages_unrecoverable=outcome.pages_unrecoverable,
                non_content=dict(outcome.non_content))


def _reader(uri: str) -> Any:
    from doc2slm_common import storage

    return lambda: storage.read_bytes(uri)


def _through_server(uris: list[str], args: argparse.Namespace) -> Iterator[DocumentChunks]:
    """The pipeline step's client: the bytes are read here, since the server may not see this machine's files."""
    from doc2slm_pipelines.steps.extract import chunking_options, extract_uploaded

    options = chunking_options(args.max_tokens or 0, args.overlap_tokens or 0, args.backend or "")
    sources = [(source_name(uri), _reader(uri)) for uri in uris]
    return extract_uploaded(args.server, sources, options, password=args.password, deadline_s=args.deadline)


def _quality_line(recovered: int, unrecoverable: int, left_out: dict[str, int]) -> str:
    """What was fixed and left out, so that a reader sees it without the per-document warnings."""
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in sorted(left_out.items())) or "nothing"
    return (f"pages with words run together: {recovered} recovered, {unrecoverable} not; characters left out "
            f"(not content): {reasons}")


def _largest_first(uris: list[str]) -> list[int]:
    """Positions of uris, largest local file first: a large document's page ranges keep every worker busy
    early, and the run ends on small documents instead of one worker finishing a large one alone."""
    from doc2slm_common import storage

    def size(uri: str) -> int:
        try:
            return 0 if storage.is_s3(uri) else storage.local_path(uri).stat().st_size
        except OSError:
            return 0

    sizes = [size(uri) for uri in uris]
    return sorted(range(len(uris)), key=lambda position: -sizes[position])


def run_extract(args: argparse.Namespace) -> int:
    if not args.server:
        # First, before this process imports grpc and pydantic: the forkserver the workers come from imports
        # the PDF backends in its own process meanwhile (nothing else is imported at this point; see main).
        from doc2slm_extraction.forkserver import BACKEND_MODULES, start_forkserver

        start_forkserver((args.backend,) if args.backend else BACKEND_MODULES)
    from doc2slm_common import storage

    uris = expand_inputs(args.pdfs)
    if not uris:
        print("INVALID_ARGUMENT: no PDF found in the given paths", file=sys.stderr)
        return 1
    order = _largest_first(uris)
    extract = _through_server if args.server else _in_process
    results = extract([uris[position] for position in order], args)

    from tqdm import tqdm

    by_position: list[list[dict[str, Any]]] = [[] for _ in uris]  # the file keeps the order of the input
    failed = 0
    recovered = unrecoverable = 0
    left_out: dict[str, int] = {}
    for position, result in zip(order, tqdm(results, total=len(uris), unit="doc", desc="extract",
                                            file=sys.stderr, disable=None), strict=True):
        for warning in result.warnings:
            tqdm.write(f"warning: {result.source}: {warning}", file=sys.stderr)
        if result.failure is not None:
            failed += 1
            tqdm.write(f"{result.failure[0]}: {result.source}: {result.failure[1]}", file=sys.stderr)
        by_position[position] = result.records
        recovered += result.pages_recovered
        unrecoverable += result.pages_unrecoverable
        for reason, count in result.non_content.items():
            left_out[reason] = left_out.get(reason, 0) + count
    records = [record for records_of_one in by_position for record in records_of_one]
    storage.write_jsonl(storage.to_uri(args.out), records)
    print(f"{len(records)} chunks from {len(uris) - failed} of {len(uris)} documents -> {args.out}",
          file=sys.stderr)
    print(_quality_line(recovered, unrecoverable, left_out), file=sys.stderr)
    return 1 if failed else 0
