"""The generation engine: one base model, any number of LoRA adapters, batched greedy/sampled decoding.

Imports only torch, transformers and peft (no kserve, fastapi or grpc), so it runs on any machine with
a GPU to show an adapter answering, and the servers above it stay thin. Adapters are loaded into one
PeftModel and chosen per row of a batch (peft's mixed-adapter batches, "__base__" for the plain base),
so requests for different adapters share a `generate` call. On CUDA the model runs in bfloat16.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LogitsProcessorList,
    StoppingCriteriaList,
)

from doc2slm_serving.adapter_check import check_adapter
from doc2slm_serving.batcher import Batcher, EngineClosed
from doc2slm_serving.params import InvalidRequest, SamplingParams
from doc2slm_serving.rows import GenerationRequest, PerRowSampler, PerRowStopper, RowState

log = logging.getLogger(__name__)
BASE_ROW = "__base__"  # peft's name for "no adapter" in a mixed-adapter batch


@dataclass
class Completion:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class _CollectingSink:
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


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class GenerationEngine:
    """Cheap to construct; `load()` reads the model and starts the batching worker."""

    def __init__(self, base_dir: Path, *, device: str = "auto", max_batch_size: int = 8,
                 max_queue: int = 32, batch_wait_s: float = 0.01) -> None:
        self.base_dir = base_dir
        self.device = pick_device(device)
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.batcher = Batcher(self._run_batch, max_batch_size=max_batch_size, max_queue=max_queue,
                               batch_wait_s=batch_wait_s)
        # Held while generating and while changing adapters: peft edits the layers in place.
        self._model_lock = threading.Lock()
        self.adapters: dict[str, Path] = {}
        self._internal: dict[str, str] = {}  # served name -> peft adapter name
        self._versions = itertools.count(1)
        self.model: Any = None
        self.tokenizer: Any = None
        self.base_config: dict[str, Any] = json.loads((base_dir / "config.json").read_text())
        self.context_length = int(self.base_config.get("max_position_embeddings", 2048))

    @property
    def ready(self) -> bool:
        return self.model is not None

    def load(self) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(self.base_dir)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model: Any = AutoModelForCausalLM.from_pretrained(self.base_dir, dtype=self.dtype)
        self.model = model.to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self.eos_ids.add(self.tokenizer.eos_token_id)
        self.batcher.start()
        log.info("loaded base model %s on %s (%s)", self.base_dir, self.device, self.dtype)

    def base_names(self) -> set[str]:
        """Names an adapter may record as its base: this directory, its hub id, its served name."""
        names = {str(self.base_dir), self.base_dir.name, str(self.base_config.get("_name_or_path", ""))}
        provenance = self.base_dir / "doc2slm_base_model.json"
        if provenance.is_file():
            info = json.loads(provenance.read_text())
            names.update({info.get("served_name", ""), info.get("hf_id", "")})
        return {n for n in names if n}

    def load_adapter(self, name: str, path: Path) -> None:
        """Check the adapter against this base, then load it; serving continues meanwhile.

        Loaded under a fresh internal name and only then swapped in: a replacement that fails to load
        leaves the adapter already served under `name` untouched.
        """
        if name == BASE_ROW or not name:
            raise InvalidRequest(f"{name!r} cannot name an adapter", "name")
        check_adapter(path, self.base_config, self.base_names())
        from peft import PeftModel

        internal = f"doc2slm_{next(self._versions)}"  # peft names must be plain identifiers
        with self._model_lock:
            try:
                if isinstance(self.model, PeftModel):
                    self.model.load_adapter(str(path), adapter_name=internal)
                else:
                    self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=internal)
            except BaseException:
                if isinstance(self.model, PeftModel) and internal in self.model.peft_config:
                    self.model.delete_adapter(internal)
                raise
            self.model.eval()
            old = self._internal.get(name)
            self._internal[name], self.adapters[name] = internal, path
            if old is not None:
                self.model.delete_adapter(old)
        log.info("loaded adapter %s from %s", name, path)

    def merge_adapter(self, name: str) -> None:
        """Fold one adapter into the base weights (faster, but then only that adapter is served)."""
        with self._model_lock:
            self.model.set_adapter(self._internal[name])
            self.model = self.model.merge_and_unload()
            self.adapters.clear()
            self._internal.clear()

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
        sink = _CollectingSink()
        self.submit(GenerationRequest(prompt_ids, adapter, params, sink))
        if not sink.done.wait(timeout_s):
            raise TimeoutError(f"no completion within {timeout_s}s")
        if sink.error is not None:
            raise sink.error
        assert sink.result is not None
        return sink.result

    def close(self) -> None:
        self.batcher.close()

    def _run_batch(self, batch: list[GenerationRequest]) -> None:
        rows = [RowState(request, self.tokenizer, self.eos_ids) for request in batch]
        pad = int(self.tokenizer.pad_token_id)
        width = max(len(r.prompt_ids) for r in batch)
        input_ids = torch.tensor([[pad] * (width - len(r.prompt_ids)) + r.prompt_ids for r in batch],
                                 device=self.device)
        attention = torch.tensor([[0] * (width - len(r.prompt_ids)) + [1] * len(r.prompt_ids)
                                  for r in batch], device=self.device)
        config = GenerationConfig(max_new_tokens=max(r.params.max_new_tokens for r in batch),
                                  do_sample=False, pad_token_id=pad, eos_token_id=sorted(self.eos_ids))
        if all(r.params.ignore_eos for r in batch):
            config.min_new_tokens = min(r.params.max_new_tokens for r in batch)
        extra: dict[str, Any] = {}
        # Served names are mapped under the lock: a swap between submit and here is seen consistently.
        wanted = {r.adapter for r in batch}
        with self._model_lock, torch.inference_mode(), contextlib.ExitStack() as scope:
            if not self.adapters:
                if wanted != {None}:
                    raise EngineClosed("adapters were unloaded while the request waited")
            elif wanted == {None}:
                # A batch of base-model rows skips the LoRA layers entirely.
                scope.enter_context(self.model.disable_adapter())
            elif len(wanted) == 1:
                # One adapter for the whole batch: peft's plain forward, not the per-row split.
                self.model.set_adapter(self._internal[next(iter(wanted))])  # type: ignore[index]
            else:
                extra["adapter_names"] = [self._internal[r.adapter] if r.adapter else BASE_ROW for r in batch]
            self.model.generate(
                input_ids=input_ids, attention_mask=attention, generation_config=config,
                logits_processor=LogitsProcessorList([PerRowSampler(rows, self.device)]),
                stopping_criteria=StoppingCriteriaList([PerRowStopper(rows)]), **extra)
        for row in rows:
            row.finish("length")
