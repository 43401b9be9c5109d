"""Local deploy: doc2slm's own predictor (`python -m doc2slm_serving`) on the base model + the adapter.

The server is started in its own session so it outlives the pipeline step that started it; its pid,
URL and log path go into deploy_card.json, which is how `doc2slm run` finds it to ask one question and
then stop it (stop_local_serving).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from doc2slm_common import storage
from doc2slm_common.errors import TimeLimitExceeded, UpstreamUnavailable
from doc2slm_common.local_services import port_is_free

READY_TIMEOUT_S = 300.0
STOP_GRACE_S = 15.0


def ready(base_url: str, model_name: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/v2/models/{model_name}/ready", timeout=2.0) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_local_serving(adapter_uri: str, work_uri: str, *, model_name: str, adapter_name: str,
                        base_model: str, http_port: int, host: str = "127.0.0.1",
                        timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
    """Start the predictor and wait until it reports the model ready; returns the deploy card."""
    adapter_dir = storage.local_path(adapter_uri)
    log_path = storage.local_path(storage.join(storage.to_uri(work_uri), "serving.log"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "doc2slm_serving", f"--served-name={model_name}",
               f"--base-model={base_model or 'bundled'}", f"--adapter={adapter_name}={adapter_dir}",
               f"--http-port={http_port}", f"--grpc-port={http_port + 1}"]
    base_url = f"http://{host}:{http_port}"
    if not port_is_free(host, http_port) or not port_is_free(host, http_port + 1):
        raise UpstreamUnavailable(f"port {http_port} or {http_port + 1} is in use; stop what listens there or "
                                  f"pick another serving port")
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    # Each adapter is a KServe model of its own: ready once the base and the adapter are loaded.
    while not ready(base_url, adapter_name):
        if process.poll() is not None:
            raise UpstreamUnavailable(f"local serving exited with {process.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            stop_pid(process.pid)
            raise TimeLimitExceeded(f"local serving not ready after {timeout_s:.0f}s; see {log_path}")
        time.sleep(0.5)
    return {"mode": "local", "endpoint": base_url, "openai_base_url": f"{base_url}/openai/v1",
            "model_name": model_name, "adapter_name": adapter_name, "adapter_uri": adapter_uri,
            "pid": process.pid, "log": str(log_path), "command": command}


def stop_pid(pid: int, grace_s: float = STOP_GRACE_S) -> bool:
    """SIGTERM the server's process group, SIGKILL after the grace period; False if it was gone."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        # Reap it when it is our own child (the single-process path of tests); harmless otherwise.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True
