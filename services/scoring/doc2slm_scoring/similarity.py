"""Cosine similarity per answer/reference pair and the acceptance buckets of the case study.

The case study judged answers by the cosine between sentence embeddings: >= 0.5 acceptable, 0.4-0.5
borderline, below 0.4 unacceptable. The thresholds are configurable; the defaults keep its numbers
comparable with ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from doc2slm_common.errors import InvalidInput

ACCEPTABLE = "acceptable"
BORDERLINE = "borderline"
UNACCEPTABLE = "unacceptable"
BUCKET_NAMES = (ACCEPTABLE, BORDERLINE, UNACCEPTABLE)

# Below this norm a vector carries no direction, so a cosine with it means nothing.
_MIN_NORM = 1e-12


@dataclass(frozen=True)
class Thresholds:
    """Cosine cut-offs: at or above `acceptable` is acceptable, at or above `borderline` borderline."""

    acceptable: float = 0.5
    borderline: float = 0.4

    def __post_init__(self) -> None:
        for name, value in (("acceptable", self.acceptable), ("borderline", self.borderline)):
            if not np.isfinite(value) or not -1.0 <= value <= 1.0:
                raise InvalidInput(f"threshold {name}={value} must be a number in [-1, 1]")
        if self.borderline > self.acceptable:
            raise InvalidInput(
                f"threshold borderline={self.borderline} must not exceed acceptable={self.acceptable}"
            )

    def as_dict(self) -> dict[str, float]:
        return {ACCEPTABLE: self.acceptable, BORDERLINE: self.borderline}


def as_matrix(vectors: np.ndarray | Sequence[Sequence[float]], name: str) -> np.ndarray:
    """A 2-D float64 array of finite values with at least one row, or InvalidInput naming `name`."""
    try:
        matrix = np.asarray(vectors, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"{name}: not a list of equal-length numeric vectors ({error})") from error
    if matrix.shape[:1] == (0,):
        raise InvalidInput(f"{name}: no vectors given")
    if matrix.ndim != 2:
        raise InvalidInput(f"{name}: expected a list of vectors, got an array of shape {matrix.shape}")
    if matrix.shape[1] == 0:
        raise InvalidInput(f"{name}: vectors have dimension 0")
    bad_rows = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if bad_rows.size:
        raise InvalidInput(f"{name}: vector {int(bad_rows[0])} contains NaN or infinity")
    return matrix


def cosine_per_pair(
    candidates: np.ndarray | Sequence[Sequence[float]],
    references: np.ndarray | Sequence[Sequence[float]],
) -> np.ndarray:
    """Cosine of row i of `candidates` with row i of `references`, clipped to [-1, 1]."""
    cand = as_matrix(candidates, "candidates")
    ref = as_matrix(references, "references")
    if cand.shape[0] != ref.shape[0]:
        raise InvalidInput(f"{cand.shape[0]} candidate vectors but {ref.shape[0]} reference vectors")
    if cand.shape[1] != ref.shape[1]:
        raise InvalidInput(
            f"dimension mismatch: candidates have {cand.shape[1]}, references have {ref.shape[1]}"
        )
    cand_norm = np.linalg.norm(cand, axis=1)
    ref_norm = np.linalg.norm(ref, axis=1)
    for name, norms in (("candidate", cand_norm), ("reference", ref_norm)):
        zero = np.flatnonzero(norms < _MIN_NORM)
        if zero.size:
            raise InvalidInput(f"{name} vector {int(zero[0])} is all zeros: its cosine is undefined")
    cosines = np.einsum("ij,ij->i", cand, ref) / (cand_norm * ref_norm)
    # Rounding can push unit vectors a hair past 1; a cosine outside [-1, 1] would confuse readers.
    return np.clip(cosines, -1.0, 1.0)


def bucket_of(cosine: float, thresholds: Thresholds) -> str:
    if cosine >= thresholds.acceptable:
        return ACCEPTABLE
    if cosine >= thresholds.borderline:
        return BORDERLINE
    return UNACCEPTABLE


def similarity_buckets(cosines: Sequence[float] | np.ndarray, thresholds: Thresholds) -> list[str]:
    return [bucket_of(float(c), thresholds) for c in cosines]


def bucket_counts(cosines: Sequence[float] | np.ndarray, thresholds: Thresholds) -> dict[str, int]:
    """How many scores fall in each bucket, every bucket present (zero when empty)."""
    counts = dict.fromkeys(BUCKET_NAMES, 0)
    for name in similarity_buckets(cosines, thresholds):
        counts[name] += 1
    return counts
