"""One request's place in a generation batch: its decoding state, sampling and stop rules.

transformers' `generate` decodes a whole batch with one set of rules; these hooks make the rules per row,
so one batch can mix greedy and sampled requests, different temperatures, seeds, limits, stop strings and
adapters. `PerRowSampler` samples a row's token itself and leaves only that token for the batch-wide
argmax; `PerRowStopper` sees each new token first, streams its text and ends the row when it is done.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from transformers import LogitsProcessor, StoppingCriteria

from doc2slm_serving.params import SamplingParams


class TokenSink(Protocol):
    """Receives one request's output, called from the engine's worker thread (keep it cheap)."""

    def on_text(self, text: str) -> None: ...

    def on_finish(self, reason: str, prompt_tokens: int, completion_tokens: int) -> None: ...

    def on_error(self, error: BaseException) -> None: ...


@dataclass
class GenerationRequest:
    prompt_ids: list[int]
    adapter: str | None
    params: SamplingParams
    sink: TokenSink
    cancelled: threading.Event = field(default_factory=threading.Event)
    enqueued_at: float = field(default_factory=time.monotonic)


class RowState:
    """Incremental detokenization with stop strings: text is emitted only once it cannot change."""

    def __init__(self, request: GenerationRequest, tokenizer: Any, eos_ids: set[int]) -> None:
        self.request = request
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.generated: list[int] = []
        self.emitted = 0
        self.done = False
        self.reason = ""

    def push(self, token_id: int) -> None:
        if self.done:
            return  # finished rows keep receiving padding until the whole batch ends
        if self.request.cancelled.is_set():
            self.finish("cancelled", flush=False)
            return
        if token_id in self.eos_ids:
            self.finish("stop")
            return
        self.generated.append(token_id)
        text = self.tokenizer.decode(self.generated, skip_special_tokens=True)
        at_limit = len(self.generated) >= self.request.params.max_new_tokens
        stops = self.request.params.stop
        if stops:
            window_start = max(0, self.emitted - max(len(s) for s in stops))
            hits = [i for i in (text.find(s, window_start) for s in stops) if i >= 0]
            if hits:
                self._emit(text[:min(hits)])
                self.finish("stop", flush=False)
                return
        if at_limit:
            self._emit(text)
            self.finish("length", flush=False)
            return
        # A trailing replacement character is half a multi-byte character; a trailing partial stop
        # string may still complete. Both are held back until the next token decides.
        safe_end = len(text) - (1 if text.endswith("\ufffd") else 0)
        safe_end -= _partial_stop_suffix(text[:safe_end], stops)
        self._emit(text[:safe_end])

    def _emit(self, text: str) -> None:
        if len(text) > self.emitted:
            self.request.sink.on_text(text[self.emitted:])
            self.emitted = len(text)

    def finish(self, reason: str, flush: bool = True) -> None:
        if self.done:
            return
        if flush and self.generated:
            self._emit(self.tokenizer.decode(self.generated, skip_special_tokens=True))
        self.done = True
        self.reason = reason
        self.request.sink.on_finish(reason, len(self.request.prompt_ids), len(self.generated))


def _partial_stop_suffix(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest end of `text` that is the beginning of a stop string."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


class PerRowSampler(LogitsProcessor):
    """Samples sampled rows here (temperature, top-p, seed per row); greedy rows pass untouched."""

    def __init__(self, rows: list[RowState], device: torch.device) -> None:
        self.rows = rows
        self.generators: list[torch.Generator | None] = []
        for row in rows:
            if row.request.params.greedy:
                self.generators.append(None)
                continue
            seed = row.request.params.seed
            generator = torch.Generator(device=device)
            generator.manual_seed(seed if seed is not None else secrets.randbits(63))
            self.generators.append(generator)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for index, (row, generator) in enumerate(zip(self.rows, self.generators, strict=True)):
            if generator is None or row.done:
                continue
            params = row.request.params
            logits = scores[index].float() / params.temperature
            if params.top_p < 1.0:
                ordered, order = torch.sort(logits, descending=True)
                cumulative = torch.softmax(ordered, dim=-1).cumsum(dim=-1)
                # Keep the smallest set whose probability reaches top_p (the first token always stays).
                drop = cumulative - torch.softmax(ordered, dim=-1) >= params.top_p
                logits[order[drop]] = float("-inf")
            token = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
            scores[index] = float("-inf")
            scores[index, token] = 0.0
        return scores


class PerRowStopper(StoppingCriteria):
    """Feeds each row its newest token and reports which rows are finished."""

    def __init__(self, rows: list[RowState]) -> None:
        self.rows = rows

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor,
                 **kwargs: Any) -> torch.BoolTensor:
        for row, token in zip(self.rows, input_ids[:, -1].tolist(), strict=True):
            row.push(int(token))
        return torch.tensor([row.done for row in self.rows], dtype=torch.bool,  # type: ignore[return-value]
                            device=input_ids.device)
