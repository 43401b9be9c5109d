"""Who may change what this server serves: the adapter admin route, KServe's repository API, readiness.

- POST /doc2slm/v1/adapters is mounted only with admin_enabled; it then needs `Authorization: Bearer
  <token>` (the token from a Secret, compared in constant time) and a URI under admin_uri_prefixes,
  because it loads files with the pod's own storage credentials.
- KServe's model repository API (REST /v2/repository/models/NAME/load|unload and gRPC
  RepositoryModelLoad/Unload) is refused: anyone who reaches the port could otherwise unload the
  model. The REST routes are answered here (mounted before KServe's own), the gRPC ones by the model
  repository below, which refuses load and unload until the server itself shuts down.
- /v2/health/ready is answered here too: ready only while the engine runs and every served name is
  registered and ready, so a model that is gone is never reported green.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

from doc2slm_common import storage, uri_access
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from grpc_interceptor.exceptions import PermissionDenied
from kserve.model_repository import ModelRepository

from doc2slm_serving.failures import openai_error
from doc2slm_serving.openai_schema import error_body
from doc2slm_serving.params import InvalidRequest
from doc2slm_serving.registry import ServedModels
from doc2slm_serving.settings import ServingSettings

ADMIN_PREFIX = "/doc2slm/v1"
REPOSITORY_REFUSED = "the model repository API is disabled on this server (docs/security.md)"


class LockedRepository(ModelRepository):
    """KServe's model registry, minus load/unload by request (gRPC answers PERMISSION_DENIED)."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def load(self, name: str) -> bool:
        raise PermissionDenied(REPOSITORY_REFUSED)

    def unload(self, name: str) -> None:
        if not self.closing:  # KServe's own shutdown unloads every model; that is allowed
            raise PermissionDenied(REPOSITORY_REFUSED)
        super().unload(name)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class AdminRoutes:
    def __init__(self, models: ServedModels, settings: ServingSettings, repository: ModelRepository) -> None:
        self.models = models
        self.settings = settings
        self.repository = repository
        self._token = settings.admin_secret().encode() if settings.admin_enabled else b""

    def router(self) -> APIRouter:
        router = APIRouter()
        if self.settings.admin_enabled:
            router.add_api_route(f"{ADMIN_PREFIX}/adapters", self.add_adapter, methods=["POST"])
        for action in ("load", "unload"):
            router.add_api_route(f"/v2/repository/models/{{model_name}}/{action}", self.refuse_repository,
                                 methods=["POST"])
        router.add_api_route("/v2/health/ready", self.ready, methods=["GET"])
        return router

    async def refuse_repository(self, model_name: str) -> Response:
        return JSONResponse({"error": REPOSITORY_REFUSED}, 403)

    async def ready(self) -> Response:
        names = self.models.names()
        registered = self.repository.get_models()
        ready = self.models.engine.ready
        for name in names:
            ready = ready and name in registered and bool(await self.repository.is_model_ready(name))
        return JSONResponse({"ready": ready}, 200 if ready else 503)

    def authorised(self, request: Request) -> bool:
        return bool(self._token) and hmac.compare_digest(_bearer(request).encode(), self._token)

    async def add_adapter(self, request: Request) -> Response:
        """POST {"name": ..., "uri": path | file:// | s3://}: load (or replace) an adapter without a restart."""
        if not self.authorised(request):
            return JSONResponse(error_body("a valid admin bearer token is required", "authentication_error",
                                           code="invalid_token"), 401, {"WWW-Authenticate": "Bearer"})
        try:
            body = await _json_body(request)
            if not isinstance(body, dict) or not isinstance(body.get("name"), str) \
                    or not isinstance(body.get("uri"), str):
                raise InvalidRequest('the body must be {"name": str, "uri": str}')
            uri = storage.to_uri(body["uri"].strip())
            uri_access.check(uri, self.settings.admin_uri_prefixes)
            path = await asyncio.to_thread(self.models.add_adapter, body["name"], uri)
        except Exception as error:
            return openai_error(error, self.settings.retry_after_s)
        return JSONResponse({"name": body["name"], "path": str(path), "models": self.models.names()})


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"the request body is not JSON: {error}") from None
