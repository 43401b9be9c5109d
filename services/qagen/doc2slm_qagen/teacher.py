"""The teacher: any OpenAI-compatible chat endpoint, reached through the openai client.

Retries are ours (the client's own are switched off) so that every attempt is counted against the
request budget and visible in logs: 429 and 5xx wait for Retry-After when the server sends one, else an
exponential backoff; timeouts and refused connections are retried the same way. The API key is held as
a secret and never appears in a log line or an error message.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import openai

from doc2slm_qagen.budget import Budget
from doc2slm_qagen.prompts import Message

log = logging.getLogger("doc2slm.qagen.teacher")


@dataclass(frozen=True)
class TeacherConfig:
    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 60.0
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    # "auto": ask for response_format json_object and stop asking if the endpoint rejects it.
    json_mode: str = "auto"
    temperature: float = 0.0
    max_completion_tokens: int = 512


@dataclass(frozen=True)
class Sampling:
    """Sampled decoding for one request; the seed makes it repeatable on endpoints that honour seeds."""

    temperature: float
    seed: int


@dataclass(frozen=True)
class TeacherReply:
    text: str
    model: str
    completion_tokens: int


class TeacherFailure(Exception):
    """The teacher gave no usable reply after the retries; `code` is the gRPC status name to report."""

    def __init__(self, code: str, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Fatal: every later request would fail the same way (bad key, unknown model): stop the run.
        self.fatal = fatal


class BudgetExhausted(Exception):
    """The request or token budget is spent; no further request is sent."""


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: the caller falls back to its own backoff
    return max(0.0, parsed.timestamp() - time.time())


def normalize_base_url(url: str) -> str:
    """One spelling per endpoint, for the allowlist and the cache key: scheme and host lower-cased, default
    port and trailing slashes dropped (http://H:80/v1/ and http://h/v1 are the same teacher)."""
    parts = urllib.parse.urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    if ":" in host:  # an IPv6 literal keeps its brackets
        netloc = f"[{host}]" + netloc[len(host):]
    return urllib.parse.urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


class TeacherClient:
    def __init__(self, config: TeacherConfig, budget: Budget | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.budget = budget or Budget()
        self._sleep = sleep
        self._use_response_format = config.json_mode in ("auto", "on")
        # Local endpoints take any key; the client refuses an empty one.
        # Redirects are not followed: the key is for the configured endpoint, and a teacher that answers
        # 3xx must not steer qagen to another address (httpx would drop the key, but still make the call).
        self._client = openai.OpenAI(base_url=config.base_url, api_key=config.api_key or "not-needed",
                                     timeout=config.timeout_s, max_retries=0,
                                     http_client=openai.DefaultHttpxClient(follow_redirects=False))

    def close(self) -> None:
        self._client.close()

    def list_models(self) -> list[str]:
        return [m.id for m in self._client.models.list().data]

    def _delay(self, attempt: int, error: openai.APIError | None) -> float:
        response = getattr(error, "response", None)
        hinted = retry_after_seconds(response.headers) if response is not None else None
        if hinted is not None:
            return min(hinted, self.config.backoff_max_s * 4)
        backoff = min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt)
        return backoff * (1.0 + 0.25 * random.random())  # jitter spreads concurrent retries apart

    def _send(self, messages: list[Message], with_format: bool, max_tokens: int, sampling: Sampling | None
              ) -> Any:
        kwargs: dict[str, Any] = {}
        if with_format:
            kwargs["response_format"] = {"type": "json_object"}
        temperature = self.config.temperature
        if sampling is not None:
            temperature, kwargs["seed"] = sampling.temperature, sampling.seed
        return self._client.chat.completions.create(
            model=self.config.model, messages=messages,  # type: ignore[arg-type]
            temperature=temperature, max_tokens=max_tokens, **kwargs)

    def complete(self, messages: list[Message], json_reply: bool = True, max_tokens: int | None = None,
                 sampling: Sampling | None = None) -> TeacherReply:
        """One chat completion, retried through transient faults; raises TeacherFailure or BudgetExhausted.

        json_reply=False for prompts whose reply is a single plain question: json_object mode would
        contradict their examples (and OpenAI refuses it when the prompt never says "JSON").
        sampling replaces the configured temperature for this request and sends a seed with it.
        """
        limit = min(max_tokens or self.config.max_completion_tokens, self.config.max_completion_tokens)
        attempt = 0
        while True:
            if not self.budget.take_request():
                raise BudgetExhausted("request or token budget spent")
            with_format = json_reply and self._use_response_format
            try:
                response = self._send(messages, with_format, limit, sampling)
            except openai.BadRequestError as error:
                if with_format and self.config.json_mode == "auto":
                    # Concurrent requests may all see the refusal; each simply asks again without it.
                    if self._use_response_format:
                        log.info("teacher rejected response_format; asking without it from now on")
                    self._use_response_format = False
                    continue
                raise TeacherFailure("INVALID_ARGUMENT", f"teacher rejected the request: {_brief(error)}") from None
            except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as error:
                raise TeacherFailure("FAILED_PRECONDITION",
                                     f"teacher refused ({error.status_code}): {_brief(error)}", fatal=True) from None
            except (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError) as error:
                code = _failure_code(error)
                if attempt >= self.config.max_retries:
                    raise TeacherFailure(code, f"teacher still failing after {attempt + 1} attempts: "
                                               f"{_brief(error)}") from None
                delay = self._delay(attempt, error)
                log.warning("teacher call failed, retrying",
                            extra={"attempt": attempt + 1, "code": code, "delay_s": round(delay, 3)})
                self._sleep(delay)
                attempt += 1
                continue
            except openai.APIStatusError as error:
                raise TeacherFailure("UNAVAILABLE", f"teacher answered {error.status_code}: {_brief(error)}") from None
            usage = getattr(response, "usage", None)
            tokens = int(getattr(usage, "completion_tokens", 0) or 0)
            self.budget.add_tokens(tokens)
            choices = getattr(response, "choices", None) or []
            text = choices[0].message.content if choices and choices[0].message else None
            return TeacherReply(text=text or "", model=str(getattr(response, "model", "") or self.config.model),
                                completion_tokens=tokens)


def _failure_code(error: openai.APIError) -> str:
    if isinstance(error, openai.APITimeoutError):
        return "DEADLINE_EXCEEDED"
    if isinstance(error, openai.RateLimitError):
        return "RESOURCE_EXHAUSTED"
    return "UNAVAILABLE"


def _brief(error: openai.APIError) -> str:
    """A one-line reason; the request (and its Authorization header) is never included."""
    text = " ".join(str(getattr(error, "message", "") or error).split())
    return text[:200]
