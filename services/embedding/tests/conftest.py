"""One real MiniLM load for the embedding tests (loading it per test would cost seconds each)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from doc2slm_embedding.encoder import SentenceEncoder, load_encoder
from doc2slm_embedding.settings import EmbeddingSettings


@pytest.fixture(scope="session")
def encoder() -> SentenceEncoder:
    return load_encoder(EmbeddingSettings(embedding_batch_size=8))
