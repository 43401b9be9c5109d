"""The real bundled all-MiniLM-L6-v2: meaning, unit length, batching, limits."""

from __future__ import annotations

import numpy as np
import pytest
from doc2slm_common.config import ConfigError, load_settings
from doc2slm_common.errors import InvalidInput, LimitExceeded, NotFound, UpstreamUnavailable
from doc2slm_embedding.encoder import BUNDLED_MODEL_NAME, SentenceEncoder, resolve_model
from doc2slm_embedding.settings import EmbeddingSettings

PARAPHRASES = [
    ("The pump must be serviced every six months.", "Service the pump twice a year."),
    ("How do I reset the router?", "What is the way to restart the router?"),
    ("Only trained electricians may open the control cabinet.",
     "The control cabinet may be opened by qualified electricians only."),
]
UNRELATED = [
    ("The pump must be serviced every six months.", "Paris is the capital of France."),
    ("Open the valve before starting the engine.", "My cat enjoys sleeping in the sun."),
    ("The invoice is due within thirty days.", "Photosynthesis converts light into chemical energy."),
]


def cosine(encoder: SentenceEncoder, a: str, b: str) -> float:
    vectors = encoder.embed([a, b])
    return float(vectors[0] @ vectors[1])


@pytest.mark.parametrize(("first", "second"), PARAPHRASES)
def test_paraphrases_score_above_half(encoder: SentenceEncoder, first: str, second: str) -> None:
    assert cosine(encoder, first, second) > 0.5


@pytest.mark.parametrize(("first", "second"), UNRELATED)
def test_unrelated_sentences_score_below_point_four(encoder: SentenceEncoder, first: str, second: str) -> None:
    assert cosine(encoder, first, second) < 0.4


def test_vectors_are_unit_length_float32_of_the_model_dimension(encoder: SentenceEncoder) -> None:
    texts = [pair[0] for pair in PARAPHRASES + UNRELATED]
    vectors = encoder.embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(texts), 384)
    assert encoder.dimension == 384
    assert encoder.model_name == BUNDLED_MODEL_NAME
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batching_gives_the_same_vectors_as_one_by_one(encoder: SentenceEncoder) -> None:
    # Texts of very different lengths, so a batch pads some of them heavily.
    texts = ["Short.", PARAPHRASES[2][0] * 3, UNRELATED[2][1], "Two words", PARAPHRASES[0][1] * 5,
             "A", "The valve", "x " * 120, "Nine", "Ten texts, more than the batch size of eight."]
    together = encoder.embed(texts)
    one_by_one = np.stack([encoder.embed([text])[0] for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_empty_input_and_empty_texts_are_invalid(encoder: SentenceEncoder) -> None:
    with pytest.raises(InvalidInput, match="no texts"):
        encoder.embed([])
    with pytest.raises(InvalidInput, match="text 1 is empty"):
        encoder.embed(["fine", "   "])


def test_request_limits_name_the_limit() -> None:
    limited = SentenceEncoder(EmbeddingSettings(max_texts_per_request=2, max_text_chars=10))
    limited.check_request(["a", "b"])
    with pytest.raises(LimitExceeded, match="limit is 2"):
        limited.check_request(["a", "b", "c"])
    with pytest.raises(InvalidInput, match="text 1 has 11 characters"):
        limited.check_request(["a", "x" * 11])


def test_an_unloaded_encoder_is_not_ready_and_says_so() -> None:
    unloaded = SentenceEncoder(EmbeddingSettings())
    assert not unloaded.ready
    with pytest.raises(UpstreamUnavailable, match="still loading"):
        unloaded.embed(["text"])


def test_model_setting_resolution(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, name = resolve_model("bundled")
    assert name == BUNDLED_MODEL_NAME
    assert path.endswith("model")
    with pytest.raises(NotFound, match="not a sentence-transformers model directory"):
        resolve_model(str(tmp_path))


def test_bad_settings_are_rejected_with_the_setting_named() -> None:
    with pytest.raises(ConfigError, match="embedding_device"):
        load_settings(EmbeddingSettings, embedding_device="tpu")
    with pytest.raises(ConfigError, match="max_texts_per_request"):
        load_settings(EmbeddingSettings, max_texts_per_request=0)
