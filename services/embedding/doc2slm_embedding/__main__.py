"""`python -m doc2slm_embedding`: serve EmbeddingService (default 127.0.0.1:50053)."""

from __future__ import annotations

from doc2slm_common.contracts import EMBEDDING
from doc2slm_common.server import run_service

from doc2slm_embedding.service import build_binding
from doc2slm_embedding.settings import EmbeddingSettings


def main() -> None:
    run_service(EMBEDDING, EmbeddingSettings, build_binding)


if __name__ == "__main__":
    main()
