"""OpenAI request bodies and response documents (the subset doc2slm serves).

Bodies are validated here rather than by FastAPI's parameter binding so that a malformed request is a
400 with an OpenAI-style error, as clients expect, not FastAPI's 422.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from doc2slm_serving.params import InvalidRequest

# Choices per request: each is a row of the same batch, so more than a batch would queue behind itself.
MAX_CHOICES = 16


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            if any(part.type != "text" for part in self.content):
                raise InvalidRequest("only text content parts are served", "messages")
            return "".join(part.text or "" for part in self.content)
        return self.content or ""


class _Common(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    max_tokens: Any = None
    temperature: Any = None
    top_p: Any = None
    n: int = 1
    stream: bool = False
    stop: Any = None
    seed: Any = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logprobs: Any = None
    stream_options: dict[str, Any] | None = None

    def check_supported(self) -> None:
        if not 1 <= self.n <= MAX_CHOICES:
            raise InvalidRequest(f"n must be between 1 and {MAX_CHOICES}, got {self.n}", "n")
        if self.n > 1 and self.stream:
            raise InvalidRequest("n > 1 is served without stream (one response with n choices)", "n")
        if self.presence_penalty or self.frequency_penalty:
            raise InvalidRequest("presence_penalty and frequency_penalty are not supported", "presence_penalty")
        if self.logprobs:
            raise InvalidRequest("logprobs are not supported", "logprobs")

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.get("include_usage"))


class ChatCompletionRequest(_Common):
    messages: list[ChatMessage]
    max_completion_tokens: Any = None
    # Accepted for compatibility; the JSON instruction is in the prompt, replies are parsed leniently.
    response_format: dict[str, Any] | None = None

    def chat_messages(self) -> list[dict[str, str]]:
        if not self.messages:
            raise InvalidRequest("messages must not be empty", "messages")
        # "developer" is OpenAI's newer name for the system role; chat templates know "system".
        return [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                for m in self.messages]

    @property
    def token_limit(self) -> Any:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


class CompletionRequest(_Common):
    prompt: str | list[str]
    echo: bool = False

    def prompt_text(self) -> str:
        if isinstance(self.prompt, list):
            if len(self.prompt) != 1:
                raise InvalidRequest("prompt must be one string (batched prompts are not served)", "prompt")
            return self.prompt[0]
        return self.prompt


T = TypeVar("T", bound=BaseModel)


def parse_body(model: type[T], body: Any) -> T:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidRequest(f"{where}: {first['msg']}", where.split(".")[0] or None) from None


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def openai_finish_reason(reason: str) -> str:
    return "length" if reason == "length" else "stop"


def chat_chunk(response_id: str, model: str, created: int, delta: dict[str, str],
               finish_reason: str | None) -> dict[str, Any]:
    return {"id": response_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}


def completion_chunk(response_id: str, model: str, created: int, text: str,
                     finish_reason: str | None) -> dict[str, Any]:
    return {"id": response_id, "object": "text_completion", "created": created, "model": model,
            "choices": [{"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}]}


def model_card(name: str, parent: str | None) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": int(time.time()), "owned_by": "doc2slm",
            "root": name, "parent": parent}


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
