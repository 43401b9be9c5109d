"""Names and ports that other programs rely on (DESIGN.md, "Contracts"). Change only with an issue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceContract:
    short_name: str
    full_name: str
    port: int


EXTRACTION = ServiceContract("extraction", "doc2slm.v1.ExtractionService", 50051)
QAGEN = ServiceContract("qagen", "doc2slm.v1.QAGenService", 50052)
EMBEDDING = ServiceContract("embedding", "doc2slm.v1.EmbeddingService", 50053)
SCORING = ServiceContract("scoring", "doc2slm.v1.ScoringService", 50054)

ALL_SERVICES = (EXTRACTION, QAGEN, EMBEDDING, SCORING)

SERVING_HTTP_PORT = 8080
SERVING_GRPC_PORT = 8081
OPENAI_ROUTE_PREFIX = "/openai/v1"

# Environment prefix of every doc2slm setting.
ENV_PREFIX = "DOC2SLM_"
