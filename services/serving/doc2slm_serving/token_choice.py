"""The next token of one row from its logits, by the row's own rules (the onnx engine's sampler).

The same rules as the transformers engine's PerRowSampler (rows.py): greedy is the argmax; a sample
divides by the temperature, keeps the smallest set of tokens whose probability reaches top_p (the most
likely token always stays) and draws from it with the row's own generator, seeded when the request
gave a seed, so the same seed repeats its answer on this engine (not the transformers engine's answer:
the two draw differently). `ignore_eos` (a benchmark's fixed length) forbids the end-of-sequence tokens.
"""

from __future__ import annotations

import secrets

import numpy as np

from doc2slm_serving.params import SamplingParams


class TokenChooser:
    def __init__(self, params: SamplingParams, eos_ids: set[int]) -> None:
        self.params = params
        self.banned = sorted(eos_ids) if params.ignore_eos else []
        seed = params.seed if params.seed is not None else secrets.randbits(63)
        self.rng = None if params.greedy else np.random.default_rng(seed)

    def choose(self, logits: np.ndarray) -> int:
        if self.banned:
            logits = logits.copy()
            logits[self.banned] = -np.inf
        if self.rng is None:
            return int(np.argmax(logits))
        scores = logits.astype(np.float64)
        scores /= self.params.temperature
        top_p = self.params.top_p
        candidates = _nucleus(scores, top_p) if top_p < 1.0 else np.arange(len(scores))
        chosen = scores[candidates]
        weights = np.cumsum(np.exp(chosen - chosen.max()))
        return int(candidates[np.searchsorted(weights, self.rng.random() * weights[-1], side="right")])


# The nucleus is looked for among this many likeliest tokens first: sorting a whole 49k vocabulary for
# every sampled token took a quarter of the engine's time as the local teacher (py-spy, 2-core box).
FIRST_LOOK = 256


def _nucleus(scores: np.ndarray, top_p: float) -> np.ndarray:
    """The smallest set of likeliest tokens whose probability reaches top_p (the likeliest always in)."""
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    look = min(FIRST_LOOK, len(scores))
    while True:
        top = np.argpartition(-probabilities, look - 1)[:look] if look < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-probabilities[top], kind="stable")]
        before = np.cumsum(probabilities[top]) - probabilities[top]
        inside = top[before < top_p]
        if len(inside) < look or look == len(scores):
            return inside
        look = min(4 * look, len(scores))
