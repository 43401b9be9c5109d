"""KFP component: PDFs under `docs_uri` -> chunks.jsonl (ExtractionService at `extraction_address`)."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Output

from doc2slm_pipelines.components.images import PIPELINES_IMAGE


@dsl.component(base_image=PIPELINES_IMAGE, install_kfp_package=False)
def extract(
    docs_uri: str,
    work_uri: str,
    extraction_address: str,
    chunk_max_tokens: int,
    chunk_overlap_tokens: int,
    max_chunks: int,
    sample_seed: int,
    chunks_dataset: Output[Dataset],
) -> NamedTuple("ExtractOutputs", [("chunks_uri", str), ("documents", int), ("chunks", int)]):  # type: ignore[valid-type]
    """Extract every PDF under `docs_uri` into `<work_uri>/chunks.jsonl` through ExtractionService.

    A document that fails is recorded in extraction_card.json and the others go on; a corpus that yields
    no chunk fails the step.

    Args:
        docs_uri: One PDF, or a prefix whose *.pdf files are the corpus (s3://, file:// or a path).
        work_uri: The run's prefix; chunks.jsonl and extraction_card.json are written under it.
        extraction_address: HOST:PORT of ExtractionService.
        chunk_max_tokens: Most tokens per chunk; 0: the service's setting (256).
        chunk_overlap_tokens: Tokens repeated between neighbouring chunks; 0: the service's setting (32).
        max_chunks: Keep at most this many chunks, spread over documents and positions; 0: keep all.
        sample_seed: Seed of that spread, so a re-run keeps the same chunks.

    Returns:
        chunks_dataset: Chunks.jsonl as a Dataset, with the document and chunk counts.
        chunks_uri: URI of the chunks.jsonl written.
        documents: Documents found, failed ones included.
        chunks: Chunks kept in chunks.jsonl.
    """
    from collections import namedtuple

    from doc2slm_pipelines.steps.artifacts import publish_file
    from doc2slm_pipelines.steps.extract import extract_corpus

    outcome = extract_corpus(docs_uri, work_uri, extraction_address, max_tokens=chunk_max_tokens,
                             overlap_tokens=chunk_overlap_tokens, max_chunks=max_chunks,
                             sample_seed=sample_seed)
    publish_file(outcome.chunks_uri, chunks_dataset, documents=outcome.documents, chunks=outcome.chunks)
    outputs = namedtuple("outputs", ["chunks_uri", "documents", "chunks"])
    return outputs(outcome.chunks_uri, outcome.documents, outcome.chunks)
