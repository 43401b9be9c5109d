"""From the engine's worker thread to asyncio: a request's text arrives as events on the event loop.

`start_generation` queues the request at once, so a full queue or a closed engine is raised before any
response byte is sent (the caller can still answer 429/503); the returned stream then yields text and
ends with the finish. Leaving the stream early (a client disconnects, the request's deadline passes)
cancels the row in its batch, so a timed-out request stops costing decoder time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from doc2slm_serving.engine_base import Completion, EngineBase
from doc2slm_serving.limits import Deadline
from doc2slm_serving.params import SamplingParams
from doc2slm_serving.rows import GenerationRequest


@dataclass
class Finished:
    reason: str
    prompt_tokens: int
    completion_tokens: int


class _LoopSink:
    """Hands worker-thread callbacks to the event loop; the first terminal event wins."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[str | Finished | BaseException] = asyncio.Queue()
        self.ended = False

    def _put(self, item: str | Finished | BaseException) -> None:
        # RuntimeError: the loop has closed (server stopping), nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def on_text(self, text: str) -> None:
        if not self.ended:
            self._put(text)

    def on_finish(self, reason: str, prompt_tokens: int, completion_tokens: int) -> None:
        if not self.ended:
            self.ended = True
            self._put(Finished(reason, prompt_tokens, completion_tokens))

    def on_error(self, error: BaseException) -> None:
        if not self.ended:
            self.ended = True
            self._put(error)


class GenerationStream:
    def __init__(self, request: GenerationRequest, sink: _LoopSink, deadline: Deadline | None = None) -> None:
        self.request = request
        self._sink = sink
        self.deadline = deadline
        self.finished: Finished | None = None

    async def _next(self) -> str | Finished | BaseException:
        if self.deadline is None:
            return await self._sink.queue.get()
        try:
            async with asyncio.timeout_at(self.deadline.at):
                return await self._sink.queue.get()
        except TimeoutError:
            raise self.deadline.expired() from None

    async def texts(self) -> AsyncIterator[str]:
        """Text pieces as they are decoded; `finished` is set when the iteration ends normally.

        Raises RequestTimedOut when the deadline passes first (the row is cancelled on the way out).
        """
        try:
            while True:
                item = await self._next()
                if isinstance(item, Finished):
                    self.finished = item
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if self.finished is None:
                self.request.cancelled.set()

    async def collect(self) -> Completion:
        parts = [text async for text in self.texts()]
        assert self.finished is not None
        return Completion("".join(parts), self.finished.reason, self.finished.prompt_tokens,
                          self.finished.completion_tokens)


def start_generation(engine: EngineBase, prompt_ids: list[int], params: SamplingParams,
                     adapter: str | None, deadline: Deadline | None = None) -> GenerationStream:
    """Queue the request now (raises EngineBusy / EngineClosed / InvalidRequest immediately)."""
    sink = _LoopSink(asyncio.get_running_loop())
    request = GenerationRequest(prompt_ids, adapter, params, sink)
    engine.submit(request)
    return GenerationStream(request, sink, deadline)


async def complete_many(engine: EngineBase, prompts: list[list[int]], params: SamplingParams | list[SamplingParams],
                        adapter: str | None, deadline: Deadline | None = None) -> list[Completion]:
    """Several prompts at once (v1 instances, v2 batch rows, OpenAI's n choices): queued together, so
    batched together; `params` is one for all or one per prompt."""
    each = params if isinstance(params, list) else [params] * len(prompts)
    streams = []
    try:
        for prompt, row_params in zip(prompts, each, strict=True):
            streams.append(start_generation(engine, prompt, row_params, adapter, deadline))
    except BaseException:
        for stream in streams:
            stream.request.cancelled.set()
        raise
    return list(await asyncio.gather(*(stream.collect() for stream in streams)))
