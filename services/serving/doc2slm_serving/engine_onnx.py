"""The CPU engine: onnxruntime-genai decodes doc2slm's batches (`--engine onnx`).

Why: on a CPU, transformers' `generate` spends most of each token in Python and per-op overhead, not in
arithmetic (a 135M model needs ~0.3 GFLOP a token). onnxruntime-genai runs the whole decoder as one ONNX
graph with its own KV cache and sampling, with weights at the precision chosen here. int8 by default:
measured on a 2-core box without AVX2, int4 was a little faster but its answers drifted into loops and a
small adapter's change was lost in its rounding; float32 gives transformers' answers at twice its speed.

How it fits: the same Batcher hands it the same batches of `GenerationRequest`s the transformers engine
gets, and `RowState` streams, stops and finishes each row as there, so every protocol above is unchanged.
A batch decodes as one onnxruntime-genai `Generator` per group of rows that share a model and sampling
options: their prompts go in as one right-padded prefill, then every step decodes the whole group. A request
that arrives while a batch decodes joins it when the batch has free slots: its own group prefills between
two steps and decodes beside the others (transformers' static batches make it wait for the longest answer).
A Generator cannot drop a finished row, so a group holds its slots until its last row ends.
Why not onnxruntime-genai's own `Engine`, which takes requests one by one: measured with 0.18 on CPU, it
decodes at most 4 requests a step, so 8 concurrent requests got 1.5-2.2x transformers where one Generator
over all 8 gets 3.8-4.6x (with intra-op threads set). Sampling runs inside onnxruntime-genai (temperature,
top_p); a seeded sample decodes on a Generator of its own, so the same seed repeats its answer (not the
transformers engine's answer).

Adapters: onnxruntime-genai has no per-request adapter on CPU, so each adapter is merged into the base
and exported as a model of its own (onnx_export.py); requests for one adapter run at the base model's
speed, and a batch that mixes adapters decodes one group per model, their steps interleaved.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from doc2slm_serving.adapter_check import check_adapter
from doc2slm_serving.batcher import EngineClosed
from doc2slm_serving.engine_base import EngineBase
from doc2slm_serving.onnx_export import exported_model
from doc2slm_serving.params import InvalidRequest
from doc2slm_serving.rows import GenerationRequest, RowState

log = logging.getLogger(__name__)


class OnnxGenerationEngine(EngineBase):
    """Cheap to construct; `load()` exports the base model once (cached), opens it, starts the worker."""

    name = "onnx"

    def __init__(self, base_dir: Path, *, precision: str = "int8", threads: int = 0, max_batch_size: int = 8,
                 max_queue: int = 32, batch_wait_s: float = 0.01, cache: Path | None = None) -> None:
        super().__init__(base_dir, max_batch_size=max_batch_size, max_queue=max_queue,
                         batch_wait_s=batch_wait_s)
        self.precision = precision
        self.threads = threads
        self.cache = cache
        self.model_dirs: dict[str | None, Path] = {}  # None: the base model
        self._models: dict[str | None, Any] = {}
        self._models_lock = threading.Lock()
        self.pad_id = 0

    @property
    def ready(self) -> bool:
        return None in self._models

    def load(self) -> None:
        from transformers import GenerationConfig

        try:
            eos = GenerationConfig.from_pretrained(self.base_dir).eos_token_id
        except OSError:  # no generation_config.json: the tokenizer's eos alone
            eos = None
        self._load_tokenizer(eos)
        directory = exported_model(self.base_dir, self.precision, cache=self.cache)
        # Right padding with the exported model's own pad id: onnxruntime-genai starts each row's
        # decoding after its last prompt token (measured: a padded row answers as it does alone).
        self.pad_id = int(json.loads((directory / "genai_config.json").read_text())["model"]["pad_token_id"])
        self._models[None] = self._open(directory)
        self.model_dirs[None] = directory
        self.batcher.start()
        log.info("loaded base model %s with onnxruntime-genai (%s, %s)", self.base_dir, self.precision, directory)

    def _open(self, directory: Path) -> Any:
        import onnxruntime_genai as og

        config = og.Config(str(directory))
        # Always set: left at its default, onnxruntime-genai 0.18 ran one thread on the 2-core box
        # (measured: 8 rows x 32 tokens 166 tokens/s by default, 268 with 2 threads; one row 50 -> 80-92).
        threads = self.threads or len(os.sched_getaffinity(0))
        config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}))
        return og.Model(config)

    def load_adapter(self, name: str, path: Path) -> None:
        """Check, merge and export the adapter (cached by content), then serve it under `name`."""
        if not name:
            raise InvalidRequest(f"{name!r} cannot name an adapter", "name")
        check_adapter(path, self.base_config, self.base_names())
        directory = exported_model(self.base_dir, self.precision, adapter_dir=path, cache=self.cache)
        model = self._open(directory)
        with self._models_lock:
            self._models[name], self.model_dirs[name], self.adapters[name] = model, directory, path
        log.info("loaded adapter %s from %s (merged, %s)", name, path, directory)

    def _run_batch(self, batch: list[GenerationRequest]) -> None:
        """Decode `batch`, and let requests that arrive meanwhile join while the batch has free slots
        (continuous batching): a joiner's group prefills between two steps and decodes beside the running
        groups, so it does not wait for the longest running answer to end."""
        decodes: list[_GroupDecode] = []
        try:
            decodes += self._start(batch)
            while decodes:
                for decode in decodes:
                    decode.step()
                for decode in [d for d in decodes if not d.live]:
                    decode.close()
                    decodes.remove(decode)
                # A group's finished rows still cost steps (a Generator cannot drop a row), so its
                # slots, not its open rows, count against the batch size.
                room = self.batcher.max_batch_size - sum(len(decode.rows) for decode in decodes)
                decodes += self._start(self.batcher.take_joiners(room))
        except Exception as error:  # every unfinished row (joiners too) gets the error; the worker goes on
            log.exception("onnx generation failed")
            for decode in decodes:
                decode.fail(error)
        finally:
            for decode in decodes:
                decode.close()

    def _start(self, requests: list[GenerationRequest]) -> list[_GroupDecode]:
        """Group `requests` by model and search options; prefill each group on a Generator of its own."""
        if not requests:
            return []
        with self._models_lock:
            models = {r.adapter: self._models.get(r.adapter) for r in requests}
        groups: dict[tuple[Any, ...], list[RowState]] = {}
        for index, request in enumerate(requests):
            row = RowState(request, self.tokenizer, self.eos_ids)
            if models[request.adapter] is None:
                _fail_rows([row], EngineClosed("adapters were unloaded while the request waited"))
                continue
            groups.setdefault(_group_key(request, index), []).append(row)
        started: list[_GroupDecode] = []
        for rows in groups.values():
            try:
                started.append(_GroupDecode(models[rows[0].request.adapter], rows, self.pad_id,
                                            self.context_length))
            except Exception as error:  # this group's prefill failed: its rows alone get the error
                log.exception("onnx prefill failed for %d requests", len(rows))
                _fail_rows(rows, error)
        return started


def _group_key(request: GenerationRequest, index: int) -> tuple[Any, ...]:
    """Rows with equal keys (within one `_start`) share one Generator: same model, same search options.
    A seeded sample is a group of its own, so that its seed alone decides its answer."""
    params = request.params
    if params.greedy:
        return request.adapter, "greedy", params.ignore_eos
    if params.seed is not None:
        return request.adapter, "seeded", index
    return request.adapter, "sampled", params.temperature, params.top_p, params.ignore_eos


class _GroupDecode:
    """One onnxruntime-genai Generator decoding rows that share a model and search options."""

    def __init__(self, model: Any, rows: list[RowState], pad_id: int, context_length: int) -> None:
        import numpy as np
        import onnxruntime_genai as og

        prompts = [row.request.prompt_ids for row in rows]
        width = max(len(prompt) for prompt in prompts)
        total = min(width + max(row.request.params.max_new_tokens for row in rows), context_length)
        params = rows[0].request.params
        options: dict[str, Any] = {"batch_size": len(rows), "max_length": total,
                                   "min_length": total if params.ignore_eos else 0,
                                   "top_k": 0}  # top_p alone bounds sampling, as in the transformers engine
        if params.greedy:
            options["do_sample"] = False
        else:
            options.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            if params.seed is not None:  # onnxruntime-genai takes an int32 seed; OpenAI's are 64-bit
                options["random_seed"] = params.seed % 2**31
        search = og.GeneratorParams(model)
        search.set_search_options(**options)
        tokens = np.full((len(rows), width), pad_id, dtype=np.int32)
        for index, prompt in enumerate(prompts):
            tokens[index, :len(prompt)] = prompt
        self.rows = rows
        self.generator: Any = og.Generator(model, search)
        self.generator.append_tokens(tokens)  # the prefill of every row at once

    @property
    def live(self) -> bool:
        """Decoding goes on while a row still wants tokens; a row ended on our side (stop string, limit,
        client gone) stops costing steps once every row of its group has ended."""
        return self.generator is not None and not all(row.done for row in self.rows)

    def step(self) -> None:
        if not self.live:
            return
        if self.generator.is_done():  # every row reached eos or the longest row's length
            self.close()
            return
        self.generator.generate_next_token()
        for row, token in zip(self.rows, self.generator.get_next_tokens(), strict=True):
            row.push(int(token))

    def fail(self, error: BaseException) -> None:
        _fail_rows(self.rows, error)
        self.close()

    def close(self) -> None:
        """Rows still open when decoding ends reached the length limit; frees the KV cache now."""
        self.generator = None
        for row in self.rows:
            row.finish("length")


def _fail_rows(rows: list[RowState], error: BaseException) -> None:
    """Unfinished rows get the error, never a truncated answer that looks complete."""
    for row in rows:
        if not row.done:
            row.done = True
            row.request.sink.on_error(error)
