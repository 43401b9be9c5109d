"""OpenAI-compatible routes under /openai/v1, mounted on KServe's own FastAPI app.

KServe 0.21's built-in OpenAI endpoints need vllm (no CPU wheel), so doc2slm serves chat completions,
completions (both streaming as server-sent events) and the model list. Every request is queued before
the response starts, so a full queue is a 429. The limits (docs/security.md) are checked in the order
that keeps a bad request cheap: body size and arrival time (RequestLimits, before the handler), the
prompt's characters before tokenizing, tokenizing in a worker thread (never on the event loop, which
also answers liveness), the prompt's tokens and max_tokens before queueing, the deadline to the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from doc2slm_common.contracts import OPENAI_ROUTE_PREFIX
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from doc2slm_serving import openai_schema as schema
from doc2slm_serving.failures import openai_error
from doc2slm_serving.limits import Deadline, request_deadline
from doc2slm_serving.params import InvalidRequest, SamplingParams, build_sampling_params, check_prompt_chars
from doc2slm_serving.registry import ServedModels
from doc2slm_serving.settings import ServingSettings
from doc2slm_serving.streaming import GenerationStream, complete_many, start_generation


def _sse(document: dict[str, Any] | str) -> bytes:
    payload = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


INLINE_JSON_BYTES = 64 * 1024  # smaller bodies are parsed on the loop; a thread hop costs more than that


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        if len(raw) <= INLINE_JSON_BYTES:
            return json.loads(raw)
        return await asyncio.to_thread(json.loads, raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"the request body is not JSON: {error}") from None


class OpenAIRoutes:
    def __init__(self, models: ServedModels, settings: ServingSettings) -> None:
        self.models = models
        self.engine = models.engine
        self.settings = settings

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(f"{OPENAI_ROUTE_PREFIX}/chat/completions", self.chat, methods=["POST"])
        router.add_api_route(f"{OPENAI_ROUTE_PREFIX}/completions", self.completions, methods=["POST"])
        router.add_api_route(f"{OPENAI_ROUTE_PREFIX}/models", self.list_models, methods=["GET"])
        return router

    async def list_models(self) -> dict[str, Any]:
        base = self.models.base_name
        cards = [schema.model_card(name, None if name == base else base) for name in self.models.names()]
        return {"object": "list", "data": cards}

    async def chat(self, request: Request) -> Response:
        deadline = request_deadline(request.state, self.settings.request_timeout_s)
        try:
            async with asyncio.timeout_at(deadline.at):
                body = schema.parse_body(schema.ChatCompletionRequest, await _json_body(request))
                body.check_supported()
                adapter = self.models.adapter_for(body.model)
                messages = body.chat_messages()
                check_prompt_chars(sum(len(m["content"]) for m in messages), self.settings.max_prompt_chars)
                prompt_ids = await asyncio.to_thread(self.engine.encode_chat, messages)
            if not body.stream:
                return await self._choices(body, prompt_ids, body.token_limit, adapter, deadline, chat=True)
            stream = self._start(body, prompt_ids, body.token_limit, adapter, deadline)
        except Exception as error:
            return self._error(error, deadline)
        response_id, created = schema.new_id("chatcmpl"), int(time.time())
        return self._event_stream(self._chat_events(stream, body, response_id, created), stream)

    async def completions(self, request: Request) -> Response:
        deadline = request_deadline(request.state, self.settings.request_timeout_s)
        try:
            async with asyncio.timeout_at(deadline.at):
                body = schema.parse_body(schema.CompletionRequest, await _json_body(request))
                body.check_supported()
                adapter = self.models.adapter_for(body.model)
                prompt = body.prompt_text()
                check_prompt_chars(len(prompt), self.settings.max_prompt_chars, "prompt")
                prompt_ids = await asyncio.to_thread(self.engine.encode_text, prompt)
            if not body.stream:
                return await self._choices(body, prompt_ids, body.max_tokens, adapter, deadline, chat=False)
            stream = self._start(body, prompt_ids, body.max_tokens, adapter, deadline)
        except Exception as error:
            return self._error(error, deadline)
        response_id, created = schema.new_id("cmpl"), int(time.time())
        return self._event_stream(self._completion_events(stream, body, response_id, created), stream)

    def _error(self, error: BaseException, deadline: Deadline) -> JSONResponse:
        # asyncio.timeout_at raises a bare TimeoutError: it is this request's deadline that passed.
        return openai_error(deadline.expired() if isinstance(error, TimeoutError) else error,
                            self.settings.retry_after_s)

    def _params(self, body: schema._Common, prompt_ids: list[int], max_tokens: Any) -> SamplingParams:
        return build_sampling_params(
            prompt_tokens=len(prompt_ids), context_length=self.engine.context_length,
            default_max_tokens=self.settings.default_max_tokens, max_tokens_limit=self.settings.max_tokens_limit,
            max_tokens=max_tokens, temperature=body.temperature, top_p=body.top_p, seed=body.seed,
            stop=body.stop)

    def _start(self, body: schema._Common, prompt_ids: list[int], max_tokens: Any,
               adapter: str | None, deadline: Deadline) -> GenerationStream:
        return start_generation(self.engine, prompt_ids, self._params(body, prompt_ids, max_tokens), adapter,
                                deadline)

    async def _choices(self, body: schema._Common, prompt_ids: list[int], max_tokens: Any, adapter: str | None,
                       deadline: Deadline, chat: bool) -> Response:
        """The whole (non-streamed) response: `n` completions of one prompt (1 by default), queued together
        so they decode as rows of one batch.

        With a seed, choice i samples with seed + i: choice 0 is the answer the same request with n=1
        gets, and the whole response is repeatable. The prompt is counted once in the usage, as OpenAI does.
        """
        params = self._params(body, prompt_ids, max_tokens)
        per_choice = [dataclasses.replace(params, seed=None if params.seed is None else params.seed + i)
                      for i in range(body.n)]
        results = await complete_many(self.engine, [prompt_ids] * body.n, per_choice, adapter, deadline)
        created = int(time.time())
        if chat:
            choices: list[dict[str, Any]] = [
                {"index": i, "message": {"role": "assistant", "content": r.text},
                 "finish_reason": schema.openai_finish_reason(r.finish_reason), "logprobs": None}
                for i, r in enumerate(results)]
            document = {"id": schema.new_id("chatcmpl"), "object": "chat.completion", "created": created,
                        "model": body.model, "choices": choices}
        else:
            echo = body.prompt_text() if isinstance(body, schema.CompletionRequest) and body.echo else ""
            document = {"id": schema.new_id("cmpl"), "object": "text_completion", "created": created,
                        "model": body.model,
                        "choices": [{"index": i, "text": echo + r.text, "logprobs": None,
                                     "finish_reason": schema.openai_finish_reason(r.finish_reason)}
                                    for i, r in enumerate(results)]}
        document["usage"] = schema.usage(len(prompt_ids), sum(r.completion_tokens for r in results))
        return JSONResponse(document)

    def _event_stream(self, events: AsyncIterator[bytes], stream: GenerationStream) -> StreamingResponse:
        return StreamingResponse(events, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def _chat_events(self, stream: GenerationStream, body: schema.ChatCompletionRequest,
                           response_id: str, created: int) -> AsyncIterator[bytes]:
        yield _sse(schema.chat_chunk(response_id, body.model, created, {"role": "assistant", "content": ""},
                                     None))
        async for event in self._guarded(stream):
            if isinstance(event, str):
                yield _sse(schema.chat_chunk(response_id, body.model, created, {"content": event}, None))
            else:
                yield event
        yield self._final_chunks(stream, body, response_id, created, chat=True)

    async def _completion_events(self, stream: GenerationStream, body: schema.CompletionRequest,
                                 response_id: str, created: int) -> AsyncIterator[bytes]:
        if body.echo:
            yield _sse(schema.completion_chunk(response_id, body.model, created, body.prompt_text(), None))
        async for event in self._guarded(stream):
            if isinstance(event, str):
                yield _sse(schema.completion_chunk(response_id, body.model, created, event, None))
            else:
                yield event
        yield self._final_chunks(stream, body, response_id, created, chat=False)

    async def _guarded(self, stream: GenerationStream) -> AsyncIterator[str | bytes]:
        """Text pieces; a failure after the headers went out becomes an error event, not a broken pipe."""
        try:
            async for text in stream.texts():
                yield text
        except Exception as error:
            failure = openai_error(error, self.settings.retry_after_s)
            yield _sse(json.loads(bytes(failure.body)))

    def _final_chunks(self, stream: GenerationStream, body: schema._Common, response_id: str,
                      created: int, chat: bool) -> bytes:
        if stream.finished is None:
            return _sse("[DONE]")
        reason = schema.openai_finish_reason(stream.finished.reason)
        last = (schema.chat_chunk(response_id, body.model, created, {}, reason) if chat
                else schema.completion_chunk(response_id, body.model, created, "", reason))
        chunks = [_sse(last)]
        if body.include_usage:
            usage_chunk = {**last, "choices": [],
                           "usage": schema.usage(stream.finished.prompt_tokens,
                                                 stream.finished.completion_tokens)}
            chunks.append(_sse(usage_chunk))
        chunks.append(_sse("[DONE]"))
        return b"".join(chunks)
