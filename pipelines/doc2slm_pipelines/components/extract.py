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
    from collections import namedtuple

    from doc2slm_pipelines.steps.artifacts import publish_file
    from doc2slm_pipelines.steps.extract import extract_corpus

    outcome = extract_corpus(docs_uri, work_uri, extraction_address, max_tokens=chunk_max_tokens,
                             overlap_tokens=chunk_overlap_tokens, max_chunks=max_chunks,
                             sample_seed=sample_seed)
    publish_file(outcome.chunks_uri, chunks_dataset, documents=outcome.documents, chunks=outcome.chunks)
    outputs = namedtuple("outputs", ["chunks_uri", "documents", "chunks"])
    return outputs(outcome.chunks_uri, outcome.documents, outcome.chunks)
