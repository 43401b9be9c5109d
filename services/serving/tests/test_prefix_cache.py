"""The prefix cache's bookkeeping: which blocks a prompt may reuse, and which go first when it is full."""

from __future__ import annotations

import numpy as np
from doc2slm_serving.prefix_cache import BLOCK, PrefixCache


def block(value: float, nbytes: int = 1024) -> np.ndarray:
    return np.full(nbytes // 4, value, dtype=np.float32)


def fill(cache: PrefixCache, tokens: list[int]) -> list[bytes]:
    digests = PrefixCache.digests(tokens)
    for index in cache.missing(digests):
        cache.put(digests[index], block(index))
    cache.touch(digests)
    return digests


def test_a_block_is_known_by_every_token_before_its_end() -> None:
    a = list(range(3 * BLOCK + 5))
    b = [*a[:BLOCK], 999, *a[BLOCK + 1:]]  # differs in the second block only
    assert len(PrefixCache.digests(a)) == 3  # the partial last block has no digest
    da, db = PrefixCache.digests(a), PrefixCache.digests(b)
    assert da[0] == db[0] and da[1] != db[1] and da[2] != db[2]


def test_the_longest_run_of_known_blocks_from_the_start_within_the_limit() -> None:
    cache = PrefixCache(max_bytes=1 << 20)
    a = list(range(4 * BLOCK))
    fill(cache, a)
    same_start = a[:2 * BLOCK] + [7] * (2 * BLOCK)
    found = cache.longest(PrefixCache.digests(same_start), len(same_start) - 1)
    assert [int(b[0]) for b in found] == [0, 1]
    # A prompt of exactly four known blocks keeps its last token to compute: three blocks at most.
    assert len(cache.longest(PrefixCache.digests(a), len(a) - 1)) == 3
    assert cache.longest(PrefixCache.digests([5, *a[1:]]), len(a)) == []


def test_when_full_a_prefix_loses_its_tail_before_its_head() -> None:
    cache = PrefixCache(max_bytes=4 * 1024)  # four blocks
    shared = list(range(3 * BLOCK))
    fill(cache, shared + [1] * BLOCK)
    fill(cache, shared + [2] * BLOCK)  # a fifth block: one must go
    assert cache.bytes <= cache.max_bytes
    # The head every prompt needs survives; the older prompt's own tail went first.
    assert len(cache.longest(PrefixCache.digests(shared + [2] * BLOCK), 10 * BLOCK)) == 4
    assert len(cache.longest(PrefixCache.digests(shared + [1] * BLOCK), 10 * BLOCK)) == 3


def test_a_cache_of_no_bytes_keeps_nothing() -> None:
    cache = PrefixCache(max_bytes=0)
    digests = fill(cache, list(range(2 * BLOCK)))
    assert cache.missing(digests) == [0, 1] and cache.bytes == 0
