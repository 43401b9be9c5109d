"""Optional semantic near-duplicate check through EmbeddingService (by address, over gRPC).

The lexical check catches reworded copies; it misses a paraphrase that says the same thing in other
words *and* matches a different training question closely in meaning. When the split is given an
embedding service address, held-out questions whose cosine similarity to any train question reaches the
threshold are dropped as well. The library never needs the service: without an address this is unused.
"""

from __future__ import annotations

import numpy as np
from doc2slm.v1 import embedding_pb2, embedding_pb2_grpc
from doc2slm_common import client
from doc2slm_common.errors import InvalidInput

BATCH_TEXTS = 64


class EmbeddingNearDuplicates:
    def __init__(self, address: str, threshold: float, deadline_s: float = client.DEFAULT_DEADLINE_S) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InvalidInput(f"embedding near-duplicate threshold must be in (0, 1], got {threshold}")
        self.address = address
        self.threshold = threshold
        self.deadline_s = deadline_s

    def _embed(self, stub: embedding_pb2_grpc.EmbeddingServiceStub, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), BATCH_TEXTS):
            reply = client.unary(stub.Embed, embedding_pb2.EmbedRequest(texts=texts[start : start + BATCH_TEXTS]),
                                 deadline_s=self.deadline_s)
            rows.extend(list(v.values) for v in reply.vectors)
        matrix = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.maximum(norms, 1e-12)

    def flags(self, candidates: list[str], reference: list[str]) -> list[bool]:
        """For each candidate: is its cosine to some reference text >= threshold?"""
        if not candidates or not reference:
            return [False] * len(candidates)
        with client.open_channel(self.address) as channel:
            stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
            cand, ref = self._embed(stub, candidates), self._embed(stub, reference)
        best = (cand @ ref.T).max(axis=1)
        return [bool(score >= self.threshold) for score in best]
