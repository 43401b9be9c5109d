"""Local deploy: doc2slm's own predictor (`python -m doc2slm_serving`) on the base model + the adapter.

Started and awaited by the one Supervisor (doc2slm_common.supervisor) in a process group of its own, then
released so it outlives the pipeline step that started it; its pid, URL and log path go into
deploy_card.json, which is how `doc2slm run` finds it to ask one question and then stop it
(stop_local_serving).
"""

from __future__ import annotations

import sys
from typing import Any

from doc2slm_common import storage
from doc2slm_common.supervisor import ProcessSpec, Supervisor, http_ok, stop_pid

from doc2slm_pipelines.answering_onnx import answering_precision

__all__ = ["ready", "start_local_serving", "stop_pid"]

READY_TIMEOUT_S = 300.0


def ready(base_url: str, model_name: str) -> bool:
    return http_ok(f"{base_url}/v2/models/{model_name}/ready")()


def start_local_serving(adapter_uri: str, work_uri: str, *, model_name: str, adapter_name: str,
                        base_model: str, http_port: int, host: str = "127.0.0.1",
                        timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
    """Start the predictor and wait until it reports the model ready; returns the deploy card.
    ProcessFailed (with the log's path) when its port is taken, it exits, or it is not ready in time."""
    adapter_dir = storage.local_path(adapter_uri)
    log_path = storage.local_path(storage.join(storage.to_uri(work_uri), "serving.log"))
    command = [sys.executable, "-m", "doc2slm_serving", f"--served-name={model_name}",
               f"--base-model={base_model or 'bundled'}", f"--adapter={adapter_name}={adapter_dir}",
               f"--http-port={http_port}", f"--grpc-port={http_port + 1}",
               # On the onnx engine, the weights the evaluation answered with (float32 unless
               # DOC2SLM_ONNX_PRECISION says otherwise): the served adapter is the one that was judged.
               f"--onnx-precision={answering_precision()}"]
    base_url = f"http://{host}:{http_port}"
    supervisor = Supervisor()
    # Each adapter is a KServe model of its own: ready once the base and the adapter are loaded.
    running = supervisor.start(ProcessSpec(
        name="local serving", command=command, ready=http_ok(f"{base_url}/v2/models/{adapter_name}/ready"),
        ports=[http_port, http_port + 1], host=host, log_path=log_path, own_group=True,
        outlives_parent=True))
    supervisor.wait_ready(timeout_s)  # stops it on a failure
    # It outlives this step: `doc2slm run` (or the user) stops it by the pid on the deploy card.
    supervisor.release(running)
    return {"mode": "local", "endpoint": base_url, "openai_base_url": f"{base_url}/openai/v1",
            "model_name": model_name, "adapter_name": adapter_name, "adapter_uri": adapter_uri,
            "pid": running.pid, "log": str(log_path), "command": command}
