"""The CPU engine: onnxruntime runs doc2slm's batches on an exported model (`--engine onnx`).

Why: on a CPU, transformers' `generate` spends most of each token in Python and per-op overhead, not in
arithmetic (a 135M model needs ~0.3 GFLOP a token). onnxruntime runs the whole decoder as one ONNX graph,
with weights at the precision chosen here (onnxruntime-genai's builder exports it: onnx_export.py). int8
by default: measured on a 2-core box without AVX2, int4 was a little faster but its answers drifted into
loops and a small adapter's change was lost in its rounding; float32 gives transformers' answers.

How it fits: the same Batcher hands it the same `GenerationRequest`s the transformers engine gets, and
`RowState` streams, stops and finishes each row as there, so every protocol above is unchanged. Each
model's rows decode together, one token a step (kv_decoder.py); a request that arrives meanwhile is
prefilled between two steps and joins (continuous batching), and a finished row gives its slot back at
once. A prompt that starts like an earlier one takes the keys and values of the shared part from the
prefix cache (prefix_cache.py) and computes only the rest. Sampling happens here, per row (token_choice.py).
Why not onnxruntime-genai's decoding: its `Engine` decodes at most 4 requests a step on CPU (0.18), and
its `Generator` owns the KV cache, so rows can neither leave early nor share a prefix; see kv_decoder.py.

Adapters: each adapter is merged into the base and exported as a model of its own (onnx_export.py);
requests for one adapter run at the base model's speed, and a batch that mixes adapters decodes each
model's rows in its own step.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doc2slm_serving.adapter_check import check_adapter
from doc2slm_serving.batcher import EngineClosed
from doc2slm_serving.engine_base import EngineBase
from doc2slm_serving.kv_decoder import KvDecoder
from doc2slm_serving.onnx_export import exported_model
from doc2slm_serving.params import InvalidRequest
from doc2slm_serving.prefix_cache import BLOCK, DEFAULT_MAX_MB, PrefixCache
from doc2slm_serving.rows import GenerationRequest, RowState
from doc2slm_serving.token_choice import TokenChooser

log = logging.getLogger(__name__)


class OnnxGenerationEngine(EngineBase):
    """Cheap to construct; `load()` exports the base model once (cached), opens it, starts the worker."""

    name = "onnx"

    def __init__(self, base_dir: Path, *, precision: str = "int8", threads: int = 0, max_batch_size: int = 8,
                 max_queue: int = 32, batch_wait_s: float = 0.01, cache: Path | None = None,
                 prefix_cache_bytes: int = DEFAULT_MAX_MB * 2**20, export_cache_bytes: int | None = None) -> None:
        super().__init__(base_dir, max_batch_size=max_batch_size, max_queue=max_queue,
                         batch_wait_s=batch_wait_s)
        self.precision = precision
        self.threads = threads
        self.cache = cache
        self.prefix_cache_bytes = prefix_cache_bytes
        self.export_cache_bytes = export_cache_bytes  # None: DOC2SLM_ONNX_EXPORT_CACHE_MB (export_cache.py)
        self.model_dirs: dict[str | None, Path] = {}  # None: the base model
        self._models: dict[str | None, _ModelRows] = {}
        self._models_lock = threading.Lock()

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
        directory = exported_model(self.base_dir, self.precision, cache=self.cache,
                                   max_cache_bytes=self.export_cache_bytes)
        self._models[None] = self._open(directory)
        self.model_dirs[None] = directory
        self.batcher.start()
        log.info("loaded base model %s with onnxruntime (%s, %s)", self.base_dir, self.precision, directory)

    def _open(self, directory: Path) -> _ModelRows:
        # Always set, to the CPUs this process may use (onnxruntime's own default counts the machine's cores,
        # not a container's share). Measured with onnxruntime-genai, whose default ran one thread on the 2-core
        # box: 8 rows x 32 tokens 166 tokens/s by default, 268 with 2 threads; one row 50 -> 80-92.
        threads = self.threads or len(os.sched_getaffinity(0))
        decoder = KvDecoder(directory, threads, self.context_length, self.batcher.max_batch_size)
        return _ModelRows(decoder, PrefixCache(self.prefix_cache_bytes))

    def load_adapter(self, name: str, path: Path, *, servable_check: bool = True) -> None:
        """Check, merge and export the adapter (cached by content), then serve it under `name`.
        `servable_check=False` skips the check that KServe's vLLM runtime could serve it too (its ranks, no
        DoRA): the evaluation answers with any adapter the trainer made; merging needs none of that."""
        if not name:
            raise InvalidRequest(f"{name!r} cannot name an adapter", "name")
        if servable_check:
            check_adapter(path, self.base_config, self.base_names())
        directory = exported_model(self.base_dir, self.precision, adapter_dir=path, cache=self.cache,
                                   max_cache_bytes=self.export_cache_bytes)
        model = self._open(directory)
        with self._models_lock:
            self._models[name], self.model_dirs[name], self.adapters[name] = model, directory, path
        log.info("loaded adapter %s from %s (merged, %s)", name, path, directory)

    def _run_batch(self, batch: list[GenerationRequest]) -> None:
        """Decode `batch`, and let requests that arrive meanwhile join while the batch has free slots
        (continuous batching): a joiner is prefilled between two steps and decodes beside the running rows,
        and a finished row gives its slot back at once."""
        running: dict[int, _ModelRows] = {}
        try:
            self._admit(batch, running)
            while running:
                for rows in list(running.values()):
                    rows.step()
                    if not rows.rows:
                        rows.release()
                        del running[id(rows)]
                room = self.batcher.max_batch_size - sum(len(rows.rows) for rows in running.values())
                self._admit(self.batcher.take_joiners(room), running)
        except Exception as error:  # every unfinished row (joiners too) gets the error; the worker goes on
            log.exception("onnx generation failed")
            for rows in running.values():
                rows.fail(error)
        finally:
            for rows in running.values():
                rows.release()

    def _admit(self, requests: list[GenerationRequest], running: dict[int, _ModelRows]) -> None:
        """Prefill the requests into their models' rows; a request that cannot start fails alone."""
        with self._models_lock:
            models = {r.adapter: self._models.get(r.adapter) for r in requests}
        for request in requests:
            row = _Row(RowState(request, self.tokenizer, self.eos_ids), TokenChooser(request.params, self.eos_ids))
            model = models[request.adapter]
            if model is None:
                _fail_rows([row.state], EngineClosed("adapters were unloaded while the request waited"))
                continue
            try:
                model.admit(row)
            except Exception as error:  # this request alone gets the error
                log.exception("onnx prefill failed")
                _fail_rows([row.state], error)
            if model.rows:
                running[id(model)] = model
            elif id(model) not in running:  # its only row ended at once (or failed): free its buffer
                model.release()


@dataclass
class _Row:
    state: RowState
    chooser: TokenChooser
    length: int = 0  # positions of this row in the KV buffer
    last: int = 0  # the token that goes in at the next step


class _ModelRows:
    """One model's decoder, its prefix cache and the rows it is decoding (row i in slot i)."""

    def __init__(self, decoder: KvDecoder, cache: PrefixCache) -> None:
        self.decoder = decoder
        self.cache = cache
        self.rows: list[_Row] = []

    def admit(self, row: _Row) -> None:
        """Prefill a new row into the next slot, its prompt's known prefix copied from the cache.
        One row a call: onnxruntime computes positions after cached ones only for a batch of one
        (GroupQueryAttention: "batch_size must be 1 when sequence_length > 1 and past context is given"),
        and a batch of fresh prompts measured no faster on the evaluation's answers (35.9 s, against 32.9 s
        one by one with their shared chat template taken from the cache)."""
        tokens = row.state.request.prompt_ids
        if not 0 < len(tokens) < self.decoder.context_length:
            raise InvalidRequest(f"a prompt of {len(tokens)} tokens does not fit the model's context of "
                                 f"{self.decoder.context_length}", "prompt")
        slot = len(self.rows)
        digests = self.cache.digests(tokens)
        # At least the last prompt token is computed: its logits give the first new token.
        known = self.cache.longest(digests, len(tokens) - 1)
        self.decoder.reserve(slot + 1, len(tokens) + 1)
        for index, block in enumerate(known):
            self.decoder.write(slot, index * BLOCK, block)
        logits = self.decoder.prefill(slot, tokens, len(known) * BLOCK)
        for index in self.cache.missing(digests):
            self.cache.put(digests[index], self.decoder.read(slot, index * BLOCK, (index + 1) * BLOCK))
        self.cache.touch(digests)
        self.cache.count(len(known) * BLOCK, len(tokens) - len(known) * BLOCK)
        row.length = len(tokens)
        self._push(row, logits)
        if not row.state.done:
            self.rows.append(row)

    def step(self) -> None:
        """One token for every row; finished rows leave and the last row takes their slot."""
        logits = self.decoder.decode(len(self.rows), [r.last for r in self.rows], [r.length for r in self.rows])
        for row, row_logits in zip(self.rows, logits, strict=True):
            row.length += 1
            self._push(row, row_logits)
        self._drop_finished()

    def _drop_finished(self) -> None:
        """Finished rows leave; the last row moves into a freed slot so that the rows stay contiguous."""
        index = 0
        while index < len(self.rows):
            if not self.rows[index].state.done:
                index += 1
                continue
            last = self.rows.pop()
            if index < len(self.rows):
                self.decoder.move(len(self.rows), index, last.length)
                self.rows[index] = last

    def _push(self, row: _Row, logits: Any) -> None:
        row.last = row.chooser.choose(logits)
        row.state.push(row.last)
        if not row.state.done and row.length + 1 >= self.decoder.context_length:
            row.state.finish("length")

    def fail(self, error: BaseException) -> None:
        _fail_rows([row.state for row in self.rows], error)
        self.rows = []

    def release(self) -> None:
        self.decoder.release()


def _fail_rows(rows: list[RowState], error: BaseException) -> None:
    """Unfinished rows get the error, never a truncated answer that looks complete."""
    for row in rows:
        if not row.done:
            row.done = True
            row.request.sink.on_error(error)
