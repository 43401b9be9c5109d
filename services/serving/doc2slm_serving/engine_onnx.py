"""The CPU engine: onnxruntime-genai decodes doc2slm's batches (`--engine onnx`).

Why: on a CPU, transformers' `generate` spends most of each token in Python and per-op overhead, not in
arithmetic (a 135M model needs ~0.3 GFLOP a token). onnxruntime-genai runs the whole decoder as one ONNX
graph with its own KV cache and sampling, with weights at the precision chosen here. int8 by default:
measured on the 2-core box (no AVX2), int4 was a little faster but its answers drifted into loops and a
small adapter's change was lost in its rounding; float32 gives transformers' answers at twice its speed.

How it fits: the same Batcher hands it the same batches of `GenerationRequest`s the transformers engine
gets, and `RowState` streams, stops and finishes each row as there, so every protocol above is unchanged.
A batch is one onnxruntime-genai `Engine` round (its static batching on CPU: a request that arrives while
a batch decodes waits for the next one, as with transformers). Sampling runs inside onnxruntime-genai,
per request (temperature, top_p); its static engine refuses per-request seeds, so a seeded sample decodes
on a Generator of its own, stepped beside the batch: the same seed repeats its answer (not the
transformers engine's answer).

Adapters: onnxruntime-genai's Engine has no per-request adapter, so each adapter is merged into the base
and exported as a model of its own (onnx_export.py); requests for one adapter run at the base model's
speed, and a batch that mixes adapters decodes one group per model, their steps interleaved.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from doc2slm_serving.adapter_check import check_adapter
from doc2slm_serving.batcher import EngineClosed
from doc2slm_serving.engine_base import EngineBase
from doc2slm_serving.onnx_export import exported_model
from doc2slm_serving.params import InvalidRequest
from doc2slm_serving.rows import GenerationRequest, RowState

log = logging.getLogger(__name__)
# Measured with onnxruntime-genai 0.18 on CPU: its static engine decodes at most 4 requests per step
# whatever engine.static_batching.max_batch_size says, and the rest wait for the whole group to finish.
# So a batch is split over several engines on the same model, whose steps interleave.
ENGINE_ROWS = 4
TOKEN_FLAG, FINISHED_FLAG, FAILED_FLAG = 1, 2, 8  # onnxruntime_genai.EngineEventFlags values
REASONS = {"EOS": "stop", "STOP_STRING": "stop", "MAX_GENERATED_TOKENS": "length",
           "MAX_SESSION_TOKENS": "length", "CANCELLED": "cancelled"}


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
        # onnxruntime-genai Engines may only be used by the thread that made them: the batcher's worker
        # makes them on first use and keeps one per model, and drops those of replaced models.
        self._engines: dict[int, tuple[Any, list[tuple[Any, Any]]]] = {}

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
        self._models[None] = self._open(directory)
        self.model_dirs[None] = directory
        self.batcher.start()
        log.info("loaded base model %s with onnxruntime-genai (%s, %s)", self.base_dir, self.precision, directory)

    def _open(self, directory: Path) -> Any:
        import onnxruntime_genai as og

        config = og.Config(str(directory))
        overlay: dict[str, Any] = {"engine": {"static_batching": {"max_batch_size": self.batcher.max_batch_size}}}
        if self.threads:
            overlay["model"] = {"decoder": {"session_options": {"intra_op_num_threads": self.threads}}}
        config.overlay(json.dumps(overlay))
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

    def _engines_for(self, model: Any) -> list[tuple[Any, Any]]:
        """(engine, event buffer) pairs for `model`: enough that each holds at most ENGINE_ROWS rows."""
        import onnxruntime_genai as og

        live = {id(m) for m in self._models.values()}
        for stale in [key for key in self._engines if key not in live]:
            del self._engines[stale]
        if id(model) not in self._engines:
            count = -(-self.batcher.max_batch_size // ENGINE_ROWS)
            engines = [og.Engine(model) for _ in range(count)]
            self._engines[id(model)] = (model, [(e, e.create_event_buffer(4 * ENGINE_ROWS)) for e in engines])
        return list(self._engines[id(model)][1])

    def _run_batch(self, batch: list[GenerationRequest]) -> None:
        with self._models_lock:
            models = {r.adapter: self._models.get(r.adapter) for r in batch}
        if any(model is None for model in models.values()):
            raise EngineClosed("adapters were unloaded while the request waited")
        turns: list[_Turn] = []
        engines: list[tuple[Any, Any]] = []
        seeded: list[_SeededRow] = []
        try:
            for adapter, model in models.items():
                group = [r for r in batch if r.adapter == adapter]
                # The static engine refuses per-request seeds; a seeded sample decodes on its own generator.
                seeded += [_SeededRow(RowState(r, self.tokenizer, self.eos_ids), model)
                           for r in group if _is_seeded(r)]
                group = [r for r in group if not _is_seeded(r)]
                if not group:
                    continue
                pool = self._engines_for(model)
                used = pool[:-(-len(group) // ENGINE_ROWS)]
                engines.extend(used)
                for index, request in enumerate(group):
                    handle = used[index % len(used)][0].create_request()
                    turn_id = handle.begin_turn(_token_array(request), _turn_options(handle, request))
                    turns.append(_Turn(RowState(request, self.tokenizer, self.eos_ids), handle, turn_id))
            while any(engine.has_pending_requests() for engine, _ in engines) or any(r.live for r in seeded):
                for engine, buffer in engines:
                    if engine.has_pending_requests():
                        engine.run(buffer)
                        _dispatch(buffer, turns)
                for row in seeded:
                    row.step()
                # A row that ended on our side (stop string, client gone) frees its slot at once.
                for turn in turns:
                    if turn.row.done and turn.open:
                        turn.handle.cancel_turn(turn.turn_id)
                        turn.open = False
        finally:
            for turn in turns:
                turn.row.finish("length")
                turn.handle.close()
            for row in seeded:
                row.state.finish("length")


@dataclass
class _Turn:
    row: RowState
    handle: Any  # onnxruntime_genai.Request
    turn_id: int
    open: bool = True  # onnxruntime-genai still decodes it


def _is_seeded(request: GenerationRequest) -> bool:
    return not request.params.greedy and request.params.seed is not None


class _SeededRow:
    """One seeded sample on onnxruntime-genai's Generator, stepped beside the engine's batch."""

    def __init__(self, state: RowState, model: Any) -> None:
        import onnxruntime_genai as og

        params = state.request.params
        total = len(state.request.prompt_ids) + params.max_new_tokens
        search = og.GeneratorParams(model)
        search.set_search_options(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0,
                                  random_seed=params.seed, max_length=total,
                                  min_length=total if params.ignore_eos else 0)
        self.state = state
        self.generator = og.Generator(model, search)
        self.generator.append_tokens(_token_array(state.request).reshape(1, -1))

    @property
    def live(self) -> bool:
        return not self.state.done

    def step(self) -> None:
        if self.state.done:
            return
        if self.generator.is_done():
            self.state.finish("length")
            return
        self.generator.generate_next_token()
        self.state.push(int(self.generator.get_next_tokens()[0]))


def _token_array(request: GenerationRequest) -> Any:
    import numpy as np

    return np.asarray(request.prompt_ids, dtype=np.int32)


def _turn_options(handle: Any, request: GenerationRequest) -> Any:
    import onnxruntime_genai as og

    params = request.params
    options = og.TurnOptions(handle)
    options.set_max_generated_tokens(params.max_new_tokens)
    if params.ignore_eos:
        options.set_min_generated_tokens(params.max_new_tokens)
    options.set_top_k(0)  # top_p alone bounds sampling, as in the transformers engine
    if params.greedy:
        options.set_do_sample(False)
        options.set_temperature(0.0)
    else:
        options.set_do_sample(True)
        options.set_temperature(params.temperature)
        options.set_top_p(params.top_p)
    return options


def _dispatch(buffer: Any, turns: list[_Turn]) -> None:
    """Feed each event's token to its row; end rows whose turn onnxruntime-genai finished."""
    for index in range(len(buffer)):
        event = buffer[index]
        turn = next((t for t in turns if event.request == t.handle), None)
        if turn is None:
            continue
        flags = int(event.flags.value)
        if flags & TOKEN_FLAG:
            turn.row.push(int(event.token))
        if flags & (FINISHED_FLAG | FAILED_FLAG):
            turn.open = False
        if flags & FAILED_FLAG and not turn.row.done:
            turn.row.done = True
            turn.row.request.sink.on_error(
                RuntimeError(f"onnxruntime-genai failed the request (error {event.error_code})"))
        elif flags & FINISHED_FLAG:
            turn.row.finish(REASONS.get(event.finish_reason.name, "stop"))
