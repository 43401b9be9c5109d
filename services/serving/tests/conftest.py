"""Serving fixtures: the bundled base model, LoRA adapters trained in the session, a real server process."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from doc2slm_serving.demo_adapters import DemoAdapters, make_demo_adapters
from doc2slm_serving.launcher import ServerProcess, start_server, stop_server

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="session")
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="session")
def bundled_dir() -> Path:
    from doc2slm_common.basemodel import resolve_base_model

    return resolve_base_model(None)


@pytest.fixture(scope="session")
def adapters(bundled_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> DemoAdapters:
    return make_demo_adapters(bundled_dir, tmp_path_factory.mktemp("adapters"))


@pytest.fixture(scope="module")
def server(adapters: DemoAdapters, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The predictor with the apple adapter and a small queue (so overload is reachable in a test).

    Teardown is the SIGTERM check: the process must exit promptly and cleanly.
    """
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    # The admin route on, as docs/security.md says: a token, and adapters only from the test's folder.
    admin = {"DOC2SLM_ADMIN_ENABLED": "true", "DOC2SLM_ADMIN_TOKEN": ADMIN_TOKEN, "DOC2SLM_MAX_ADAPTERS": "3",
             "DOC2SLM_ADMIN_URI_PREFIXES": adapters.apple.parent.as_uri()}
    running = start_server(["--adapter", f"apple={adapters.apple}", "--max-queue", "4",
                            "--max-batch-size", "4", "--torch-threads", "1", "--models-dir", "/nonexistent"],
                           log_path, env=admin)
    yield running
    started = time.monotonic()
    status = stop_server(running)
    assert status in (0, -signal.SIGTERM), f"exit status {status}:\n{running.log_tail()}"
    assert time.monotonic() - started < 30, "SIGTERM took too long"
