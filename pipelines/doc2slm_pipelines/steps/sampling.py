"""Which chunks go to the teacher when a run is capped: an even, seeded sample over documents and positions.

Taking the first N chunks of a manual gives its title page and table of contents (measured on a real FAQ:
all 16 chunks of the old default were contents lines). A capped run instead gives each document a share
of the cap in proportion to its chunks (at least one while the cap allows), and takes that many chunks
spread evenly over the document, from a seeded offset, so a re-run with the same seed picks the same
chunks and another seed picks a neighbouring set. Without a cap every chunk is kept.
"""

from __future__ import annotations

import random
from typing import Any


def document_quotas(sizes: dict[str, int], cap: int) -> dict[str, int]:
    """Chunks per document summing to min(cap, total): proportional, largest remainders first, and every
    document at least one while the cap covers that many documents."""
    total = sum(sizes.values())
    if cap >= total:
        return dict(sizes)
    floor_one = cap >= len(sizes)
    exact = {doc: cap * size / total for doc, size in sizes.items()}
    quotas = {doc: max(1 if floor_one else 0, int(value)) for doc, value in exact.items()}
    # Largest remainder, ties by document id so the result does not depend on input order.
    by_remainder = sorted(sizes, key=lambda doc: (-(exact[doc] - int(exact[doc])), doc))
    index = 0
    while sum(quotas.values()) < cap:
        doc = by_remainder[index % len(by_remainder)]
        if quotas[doc] < sizes[doc]:
            quotas[doc] += 1
        index += 1
    while sum(quotas.values()) > cap:  # the floor of one pushed the sum over: trim the largest shares
        doc = max(quotas, key=lambda d: (quotas[d], d))
        quotas[doc] -= 1
    return quotas


def even_positions(count: int, wanted: int, rng: random.Random) -> list[int]:
    """`wanted` indices of range(count) spaced count/wanted apart, starting at a random offset."""
    if wanted >= count:
        return list(range(count))
    stride = count / wanted
    offset = rng.random() * stride
    return sorted({min(count - 1, int(offset + i * stride)) for i in range(wanted)})


def sample_chunks(chunks: list[dict[str, Any]], max_chunks: int, seed: int = 0) -> list[dict[str, Any]]:
    """At most `max_chunks` chunks, spread over documents and positions; input order kept."""
    if max_chunks <= 0 or len(chunks) <= max_chunks:
        return chunks
    by_doc: dict[str, list[int]] = {}
    for index, record in enumerate(chunks):
        by_doc.setdefault(str(record["doc_id"]), []).append(index)
    quotas = document_quotas({doc: len(indices) for doc, indices in by_doc.items()}, max_chunks)
    rng = random.Random(seed)
    kept: list[int] = []
    for doc in sorted(by_doc):
        indices = by_doc[doc]
        kept.extend(indices[i] for i in even_positions(len(indices), quotas[doc], rng))
    return [chunks[i] for i in sorted(kept)]
