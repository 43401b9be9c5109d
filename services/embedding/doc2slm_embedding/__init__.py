"""doc2slm-embedding: texts to L2-normalised sentence vectors (in-process encoder and gRPC service)."""

from doc2slm_embedding.encoder import SentenceEncoder, load_encoder
from doc2slm_embedding.settings import EmbeddingSettings

__all__ = ["EmbeddingSettings", "SentenceEncoder", "load_encoder"]
