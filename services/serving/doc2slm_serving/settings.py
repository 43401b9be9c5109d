"""Every knob of the serving component; flags override DOC2SLM_* environment, validated at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from doc2slm_common.config import Doc2slmSettings
from doc2slm_common.contracts import SERVING_GRPC_PORT, SERVING_HTTP_PORT
from doc2slm_common.errors import DomainError
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from doc2slm_serving.export_cache import DEFAULT_MAX_MB as EXPORT_CACHE_MAX_MB
from doc2slm_serving.prefix_cache import DEFAULT_MAX_MB
from doc2slm_serving.registry import parse_adapter_spec

MIN_TOKEN_CHARS = 16


class ServingSettings(Doc2slmSettings):
    base_model: str | None = Field(
        None, description="base model: 'bundled' (SmolLM2-135M-Instruct), a local directory, s3:// or a hub id")
    served_name: str | None = Field(
        None, description="name of the base model in requests (default: derived from base_model)")
    adapters: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="adapters as NAME=PATH or NAME=s3://bucket/prefix (env: comma-separated)")
    models_dir: str = Field(
        "/mnt/models", description="KServe storage-initializer directory scanned for adapters at start")
    default_adapter_name: str = Field(
        "adapter", description="name of the adapter when models_dir itself holds a single adapter")
    # Like the gRPC services: a server started on a laptop stays off the network unless told otherwise;
    # the image sets DOC2SLM_HOST=0.0.0.0, as a pod must.
    host: str = Field("127.0.0.1", min_length=1, description="address the HTTP and gRPC listeners bind")
    http_port: int = Field(SERVING_HTTP_PORT, ge=0, le=65535, description="HTTP port (v1, v2, OpenAI)")
    grpc_port: int = Field(SERVING_GRPC_PORT, ge=0, le=65535, description="v2 gRPC port")
    device: str = Field("auto", description="torch device: auto (cuda when present), cpu, cuda, cuda:N")
    torch_threads: int = Field(
        0, ge=0, le=256,
        description="CPU threads for the engine (0: torch's default, or every CPU this process may use for onnx; "
                    "1 on a busy shared CPU)")
    # transformers is the reference and the GPU path; onnx (onnxruntime on an exported model) is the fast CPU
    # path, measured side by side by `make bench-serve`.
    engine: Literal["transformers", "onnx"] = Field(
        "transformers", description="generation engine: transformers (reference, CPU or GPU) or onnx (CPU)")
    onnx_precision: Literal["fp32", "int8", "int4"] = Field(
        "int8", description="weights of the onnx engine's exported model (exported once, cached)")
    onnx_cache_dir: str = Field(
        "", description="where the onnx engine keeps its exported models (default: DOC2SLM_CACHE_DIR)")
    onnx_prefix_cache_mb: int = Field(
        DEFAULT_MAX_MB, ge=0, le=1 << 20,
        description="keys and values of earlier prompts the onnx engine keeps per model for prompts that start "
                    "the same way (0: none)")
    onnx_export_cache_mb: int = Field(
        EXPORT_CACHE_MAX_MB, ge=0, le=1 << 24,
        description="bound on the onnx engine's cached exports (one per adapter); the least recently used go "
                    "first (0: no bound)")
    max_batch_size: int = Field(8, ge=1, le=256, description="requests decoded together in one batch")
    max_queue: int = Field(
        32, ge=1, le=100_000, description="requests allowed to wait; more are refused with 429")
    batch_wait_ms: float = Field(
        10.0, ge=0.0, le=1000.0, description="how long the first request waits for others to batch with")
    default_max_tokens: int = Field(
        512, ge=1, le=1_000_000, description="completion length when a request gives no max_tokens")
    retry_after_s: int = Field(1, ge=1, le=3600, description="Retry-After seconds on 429 and 503")
    max_adapters: int = Field(16, ge=1, le=1024, description="adapters served at most (each holds memory)")
    # Limits checked before any work starts (issue 14, finding 6): one oversized or endless request must
    # not hold the event loop, the memory or the decoder that every other caller shares.
    max_body_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, le=1024 ** 3,
        description="largest HTTP request body (413 above it; also the v2 gRPC message limit)")
    max_prompt_chars: int = Field(
        200_000, ge=1, le=100_000_000,
        description="characters of prompt per request, checked before tokenizing (400 above it)")
    max_tokens_limit: int = Field(
        2048, ge=1, le=1_000_000, description="the most new tokens a request may ask for (400 above it)")
    request_timeout_s: float = Field(
        300.0, gt=0.0, le=86_400.0,
        description="wall time per request from its first byte to its last token (408 after it)")
    # The admin route loads code-adjacent artefacts with the pod's storage credentials: off by default,
    # and when on, only with a bearer token and only from listed prefixes (docs/security.md).
    admin_enabled: bool = Field(False, description="serve POST /doc2slm/v1/adapters (load an adapter at run time)")
    admin_token: SecretStr = Field(SecretStr(""), description="bearer token of the admin route (from a Secret)")
    admin_token_file: str = Field("", description="file holding the admin token (a mounted Secret)")
    admin_uri_prefixes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="URI prefixes the admin route may load adapters from (comma-separated)")

    @field_validator("adapters", mode="before")
    @classmethod
    def _split_adapters(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in (p.strip() for p in value.split(",")) if part]
        return value

    @field_validator("adapters")
    @classmethod
    def _check_adapters(cls, value: list[str]) -> list[str]:
        for spec in value:
            try:
                parse_adapter_spec(spec)
            except (ValueError, DomainError) as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("admin_uri_prefixes", mode="before")
    @classmethod
    def _split_prefixes(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in (p.strip() for p in value.split(",")) if part]
        return value

    @model_validator(mode="after")
    def _default_within_the_cap(self) -> ServingSettings:
        if self.default_max_tokens > self.max_tokens_limit:
            raise ValueError(f"default_max_tokens ({self.default_max_tokens}) must not exceed max_tokens_limit "
                             f"({self.max_tokens_limit}): a request without max_tokens would get more than "
                             "one that asks")
        return self

    @model_validator(mode="after")
    def _admin_needs_a_token_and_prefixes(self) -> ServingSettings:
        if not self.admin_enabled:
            return self
        if len(self.admin_secret()) < MIN_TOKEN_CHARS:
            raise ValueError(f"admin_enabled needs admin_token or admin_token_file with at least "
                             f"{MIN_TOKEN_CHARS} characters (a Secret)")
        if not self.admin_uri_prefixes:
            raise ValueError("admin_enabled needs admin_uri_prefixes: where adapters may be loaded from")
        return self

    def admin_secret(self) -> str:
        """The token: admin_token, else the first line of admin_token_file."""
        token = self.admin_token.get_secret_value().strip()
        if token or not self.admin_token_file:
            return token
        try:
            return Path(self.admin_token_file).read_text().strip()
        except OSError as error:
            raise ValueError(f"admin_token_file {self.admin_token_file}: {error.strerror}") from None

    @model_validator(mode="after")
    def _onnx_runs_on_cpu(self) -> ServingSettings:
        if self.engine == "onnx" and self.device.startswith("cuda"):
            raise ValueError("engine onnx runs on the CPU; on a GPU use engine transformers (or the chart's "
                             "vLLM runtime)")
        return self

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        if value not in {"auto", "cpu", "cuda"} and not value.startswith("cuda:"):
            raise ValueError("device must be auto, cpu, cuda or cuda:N")
        return value
