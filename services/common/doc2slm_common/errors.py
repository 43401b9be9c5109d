"""Typed domain errors and the one table that maps them to gRPC status codes.

Library code raises these; the server interceptor turns them into statuses, so a bad input never
surfaces as UNKNOWN or INTERNAL. Anything else escaping a handler is a bug and is reported as INTERNAL.
"""

from __future__ import annotations

from grpc import StatusCode


class DomainError(Exception):
    """A failure caused by the request or its environment, not by a bug in doc2slm."""

    code: StatusCode = StatusCode.INVALID_ARGUMENT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code_name(self) -> str:
        return self.code.name


class InvalidInput(DomainError):
    """Malformed input: a broken PDF, a bad option value, NaN in a vector."""

    code = StatusCode.INVALID_ARGUMENT


class EncryptedDocument(DomainError):
    """An encrypted PDF and no (or a wrong) password."""

    code = StatusCode.FAILED_PRECONDITION


class LimitExceeded(DomainError):
    """Over a configured size limit: bytes, pages, texts, chunks, memory."""

    code = StatusCode.RESOURCE_EXHAUSTED


class TimeLimitExceeded(DomainError):
    """Over a configured time limit."""

    code = StatusCode.DEADLINE_EXCEEDED


class UpstreamUnavailable(DomainError):
    """A dependency (teacher endpoint, object store, another service) is unreachable after retries."""

    code = StatusCode.UNAVAILABLE


class NotFound(DomainError):
    """A named object (URI, model, adapter) does not exist."""

    code = StatusCode.NOT_FOUND


class NotImplementedYet(DomainError):
    """A contract method whose implementation has not landed."""

    code = StatusCode.UNIMPLEMENTED


def status_code_for(error: BaseException) -> StatusCode:
    """The status a client sees for this exception."""
    if isinstance(error, DomainError):
        return error.code
    return StatusCode.INTERNAL


def error_from_status(code: StatusCode, message: str) -> DomainError:
    """Rebuild a typed error on the client side from a status (used by CLI and pipeline steps)."""
    for cls in (InvalidInput, EncryptedDocument, LimitExceeded, TimeLimitExceeded,
                UpstreamUnavailable, NotFound, NotImplementedYet):
        if cls.code == code:
            return cls(message)
    error = DomainError(message)
    error.code = code
    return error
