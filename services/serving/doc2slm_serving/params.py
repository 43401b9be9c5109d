"""Per-request generation parameters, validated once for every protocol (OpenAI, v1, v2, gRPC).

Plain Python: the engine, the OpenAI routes and the KServe predictor all build a `SamplingParams` here,
so a bad temperature is refused with the same message whichever door the request came through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MAX_STOP_SEQUENCES = 4
TEMPERATURE_RANGE = (0.0, 2.0)


class InvalidRequest(ValueError):
    """The request itself is wrong (HTTP 400, gRPC INVALID_ARGUMENT); `param` names the field."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def check_prompt_chars(chars: int, limit: int, param: str = "messages") -> None:
    """Refuse a prompt by its length in characters, before tokenizing it costs anything.

    Tokenizing is linear in the text and runs in a thread, but a 50 MB prompt would still hold a core and
    gigabytes of token objects for a request that can only be refused once the token count is known.
    """
    if chars > limit:
        raise InvalidRequest(f"the prompt has {chars} characters; this server accepts at most {limit} "
                             f"(max_prompt_chars)", param, "context_length_exceeded")


class UnknownModel(LookupError):
    """The requested model name is neither the base model nor a loaded adapter."""

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(f"model {name!r} is not served here; available: {', '.join(available)}")
        self.message = str(self.args[0])
        self.name = name


@dataclass(frozen=True)
class SamplingParams:
    """How to generate one completion. temperature 0 means greedy decoding."""

    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    # Generate exactly max_new_tokens (benchmarks: equal work for every variant); not exposed to clients.
    ignore_eos: bool = False

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"{name} must be a number, got {value!r}", name)
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise InvalidRequest(f"{name} must be finite, got {value!r}", name)
    return number


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise InvalidRequest(f"{name} must be an integer, got {value!r}", name)
    return value


def _stop_sequences(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) and s for s in items):
        raise InvalidRequest("stop must be a non-empty string or a list of non-empty strings", "stop")
    if len(items) > MAX_STOP_SEQUENCES:
        raise InvalidRequest(f"stop takes at most {MAX_STOP_SEQUENCES} sequences", "stop")
    return tuple(items)


def build_sampling_params(
    *,
    prompt_tokens: int,
    context_length: int,
    default_max_tokens: int,
    max_tokens_limit: int,
    max_tokens: Any = None,
    temperature: Any = None,
    top_p: Any = None,
    seed: Any = None,
    stop: Any = None,
    default_temperature: float = 1.0,
) -> SamplingParams:
    """Check every knob against its range and the prompt against the context window.

    Without max_tokens the completion may use what is left of the context, up to `default_max_tokens`;
    with it, at most `max_tokens_limit` (the server's cap: one request must not hold the decoder for a
    whole context's worth of tokens just because the context allows it).
    """
    if prompt_tokens < 1:
        raise InvalidRequest("the prompt is empty", "prompt")
    room = context_length - prompt_tokens
    if room < 1:
        raise InvalidRequest(
            f"the prompt has {prompt_tokens} tokens, but the model's context is {context_length} tokens",
            "messages", "context_length_exceeded")
    if max_tokens is None:
        new_tokens = min(default_max_tokens, room)
    else:
        new_tokens = _integer(max_tokens, "max_tokens")
        if new_tokens < 1:
            raise InvalidRequest(f"max_tokens must be at least 1, got {new_tokens}", "max_tokens")
        if new_tokens > max_tokens_limit:
            raise InvalidRequest(f"max_tokens is {new_tokens}; this server allows at most {max_tokens_limit} "
                                 "(max_tokens_limit)", "max_tokens", "max_tokens_exceeded")
        if prompt_tokens + new_tokens > context_length:
            raise InvalidRequest(
                f"prompt ({prompt_tokens} tokens) plus max_tokens ({new_tokens}) exceeds the model's "
                f"context of {context_length} tokens; ask for at most {room} new tokens", "max_tokens")
    chosen_temperature = default_temperature if temperature is None else _number(temperature, "temperature")
    low, high = TEMPERATURE_RANGE
    if not low <= chosen_temperature <= high:
        raise InvalidRequest(f"temperature must be between {low} and {high}, got {temperature!r}",
                             "temperature")
    chosen_top_p = 1.0 if top_p is None else _number(top_p, "top_p")
    if not 0.0 < chosen_top_p <= 1.0:
        raise InvalidRequest(f"top_p must be greater than 0 and at most 1, got {top_p!r}", "top_p")
    chosen_seed = None if seed is None else _integer(seed, "seed")
    return SamplingParams(max_new_tokens=new_tokens, temperature=chosen_temperature, top_p=chosen_top_p,
                          seed=chosen_seed, stop=_stop_sequences(stop))
