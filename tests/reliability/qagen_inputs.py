"""Chunks for the QA generation scenarios: real prose sentences (the extraction package's generator),
content-hash ids, and the comparison of two runs' pairs by their content-hash pair ids."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


def chunk_texts(count: int, seed: int = 17) -> list[str]:
    from doc2slm_extraction.testing_pdfs import prose_paragraph

    rng = random.Random(seed)
    return [prose_paragraph(rng, sentences=3) for _ in range(count)]


def chunk_dicts(count: int) -> list[dict[str, object]]:
    """chunks.jsonl-shaped records; ids are hashes of the text, as extraction makes them."""
    records = []
    for index, text in enumerate(chunk_texts(count)):
        doc_id = hashlib.sha256(f"reliability-doc-{index % 3}".encode()).hexdigest()
        records.append({"doc_id": doc_id, "chunk_id": hashlib.sha256(text.encode()).hexdigest()[:32],
                        "text": text, "source": f"doc-{index % 3}.pdf", "page_start": 1, "page_end": 1})
    return records


@dataclass(frozen=True)
class PairComparison:
    lost: int
    extra: int
    duplicated: int


def compare_pairs(reference_ids: Iterable[str], got_ids: Iterable[str]) -> PairComparison:
    """Pairs of the reference missing from `got` (lost), in `got` only (extra), and repeated in `got`."""
    reference, got = set(reference_ids), list(got_ids)
    counts = Counter(got)
    return PairComparison(lost=len(reference - set(got)), extra=len(set(got) - reference),
                          duplicated=sum(n - 1 for n in counts.values() if n > 1))
