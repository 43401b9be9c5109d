"""The server interceptor: typed errors to status codes, one JSON log line and metrics per call.

Domain errors raised anywhere below a servicer become their mapped status (errors.py); any other
exception is a bug, logged with its traceback and returned as INTERNAL, and the server keeps serving.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from doc2slm_common.errors import DomainError
from doc2slm_common.metrics import observe_call

log = logging.getLogger("doc2slm.grpc")

REQUEST_ID_KEY = "x-request-id"


def _request_id(context: grpc.ServicerContext, request: Any) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY and value:
            return str(value)
    from_message = getattr(request, "request_id", "")
    return from_message or uuid.uuid4().hex[:16]


class _CallRecord:
    """Times one call and writes its log line and metrics exactly once."""

    def __init__(self, method: str, context: grpc.ServicerContext, request: Any) -> None:
        self.method = method
        self.context = context
        self.request_id = _request_id(context, request)
        self.started = time.perf_counter()

    def fail(self, error: BaseException) -> None:
        """Turn an exception into the call's status (raises, as context.abort does)."""
        if isinstance(error, DomainError):
            self.finish(error.code, error.message)
            self.context.abort(error.code, error.message)
        already = self.context.code() if hasattr(self.context, "code") else None
        if already is not None and already != grpc.StatusCode.OK:
            # The servicer aborted with a status of its own choosing; keep it.
            self.finish(already, str(self.context.details() or ""))
            raise error
        log.exception("unhandled error in %s", self.method, extra={"request_id": self.request_id})
        self.finish(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")
        self.context.abort(grpc.StatusCode.INTERNAL, f"internal error ({type(error).__name__})")

    def finish(self, code: grpc.StatusCode | None, detail: str = "") -> None:
        if getattr(self, "_done", False):
            return
        self._done = True
        if code is None:
            code = self.context.code() if hasattr(self.context, "code") else None
        code = code or grpc.StatusCode.OK
        seconds = time.perf_counter() - self.started
        observe_call(self.method, code.name, seconds)
        log.info(
            "rpc",
            extra={
                "method": self.method,
                "status": code.name,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": self.request_id,
                **({"detail": detail} if detail else {}),
            },
        )


def _wrap_unary_response(method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        record = _CallRecord(method, context, request)
        try:
            response = behavior(request, context)
        except Exception as error:
            record.fail(error)
            raise
        record.finish(None)
        return response

    return handler


def _wrap_stream_response(method: str, behavior: Callable[..., Iterator[Any]]) -> Callable[..., Any]:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        record = _CallRecord(method, context, request)
        try:
            yield from behavior(request, context)
        except Exception as error:
            record.fail(error)
            raise
        record.finish(None)

    return handler


class ErrorMappingInterceptor(grpc.ServerInterceptor):
    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method  # type: ignore[attr-defined]
        if method.startswith("/grpc.reflection.") or method.startswith("/grpc.health."):
            return handler
        kwargs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary_response(method, handler.unary_unary), **kwargs)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_unary_response(method, handler.stream_unary), **kwargs)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream_response(method, handler.unary_stream), **kwargs)
        return grpc.stream_stream_rpc_method_handler(
            _wrap_stream_response(method, handler.stream_stream), **kwargs)
