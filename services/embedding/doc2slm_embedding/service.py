"""EmbeddingService servicer: decode texts, call the encoder, encode vectors; the model loads in the
background so health reports NOT_SERVING until it is in memory."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import grpc
import numpy as np
from doc2slm.v1 import embedding_pb2, embedding_pb2_grpc
from doc2slm_common.config import ConfigError
from doc2slm_common.contracts import EMBEDDING
from doc2slm_common.errors import DomainError
from doc2slm_common.server import ServiceBinding

from doc2slm_embedding.encoder import SentenceEncoder
from doc2slm_embedding.settings import EmbeddingSettings

log = logging.getLogger("doc2slm.embedding")


class EmbeddingServicer(embedding_pb2_grpc.EmbeddingServiceServicer):
    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder

    def _response(self, vectors: np.ndarray) -> embedding_pb2.EmbedResponse:
        return embedding_pb2.EmbedResponse(
            model_name=self.encoder.model_name,
            dimension=self.encoder.dimension,
            vectors=[embedding_pb2.Vector(values=row) for row in vectors.tolist()],
        )

    def Embed(
        self, request: embedding_pb2.EmbedRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.EmbedResponse:
        texts = list(request.texts)
        self.encoder.check_request(texts)
        return self._response(self.encoder.embed(texts))

    def EmbedStream(
        self, request_iterator: Iterator[embedding_pb2.EmbedRequest], context: grpc.ServicerContext
    ) -> Iterator[embedding_pb2.EmbedResponse]:
        for request in request_iterator:
            yield self.Embed(request, context)

    def GetModelInfo(
        self, request: embedding_pb2.GetModelInfoRequest, context: grpc.ServicerContext
    ) -> embedding_pb2.ModelInfo:
        # The dimension is only known once the model is in memory; a client must not cache a 0.
        self.encoder.require_ready()
        return embedding_pb2.ModelInfo(
            model_name=self.encoder.model_name,
            dimension=self.encoder.dimension,
            max_texts=self.encoder.settings.max_texts_per_request,
            max_text_chars=self.encoder.settings.max_text_chars,
        )


def _load_in_background(encoder: SentenceEncoder) -> None:
    try:
        encoder.load()
        log.info("embedding model loaded", extra={"model": encoder.model_name, "device": encoder.device,
                                                  "dimension": encoder.dimension})
    except Exception as error:  # the server stays NOT_SERVING; the reason must reach the log
        log.error("embedding model failed to load: %s", error)


def build_binding(settings: EmbeddingSettings) -> ServiceBinding:
    """The binding `run_service` serves; the model loads in a background thread."""
    try:
        encoder = SentenceEncoder(settings)
    except DomainError as error:
        # A model setting that names nothing loadable is a configuration mistake: stop at start.
        raise ConfigError(f"invalid setting embedding_model: {error.message}") from None
    threading.Thread(target=_load_in_background, args=(encoder,), name="embedding-load", daemon=True).start()
    return binding_for(encoder)


def binding_for(encoder: SentenceEncoder) -> ServiceBinding:
    """A binding over an encoder that is loaded (or will be) by its owner; ready when it is."""
    return ServiceBinding(
        contract=EMBEDDING,
        add_to_server=embedding_pb2_grpc.add_EmbeddingServiceServicer_to_server,
        servicer=EmbeddingServicer(encoder),
        is_ready=lambda: encoder.ready,
    )
