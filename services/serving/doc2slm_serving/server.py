"""Wire the engine, the adapters and the three protocols into one KServe ModelServer, and run it.

What KServe 0.21's `ModelServer.start` does, and why it is used as is: it registers the models that are
ready (so the engine loads first, and readiness is only reported after load), builds its REST server
from the module-level FastAPI app `kserve.model_server.app` (our OpenAI router is mounted on it before
start; KServe's own OpenAI routes are skipped without vllm), installs SIGINT/SIGTERM/SIGQUIT
handlers and runs everything in `asyncio.run`; the v2 gRPC server is started beside it on the same address
(listeners.py: KServe binds 0.0.0.0 / [::], doc2slm binds settings.host, 127.0.0.1 unless told otherwise).
`workers` stays 1: more would fork a copy of the model per process. Prometheus metrics
(KServe's plus the gauges below) are on /metrics of the HTTP port.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from doc2slm_common.basemodel import resolve_base_model, served_model_name
from prometheus_client import REGISTRY, Gauge

from doc2slm_serving.engine_base import EngineBase
from doc2slm_serving.registry import ServedModels, discover_adapters, parse_adapter_spec
from doc2slm_serving.settings import ServingSettings

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    settings: ServingSettings
    engine: EngineBase
    models: ServedModels


def make_engine(settings: ServingSettings, base_dir: Path) -> EngineBase:
    """The configured engine, not loaded yet."""
    queueing = {"max_batch_size": settings.max_batch_size, "max_queue": settings.max_queue,
                "batch_wait_s": settings.batch_wait_ms / 1000}
    if settings.engine == "onnx":
        from doc2slm_serving.engine_onnx import OnnxGenerationEngine

        return OnnxGenerationEngine(base_dir, precision=settings.onnx_precision, threads=settings.torch_threads,
                                    cache=Path(settings.onnx_cache_dir) if settings.onnx_cache_dir else None,
                                    prefix_cache_bytes=settings.onnx_prefix_cache_mb * 2**20,
                                    export_cache_bytes=settings.onnx_export_cache_mb * 2**20, **queueing)
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    from doc2slm_serving.engine import GenerationEngine

    return GenerationEngine(base_dir, device=settings.device, **queueing)


def prepare(settings: ServingSettings) -> Prepared:
    """Resolve and load the base model, then every configured adapter (checked before loading)."""
    base_dir = resolve_base_model(settings.base_model)
    engine = make_engine(settings, base_dir)
    engine.load()
    models = ServedModels(engine, settings.served_name or served_model_name(settings.base_model),
                          max_adapters=settings.max_adapters)
    for name, path in discover_adapters(Path(settings.models_dir), settings.default_adapter_name).items():
        models.add_adapter(name, str(path))
    for spec in settings.adapters:
        models.add_adapter(*parse_adapter_spec(spec))
    return Prepared(settings, engine, models)


def _export_gauges(engine: EngineBase) -> None:
    gauges = {
        "doc2slm_serving_queue_depth": ("requests waiting for a batch", lambda: engine.batcher.queue_depth),
        "doc2slm_serving_running": ("requests in the batch being decoded", lambda: engine.batcher.running),
        "doc2slm_serving_rejected": ("requests refused because the queue was full",
                                     lambda: engine.batcher.rejected),
        "doc2slm_serving_adapters": ("adapters loaded", lambda: len(engine.adapters)),
    }
    for name, (description, read) in gauges.items():
        if name in REGISTRY._names_to_collectors:  # a second server in one process (tests)
            REGISTRY.unregister(REGISTRY._names_to_collectors[name])
        Gauge(name, description).set_function(read)


def _model_server_class(host: str, max_message_bytes: int) -> type:
    import kserve
    from kserve import model_server

    from doc2slm_serving.admin import LockedRepository
    from doc2slm_serving.listeners import bind_rest, grpc_listener, serve_grpc

    class ModelServer(kserve.ModelServer):  # type: ignore[misc]
        """KServe's server on doc2slm's address; its shutdown may unload the models the repository keeps.
        Built with enable_grpc=False: the v2 gRPC listener is started here, on the same address."""

        async def _serve(self) -> None:
            bind_rest(self._rest_server, host)
            self._grpc_server = grpc_listener(self, model_server.args)
            self.servers.append(serve_grpc(self._grpc_server, host, self.max_threads, max_message_bytes))
            await super()._serve()

        def stop(self, sig: int) -> None:
            if isinstance(self.registered_models, LockedRepository):
                self.registered_models.closing = True
            super().stop(sig)

    return ModelServer


def serve(prepared: Prepared) -> None:
    """Run until SIGTERM/SIGINT (blocking; must run in the main thread for KServe's signal handlers)."""
    from kserve import model_server

    from doc2slm_serving.admin import AdminRoutes, LockedRepository
    from doc2slm_serving.failures import install_rest_handlers
    from doc2slm_serving.limits import RequestLimits
    from doc2slm_serving.openai_api import OpenAIRoutes
    from doc2slm_serving.predictor import TextGenerationModel

    settings, models = prepared.settings, prepared.models
    _ModelServer = _model_server_class(settings.host, settings.max_body_bytes)
    repository = LockedRepository()
    app = model_server.app
    # Mounted before ModelServer.start adds KServe's routes, so these answer first for the same paths.
    app.include_router(AdminRoutes(models, settings, repository).router())
    app.include_router(OpenAIRoutes(models, settings).router())
    install_rest_handlers(app, settings.retry_after_s)
    # Under every route, KServe's included: a body is refused by size or lateness before a handler runs.
    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes, timeout_s=settings.request_timeout_s)
    _export_gauges(prepared.engine)
    server = _ModelServer(http_port=settings.http_port, grpc_port=settings.grpc_port, workers=1,
                          enable_grpc=False, enable_docs_url=False, registered_models=repository)

    def predictor(name: str) -> TextGenerationModel:
        model = TextGenerationModel(name, models, settings)
        model.load()
        return model

    # Adapters added while serving become KServe models too (v1, v2 and gRPC see them).
    models.on_added(lambda name: server.register_model(predictor(name)))
    log.info("serving %s on HTTP %s:%d, gRPC %s:%d", ", ".join(models.names()), settings.host,
             settings.http_port, settings.host, settings.grpc_port)
    try:
        server.start([predictor(name) for name in models.names()])
    finally:
        prepared.engine.close()
