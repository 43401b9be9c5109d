"""The generation engine: one base model, any number of LoRA adapters, batched greedy/sampled decoding.

Imports only torch, transformers and peft (no kserve, fastapi or grpc), so it runs on any machine with
a GPU to show an adapter answering, and the servers above it stay thin. Adapters are loaded into one
PeftModel and chosen per row of a batch (peft's mixed-adapter batches, "__base__" for the plain base),
so requests for different adapters share a `generate` call. On CUDA the model runs in bfloat16.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    GenerationConfig,
    LogitsProcessorList,
    StoppingCriteriaList,
)

from doc2slm_serving.adapter_check import check_adapter
from doc2slm_serving.batcher import EngineClosed
from doc2slm_serving.engine_base import EngineBase
from doc2slm_serving.params import InvalidRequest
from doc2slm_serving.rows import GenerationRequest, PerRowSampler, PerRowStopper, RowState

log = logging.getLogger(__name__)
BASE_ROW = "__base__"  # peft's name for "no adapter" in a mixed-adapter batch


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class GenerationEngine(EngineBase):
    """Cheap to construct; `load()` reads the model and starts the batching worker."""

    name = "transformers"

    def __init__(self, base_dir: Path, *, device: str = "auto", max_batch_size: int = 8,
                 max_queue: int = 32, batch_wait_s: float = 0.01) -> None:
        super().__init__(base_dir, max_batch_size=max_batch_size, max_queue=max_queue,
                         batch_wait_s=batch_wait_s)
        self.device = pick_device(device)
        self.dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        # Held while generating and while changing adapters: peft edits the layers in place.
        self._model_lock = threading.Lock()
        self._internal: dict[str, str] = {}  # served name -> peft adapter name
        self._versions = itertools.count(1)
        self.model: Any = None

    @property
    def ready(self) -> bool:
        return self.model is not None

    def load(self) -> None:
        model: Any = AutoModelForCausalLM.from_pretrained(self.base_dir, dtype=self.dtype)
        self._load_tokenizer(model.generation_config.eos_token_id)
        self.model = model.to(self.device).eval()
        self.batcher.start()
        log.info("loaded base model %s on %s (%s)", self.base_dir, self.device, self.dtype)

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
