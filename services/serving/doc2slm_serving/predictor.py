"""The KServe predictor: one `kserve.Model` per served name (the base model and each adapter).

All of them share one engine, so v1 `/v1/models/NAME:predict`, v2 `/v2/models/NAME/infer` and v2 gRPC
ModelInfer route by KServe's own model name. Text in, text out:

- v1: {"instances": ["prompt", {"prompt": ...}, {"messages": [...]}], "parameters": {"max_tokens": ...}}
  -> {"predictions": ["completion", ...]}
- v2 (REST and gRPC): a BYTES input tensor of shape [n] (prompts; chat template applied), parameters
  max_tokens/temperature/top_p/seed on the request -> a BYTES output tensor "text_output" of shape [n].

The serving limits hold here as on the OpenAI routes: the prompts' characters (all rows together) are
counted before tokenizing, tokenizing runs in a worker thread, max_tokens is capped, and the request
has request_timeout_s from when KServe hands it over (InvalidInput 400 / DEADLINE_EXCEEDED 408).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import kserve
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse, to_http_parameters

from doc2slm_serving.failures import for_kserve
from doc2slm_serving.limits import Deadline
from doc2slm_serving.params import InvalidRequest, SamplingParams, build_sampling_params, check_prompt_chars
from doc2slm_serving.registry import ServedModels
from doc2slm_serving.settings import ServingSettings
from doc2slm_serving.streaming import complete_many

OUTPUT_NAME = "text_output"
PARAMETER_NAMES = ("max_tokens", "temperature", "top_p", "seed")
Encoding = tuple[int, Callable[[], list[int]]]  # (characters, how to tokenize them)


class TextGenerationModel(kserve.Model):
    """Cheap to construct; `load()` only checks that the shared engine and the adapter are there."""

    def __init__(self, name: str, models: ServedModels, settings: ServingSettings) -> None:
        super().__init__(name)
        self.models = models
        self.settings = settings

    def load(self) -> bool:
        self.models.adapter_for(self.name)
        self.ready = self.models.engine.ready
        return self.ready

    async def predict(self, payload: dict[str, Any] | InferRequest,
                      headers: dict[str, str] | None = None) -> dict[str, Any] | InferResponse:
        deadline = Deadline(self.settings.request_timeout_s)
        try:
            async with asyncio.timeout_at(deadline.at):
                adapter = self.models.adapter_for(self.name)
                if isinstance(payload, InferRequest):
                    encodings, parameters = self._v2_prompts(payload)
                else:
                    encodings, parameters = self._v1_prompts(payload)
                check_prompt_chars(sum(chars for chars, _ in encodings), self.settings.max_prompt_chars,
                                   "inputs")
                prompts = await asyncio.to_thread(lambda: [encode() for _, encode in encodings])
                params = self._params(prompts, parameters)
            completions = await complete_many(self.models.engine, prompts, params, adapter, deadline)
        except TimeoutError:
            raise for_kserve(deadline.expired()) from None
        except Exception as error:
            raise for_kserve(error) from error
        texts = [completion.text for completion in completions]
        if not isinstance(payload, InferRequest):
            return {"predictions": texts}
        output = InferOutput(name=OUTPUT_NAME, shape=[len(texts)], datatype="BYTES", data=texts)
        return InferResponse(response_id=payload.id or "", model_name=self.name, infer_outputs=[output],
                             from_grpc=payload.from_grpc)

    def _encode(self, item: Any) -> Encoding:
        """The item's length in characters, and the tokenizing to run later off the event loop."""
        engine = self.models.engine
        if isinstance(item, str):
            return len(item), lambda: engine.encode_chat([{"role": "user", "content": item}])
        if isinstance(item, dict) and isinstance(item.get("prompt"), str):
            prompt = item["prompt"]
            if item.get("raw"):
                return len(prompt), lambda: engine.encode_text(prompt)
            return len(prompt), lambda: engine.encode_chat([{"role": "user", "content": prompt}])
        if isinstance(item, dict) and isinstance(item.get("messages"), list):
            messages = item["messages"]
            if not all(isinstance(m, dict) and isinstance(m.get("role"), str)
                       and isinstance(m.get("content"), str) for m in messages) or not messages:
                raise InvalidRequest("messages must be a non-empty list of {role, content} strings")
            chat = [{"role": m["role"], "content": m["content"]} for m in messages]
            return sum(len(m["content"]) for m in chat), lambda: engine.encode_chat(chat)
        raise InvalidRequest("each instance must be a string, {\"prompt\": str} or {\"messages\": [...]}")

    def _v1_prompts(self, payload: Any) -> tuple[list[Encoding], dict[str, Any]]:
        if isinstance(payload, bytes | str):
            # KServe passes the body through undecoded when the client sent no JSON content type.
            try:
                payload = json.loads(payload)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise InvalidRequest(f"the request body is not JSON: {error}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("instances"), list):
            raise InvalidRequest('a v1 request is {"instances": [...], "parameters": {...}}')
        instances = payload["instances"]
        if not instances:
            raise InvalidRequest("instances must not be empty")
        parameters = payload.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise InvalidRequest("parameters must be an object")
        return [self._encode(item) for item in instances], parameters

    def _v2_prompts(self, request: InferRequest) -> tuple[list[Encoding], dict[str, Any]]:
        if len(request.inputs) != 1:
            raise InvalidRequest(f"send one BYTES input tensor of prompts, got {len(request.inputs)} inputs")
        tensor = request.inputs[0]
        if tensor.datatype != "BYTES":
            raise InvalidRequest(f"input {tensor.name!r} must be BYTES (UTF-8 prompts), not {tensor.datatype}")
        try:
            values = tensor.as_numpy().reshape(-1).tolist()
            texts = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]
        except (ValueError, UnicodeDecodeError, InvalidInput) as error:
            raise InvalidRequest(f"input {tensor.name!r} is not a tensor of UTF-8 strings: {error}") from None
        if not texts:
            raise InvalidRequest("the input tensor holds no prompt")
        parameters = request.parameters or {}
        if not isinstance(parameters, dict):
            parameters = to_http_parameters(parameters)
        return [self._encode(text) for text in texts], dict(parameters)

    def _params(self, prompts: list[list[int]], parameters: dict[str, Any]) -> SamplingParams:
        unknown = sorted(set(parameters) - set(PARAMETER_NAMES) - {"binary_data_output"})
        if unknown:
            raise InvalidRequest(f"unknown parameters {unknown}; accepted: {', '.join(PARAMETER_NAMES)}")
        engine = self.models.engine
        # One set of parameters for all rows, checked against the longest prompt.
        return build_sampling_params(
            prompt_tokens=max(len(p) for p in prompts), context_length=engine.context_length,
            default_max_tokens=self.settings.default_max_tokens,
            max_tokens_limit=self.settings.max_tokens_limit, default_temperature=0.0,
            **{key: _number_from_text(parameters.get(key)) for key in PARAMETER_NAMES})


def _number_from_text(value: Any) -> Any:
    """v2 gRPC parameters have no float type (bool, int64, string): "0.7" arrives as a string."""
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value  # left for build_sampling_params to refuse with the parameter's name
