"""What every generation engine shares: the tokenizer, the request queue, the blocking helper.

An engine (transformers in engine.py, onnxruntime in engine_onnx.py) turns queued
`GenerationRequest`s into tokens for their sinks. Everything above it (the OpenAI routes, the KServe
predictor, the benchmark, the registry of adapters) talks to this surface only, so choosing an engine
changes no contract. Both tokenize with the same Hugging Face tokenizer, so a prompt is the same token
list whichever engine decodes it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doc2slm_serving.batcher import Batcher, EngineClosed
from doc2slm_serving.params import InvalidRequest, SamplingParams
from doc2slm_serving.rows import GenerationRequest

log = logging.getLogger(__name__)


@dataclass
class Completion:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class CollectingSink:
    """Gathers a whole completion for callers that do not stream (blocking)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.done = threading.Event()
        self.result: Completion | None = None
        self.error: BaseException | None = None

    def on_text(self, text: str) -> None:
        self.parts.append(text)

    def on_finish(self, reason: str, prompt_tokens: int, completion_tokens: int) -> None:
        if not self.done.is_set():
            self.result = Completion("".join(self.parts), reason, prompt_tokens, completion_tokens)
            self.done.set()

    def on_error(self, error: BaseException) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()

    def completion(self, timeout_s: float | None = None) -> Completion:
        """Wait for the whole completion; raises the engine's error, or TimeoutError after `timeout_s`."""
        if not self.done.wait(timeout_s):
            raise TimeoutError(f"no completion within {timeout_s}s")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class EngineBase:
    """Cheap to construct; a subclass's `load()` reads the model, then calls `_load_tokenizer` and
    `batcher.start()`; its `_run_batch` decodes one batch of requests in the batcher's worker thread."""

    name = "base"

    def __init__(self, base_dir: Path, *, max_batch_size: int = 8, max_queue: int = 32,
                 batch_wait_s: float = 0.01) -> None:
        self.base_dir = base_dir
        self.batcher = Batcher(self._run_batch, max_batch_size=max_batch_size, max_queue=max_queue,
                               batch_wait_s=batch_wait_s)
        self.adapters: dict[str, Path] = {}
        self.tokenizer: Any = None
        self.eos_ids: set[int] = set()
        self.base_config: dict[str, Any] = json.loads((base_dir / "config.json").read_text())
        self.context_length = int(self.base_config.get("max_position_embeddings", 2048))

    @property
    def ready(self) -> bool:
        raise NotImplementedError

    def _run_batch(self, batch: list[GenerationRequest]) -> None:
        raise NotImplementedError

    def load_adapter(self, name: str, path: Path) -> None:
        """Check the adapter against this base, then serve it under `name` (replacing any before)."""
        raise NotImplementedError

    def _load_tokenizer(self, generation_eos: Any = None) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.base_dir)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = generation_eos if isinstance(generation_eos, list) else [generation_eos]
        self.eos_ids = {int(e) for e in eos if e is not None} | {int(self.tokenizer.eos_token_id)}

    def base_names(self) -> set[str]:
        """Names an adapter may record as its base: this directory, its hub id, its served name."""
        names = {str(self.base_dir), self.base_dir.name, str(self.base_config.get("_name_or_path", ""))}
        provenance = self.base_dir / "doc2slm_base_model.json"
        if provenance.is_file():
            info = json.loads(provenance.read_text())
            names.update({info.get("served_name", ""), info.get("hf_id", "")})
        return {n for n in names if n}

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_text(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def submit(self, request: GenerationRequest) -> None:
        """Queue a request; raises EngineBusy when the queue is full, EngineClosed before load."""
        if request.adapter is not None and request.adapter not in self.adapters:
            raise InvalidRequest(f"adapter {request.adapter!r} is not loaded", "model")
        if not self.ready:
            raise EngineClosed("the model is still loading")
        self.batcher.submit(request)

    def generate(self, prompt_ids: list[int], params: SamplingParams, adapter: str | None = None,
                 timeout_s: float | None = None) -> Completion:
        """Blocking convenience for scripts and benchmarks; servers use `submit` with their own sink."""
        sink = CollectingSink()
        self.submit(GenerationRequest(prompt_ids, adapter, params, sink))
        return sink.completion(timeout_s)

    def close(self) -> None:
        self.batcher.close()
