"""The onnx engine's per-row sampler: greedy, seeded samples, the nucleus, banned end tokens."""

from __future__ import annotations

import numpy as np
import pytest
from doc2slm_serving.params import SamplingParams
from doc2slm_serving.token_choice import TokenChooser, _nucleus


def nucleus_by_full_sort(scores: np.ndarray, top_p: float) -> set[int]:
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    order = np.argsort(-probabilities, kind="stable")
    before = np.cumsum(probabilities[order]) - probabilities[order]
    return set(order[before < top_p].tolist())


@pytest.mark.parametrize("spread", [0.5, 5.0, 30.0])  # flat (thousands of tokens) to peaked (one or two)
@pytest.mark.parametrize("top_p", [0.3, 0.9, 0.99])
def test_the_nucleus_is_the_one_a_full_sort_gives(spread: float, top_p: float) -> None:
    scores = np.random.default_rng(1).normal(size=49152) * spread
    assert set(_nucleus(scores, top_p).tolist()) == nucleus_by_full_sort(scores, top_p)


def test_greedy_is_the_argmax_and_a_seed_repeats() -> None:
    logits = np.random.default_rng(2).normal(size=1000).astype(np.float32)
    assert TokenChooser(SamplingParams(max_new_tokens=4, temperature=0.0), set()).choose(logits) == logits.argmax()
    params = SamplingParams(max_new_tokens=4, temperature=1.5, top_p=0.95, seed=2**40 + 3)
    first, second = TokenChooser(params, set()), TokenChooser(params, set())
    assert [first.choose(logits) for _ in range(20)] == [second.choose(logits) for _ in range(20)]
    unseeded = SamplingParams(max_new_tokens=4, temperature=1.5)
    assert len({TokenChooser(unseeded, set()).choose(logits) for _ in range(30)}) > 1


def test_samples_stay_inside_the_nucleus() -> None:
    logits = np.zeros(100, dtype=np.float32)
    logits[[3, 7]] = 10.0  # two tokens hold almost all the probability
    chooser = TokenChooser(SamplingParams(max_new_tokens=4, temperature=1.0, top_p=0.9, seed=5), set())
    assert {chooser.choose(logits) for _ in range(200)} == {3, 7}


def test_ignore_eos_never_ends_the_row() -> None:
    logits = np.zeros(10, dtype=np.float32)
    logits[2] = 50.0  # eos by far the likeliest
    assert TokenChooser(SamplingParams(max_new_tokens=4, temperature=0.0), {2}).choose(logits) == 2
    banned = SamplingParams(max_new_tokens=4, temperature=0.0, ignore_eos=True)
    assert TokenChooser(banned, {2}).choose(logits) != 2
