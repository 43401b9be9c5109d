"""One table from engine failures to what each protocol answers.

OpenAI routes: 400 invalid_request_error (bad parameter, unknown model, prompt or max_tokens over a
limit), 408 timeout_error (request_timeout_s passed), 413 (body over max_body_bytes, answered by
limits.RequestLimits), 429 with Retry-After (queue full), 503 with Retry-After (loading or stopping).
KServe v1/v2 REST and v2 gRPC go through KServe's own handlers: its InvalidInput is 400 /
INVALID_ARGUMENT, an unknown model name in the URL or gRPC request is KServe's 404 / NOT_FOUND; the
busy, stopping and timed-out cases are raised as grpc_interceptor exceptions (RESOURCE_EXHAUSTED /
UNAVAILABLE / DEADLINE_EXCEEDED on gRPC) with REST handlers added here for 429 / 503 / 408.
"""

from __future__ import annotations

import logging

from doc2slm_common.errors import DomainError, LimitExceeded
from doc2slm_common.errors import InvalidInput as CommonInvalidInput
from doc2slm_common.errors import NotFound as CommonNotFound
from doc2slm_common.uri_access import AccessDenied
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from grpc_interceptor.exceptions import ResourceExhausted, Unavailable
from kserve.errors import InvalidInput as KServeInvalidInput
from starlette.requests import ClientDisconnect

from doc2slm_serving.adapter_check import AdapterRejected
from doc2slm_serving.batcher import EngineBusy, EngineClosed
from doc2slm_serving.limits import RequestTimedOut
from doc2slm_serving.openai_schema import error_body
from doc2slm_serving.params import InvalidRequest, UnknownModel

log = logging.getLogger(__name__)


class QueueFull(ResourceExhausted):
    """gRPC RESOURCE_EXHAUSTED; REST 429 with Retry-After."""


class NotServing(Unavailable):
    """gRPC UNAVAILABLE; REST 503 with Retry-After."""


def for_kserve(error: BaseException) -> BaseException:
    """The exception KServe's REST handlers and gRPC interceptor turn into the right status."""
    if isinstance(error, EngineBusy):
        return QueueFull(str(error))
    if isinstance(error, EngineClosed):
        return NotServing(str(error))
    if isinstance(error, InvalidRequest | UnknownModel | AdapterRejected | CommonInvalidInput):
        return KServeInvalidInput(str(error))
    return error


def openai_error(error: BaseException, retry_after_s: int) -> JSONResponse:
    """The OpenAI-style error response for a failed request; unexpected errors are logged, 500."""
    retry = {"Retry-After": str(retry_after_s)}
    if isinstance(error, InvalidRequest):
        return JSONResponse(error_body(error.message, "invalid_request_error", error.param, error.code), 400)
    if isinstance(error, RequestTimedOut):
        return JSONResponse(error_body(error.message, "timeout_error", code="request_timeout"), 408)
    if isinstance(error, ClientDisconnect):  # RequestLimits already answered 413/408; this reply is dropped
        return JSONResponse(error_body("the client went away", "invalid_request_error"), 400)
    if isinstance(error, UnknownModel):
        return JSONResponse(error_body(error.message, "invalid_request_error", "model",
                                       "model_not_found"), 400)
    if isinstance(error, AdapterRejected | CommonInvalidInput):
        return JSONResponse(error_body(str(error), "invalid_request_error"), 400)
    if isinstance(error, AccessDenied):
        return JSONResponse(error_body(str(error), "permission_error", code="permission_denied"), 403)
    if isinstance(error, LimitExceeded):
        return JSONResponse(error_body(str(error), "invalid_request_error", code="limit_exceeded"), 400)
    if isinstance(error, CommonNotFound):
        return JSONResponse(error_body(str(error), "invalid_request_error", code="not_found"), 404)
    if isinstance(error, DomainError):
        return JSONResponse(error_body(str(error), "upstream_error", code=error.code_name.lower()), 502)
    if isinstance(error, EngineBusy):
        return JSONResponse(error_body(str(error), "rate_limit_error", code="queue_full"), 429, retry)
    if isinstance(error, EngineClosed):
        return JSONResponse(error_body(str(error), "server_unavailable", code="not_serving"), 503, retry)
    log.error("request failed", exc_info=error)
    return JSONResponse(error_body(f"internal error: {type(error).__name__}", "server_error"), 500)


def install_rest_handlers(app: FastAPI, retry_after_s: int) -> None:
    """429/503 with Retry-After and 408 for the KServe REST routes (QueueFull, NotServing, RequestTimedOut)."""

    async def queue_full(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": str(error.details if isinstance(error, QueueFull) else error)},
                            429, {"Retry-After": str(retry_after_s)})

    async def not_serving(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": str(error.details if isinstance(error, NotServing) else error)},
                            503, {"Retry-After": str(retry_after_s)})

    async def timed_out(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": str(error.details if isinstance(error, RequestTimedOut) else error)}, 408)

    async def gone(_: Request, error: Exception) -> JSONResponse:
        # The body limit answered already and told the handler the client left: nothing to log or send.
        return JSONResponse({"error": "the client went away"}, 400)

    app.add_exception_handler(QueueFull, queue_full)
    app.add_exception_handler(NotServing, not_serving)
    app.add_exception_handler(RequestTimedOut, timed_out)
    app.add_exception_handler(ClientDisconnect, gone)
