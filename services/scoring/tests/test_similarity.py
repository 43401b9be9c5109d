"""Cosine per pair and buckets against numpy/scipy, and the malformed vectors that must be refused."""

from __future__ import annotations

import numpy as np
import pytest
from doc2slm_common.errors import InvalidInput
from doc2slm_scoring.similarity import Thresholds, bucket_counts, cosine_per_pair, similarity_buckets
from scipy.spatial.distance import cosine as scipy_cosine_distance


def test_cosine_per_pair_matches_scipy_on_unnormalised_vectors() -> None:
    rng = np.random.default_rng(7)
    candidates, references = rng.normal(size=(20, 16)), rng.normal(size=(20, 16)) * 3.0
    expected = [1.0 - scipy_cosine_distance(c, r) for c, r in zip(candidates, references, strict=True)]
    np.testing.assert_allclose(cosine_per_pair(candidates, references), expected, atol=1e-12)


def test_identical_and_opposite_vectors_are_clipped_to_plus_minus_one() -> None:
    vector = [0.1, 0.2, 0.3]
    result = cosine_per_pair([vector, vector], [vector, [-0.1, -0.2, -0.3]])
    assert result.tolist() == pytest.approx([1.0, -1.0])
    assert result.max() <= 1.0 and result.min() >= -1.0


@pytest.mark.parametrize(
    ("candidates", "references", "message"),
    [
        ([[1.0, 0.0]], [[1.0, 0.0, 0.0]], "dimension mismatch"),
        ([[1.0, float("nan")]], [[1.0, 0.0]], "NaN"),
        ([[1.0, 0.0]], [[float("inf"), 0.0]], "NaN or infinity"),
        ([], [], "no vectors"),
        ([[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0]], "2 candidate vectors but 1"),
        ([[0.0, 0.0]], [[1.0, 0.0]], "all zeros"),
        ([[1.0, 0.0], [1.0]], [[1.0, 0.0], [1.0, 0.0]], "not a list of equal-length"),
    ],
)
def test_malformed_vectors_are_invalid_input(candidates, references, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message):
        cosine_per_pair(candidates, references)


def test_bucket_boundaries_belong_to_the_higher_bucket() -> None:
    thresholds = Thresholds(acceptable=0.5, borderline=0.4)
    scores = [0.5, 0.4999, 0.4, 0.3999, 0.9, -0.2]
    assert similarity_buckets(scores, thresholds) == [
        "acceptable", "borderline", "borderline", "unacceptable", "acceptable", "unacceptable"
    ]
    assert bucket_counts(scores, thresholds) == {"acceptable": 2, "borderline": 2, "unacceptable": 2}
    assert bucket_counts([], thresholds) == {"acceptable": 0, "borderline": 0, "unacceptable": 0}


def test_thresholds_are_validated() -> None:
    with pytest.raises(InvalidInput, match="must not exceed"):
        Thresholds(acceptable=0.3, borderline=0.6)
    with pytest.raises(InvalidInput, match=r"in \[-1, 1\]"):
        Thresholds(acceptable=1.5)
    with pytest.raises(InvalidInput, match="acceptable"):
        Thresholds(acceptable=float("nan"))
