"""What a GeneratePairs caller may choose: gRPC carries no identity, so every caller is untrusted.

The server's teacher key is only ever sent to the server's own teachers (settings.teacher_base_url and
teacher_allowed_base_urls): a request may pick among them, or pick a model, never name a new host. A
request may lower the server's request and token budgets, never raise them or lift them. In-process
callers (the CLI with the user's own key) do not come through here.
"""

from __future__ import annotations

import re
from typing import Any

from doc2slm_common.errors import DomainError, LimitExceeded
from grpc import StatusCode

from doc2slm_qagen.settings import QAGenSettings
from doc2slm_qagen.teacher import normalize_base_url

_HTTP = re.compile(r"^https?://", re.IGNORECASE)


class TeacherNotAllowed(DomainError):
    """A request named a teacher endpoint the server does not trust with its key."""

    code = StatusCode.PERMISSION_DENIED


def check_request_options(settings: QAGenSettings, overrides: dict[str, Any]) -> None:
    """Raise before any teacher call when the request asks for more than a caller may."""
    url = overrides.get("teacher_base_url")
    # A malformed URL is left to the settings check (INVALID_ARGUMENT naming the field).
    if url and _HTTP.match(url) and normalize_base_url(url) not in settings.allowed_teacher_urls():
        raise TeacherNotAllowed("teacher_base_url is not one of this server's teachers; the operator lists the "
                                "endpoints a request may choose in DOC2SLM_TEACHER_ALLOWED_BASE_URLS")
    for name in ("max_requests", "max_tokens"):
        cap = int(getattr(settings, name))
        asked = overrides.get(name)
        if cap and asked is not None and asked > cap:
            raise LimitExceeded(f"{name}={asked} is over this server's budget of {cap} per call")
