"""A capped run samples chunks evenly over documents and positions, seeded; never the first N."""

from __future__ import annotations

import itertools
import random

import pytest
from doc2slm_pipelines.steps.sampling import document_quotas, even_positions, sample_chunks


def corpus(sizes: dict[str, int]) -> list[dict[str, object]]:
    return [{"doc_id": doc, "chunk_id": f"{doc}-{i}", "position": i} for doc, n in sizes.items() for i in range(n)]


def test_a_cap_spreads_over_each_document_not_its_opening() -> None:
    chunks = corpus({"faq": 200, "guide": 100})
    kept = sample_chunks(chunks, 30, seed=1)
    assert len(kept) == 30
    by_doc = {doc: [c["position"] for c in kept if c["doc_id"] == doc] for doc in ("faq", "guide")}
    assert len(by_doc["faq"]) == 20 and len(by_doc["guide"]) == 10  # in proportion to their chunks
    for doc, size in (("faq", 200), ("guide", 100)):
        positions = by_doc[doc]
        assert positions[0] < size / len(positions)  # starts within the first stride, not at a fixed place
        assert positions[-1] >= size - size / len(positions) - 1  # reaches the end of the document
        gaps = [b - a for a, b in itertools.pairwise(positions)]
        assert max(gaps) - min(gaps) <= 1  # evenly spaced
    assert kept == [c for c in chunks if c in kept]  # reading order kept


def test_the_same_seed_picks_the_same_chunks_and_another_seed_others() -> None:
    chunks = corpus({"a": 97, "b": 13, "c": 40})
    assert sample_chunks(chunks, 25, seed=3) == sample_chunks(chunks, 25, seed=3)
    assert sample_chunks(chunks, 25, seed=3) != sample_chunks(chunks, 25, seed=4)


def test_every_document_keeps_a_chunk_while_the_cap_allows() -> None:
    sizes = {"big": 500, "small1": 2, "small2": 1, "small3": 3}
    quotas = document_quotas(sizes, 8)
    assert sum(quotas.values()) == 8 and all(quotas[doc] >= 1 for doc in sizes)
    assert sum(document_quotas(sizes, 2).values()) == 2


def test_no_cap_or_a_cap_above_the_corpus_keeps_everything() -> None:
    chunks = corpus({"a": 5})
    assert sample_chunks(chunks, 0) is chunks and sample_chunks(chunks, 10) is chunks


@pytest.mark.parametrize("count,wanted", [(10, 3), (7, 7), (100, 1), (3, 5)])
def test_even_positions_are_distinct_and_in_range(count: int, wanted: int) -> None:
    positions = even_positions(count, wanted, random.Random(0))
    assert len(positions) == min(count, wanted) == len(set(positions))
    assert all(0 <= p < count for p in positions)
