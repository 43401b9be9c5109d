"""An `embed(texts) -> array` over EmbeddingService, for the report and for ScorePairs on texts.

It learns the server's limits once (GetModelInfo), sends texts in batches under them, checks every
reply (count and dimension) and turns gRPC failures into doc2slm's typed errors, so a caller
sees the same INVALID_ARGUMENT or UNAVAILABLE the embedding service reported.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import grpc
import numpy as np
from doc2slm.v1 import embedding_pb2, embedding_pb2_grpc
from doc2slm_common.client import DEFAULT_DEADLINE_S, open_channel, unary
from doc2slm_common.errors import DomainError, UpstreamUnavailable, error_from_status


class EmbeddingClient:
    def __init__(
        self,
        address: str,
        deadline_s: float = DEFAULT_DEADLINE_S,
        batch_texts: int = 256,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.address = address
        self.connect_timeout_s = connect_timeout_s
        self.deadline_s = deadline_s
        self.batch_texts = batch_texts
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._stub: embedding_pb2_grpc.EmbeddingServiceStub | None = None
        self._info: embedding_pb2.ModelInfo | None = None

    def _get_stub(self) -> embedding_pb2_grpc.EmbeddingServiceStub:
        with self._lock:
            if self._stub is None:
                self._channel = open_channel(self.address)
                self._stub = embedding_pb2_grpc.EmbeddingServiceStub(self._channel)
            channel, stub = self._channel, self._stub
        # Retried calls wait for the channel up to their whole deadline; an address where nothing
        # listens should fail in seconds as UNAVAILABLE, not after every retry's deadline.
        try:
            grpc.channel_ready_future(channel).result(timeout=self.connect_timeout_s)
        except grpc.FutureTimeoutError:
            raise UpstreamUnavailable(
                f"embedding service at {self.address} is unreachable (no connection in "
                f"{self.connect_timeout_s:g}s)"
            ) from None
        return stub

    def _error(self, error: grpc.RpcError) -> DomainError:
        code = error.code() or grpc.StatusCode.UNKNOWN
        return error_from_status(code, f"embedding service at {self.address}: {error.details()}")

    def model_info(self) -> embedding_pb2.ModelInfo:
        if self._info is None:
            try:
                self._info = unary(self._get_stub().GetModelInfo, embedding_pb2.GetModelInfoRequest(),
                                   deadline_s=self.deadline_s)
            except grpc.RpcError as error:
                raise self._error(error) from None
        return self._info

    @property
    def model_name(self) -> str:
        return str(self.model_info().model_name)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text, in order."""
        info = self.model_info()
        batch = max(1, min(self.batch_texts, info.max_texts))
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), batch):
            # A sentence model reads at most its max_seq_length word pieces (256 for MiniLM), far fewer
            # than the server's character limit, so cutting there changes nothing the model would see.
            chunk = [text[: info.max_text_chars] for text in texts[start : start + batch]]
            try:
                reply = unary(self._get_stub().Embed, embedding_pb2.EmbedRequest(texts=chunk),
                              deadline_s=self.deadline_s)
            except grpc.RpcError as error:
                raise self._error(error) from None
            if len(reply.vectors) != len(chunk):
                raise UpstreamUnavailable(
                    f"embedding service at {self.address} returned {len(reply.vectors)} vectors for "
                    f"{len(chunk)} texts"
                )
            if any(len(vector.values) != info.dimension for vector in reply.vectors):
                raise UpstreamUnavailable(
                    f"embedding service at {self.address} returned vectors not of dimension {info.dimension}"
                )
            rows.append(np.array([vector.values for vector in reply.vectors], dtype=np.float32))
        if not rows:
            return np.zeros((0, info.dimension), dtype=np.float32)
        return np.concatenate(rows)

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel, self._stub, self._info = None, None, None
