"""KServe's HTTP and v2 gRPC listeners on the address doc2slm is told to bind.

KServe (0.15-0.17) hard-codes 0.0.0.0 for uvicorn and [::] for gRPC. That is right in a pod and wrong on a
laptop, where `doc2slm run` starts the local teacher and predictor: there a server must stay on 127.0.0.1
unless its user says otherwise (issue 13/14). ModelServer.start() builds the REST listener but only starts
it inside _serve(), so its uvicorn config can still be changed there; the gRPC listener makes and binds its
server object inside its own start(), so doc2slm starts that one itself, with KServe's servicer and
interceptors, and hands it to KServe so that KServe's stop() still drains it.
"""

from __future__ import annotations

from concurrent import futures
from typing import Any


def bind_rest(rest_server: Any, host: str) -> None:
    """Point a built but not yet started KServe RESTServer at `host`."""
    if rest_server is not None:
        rest_server.config.host = host


def grpc_listener(model_server: Any, kserve_args: Any) -> Any:
    """A KServe GRPCServer object for `model_server` that KServe's stop() knows how to stop."""
    from kserve.protocol.grpc.server import GRPCServer

    return GRPCServer(model_server.grpc_port, model_server.dataplane, model_server.model_repository_extension,
                      kwargs=vars(kserve_args), grace_period=model_server.grace_period)


async def serve_grpc(listener: Any, host: str, max_workers: int, max_message_bytes: int) -> None:
    """Serve KServe's v2 gRPC inference service on host:port until stopped."""
    from grpc import aio
    from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
    from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor, LoggingInterceptor
    from kserve.protocol.grpc.servicer import InferenceServicer

    server = aio.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                        interceptors=(LoggingInterceptor(), ExceptionToStatusInterceptor()),
                        options=[("grpc.max_receive_message_length", max_message_bytes)])
    servicer = InferenceServicer(listener._data_plane, listener._model_repository_extension)
    grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    address = f"[{host}]" if ":" in host else host
    server.add_insecure_port(f"{address}:{listener._port}")
    listener._server = server  # KServe's stop() calls listener.stop(), which stops this server
    await server.start()
    await server.wait_for_termination()
