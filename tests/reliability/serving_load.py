"""Load on the serving predictor's OpenAI route over HTTP (httpx): a short queue so that overload is
answered 429 with Retry-After, never a crash, and the process's memory stays put."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from doc2slm_common.contracts import OPENAI_ROUTE_PREFIX

from tests.reliability.loadgen import LoadResult, http_status, run_load
from tests.reliability.processes import free_port, quiet_env
from tests.reliability.profile import Profile

MAX_QUEUE = 4
ALLOWED = frozenset({"200", "429", "503"})


def _start(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / f"serving-{port}.log").open("ab")
    command = [sys.executable, "-m", "doc2slm_serving", "--base-model", "bundled", "--http-port", str(port),
               "--grpc-port", str(free_port()), "--max-queue", str(MAX_QUEUE), "--max-batch-size", "4",
               "--torch-threads", "1", "--device", "cpu", "--models-dir", str(workdir / "no-models")]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=quiet_env(), start_new_session=True)


def _served_name(base: str, process: subprocess.Popen[bytes], timeout_s: float = 300.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serving exited with {process.returncode} at start")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/v2/health/ready", timeout=2).status_code == 200:
                models = httpx.get(f"{base}{OPENAI_ROUTE_PREFIX}/models", timeout=5).json()["data"]
                return str(models[0]["id"])
        time.sleep(0.5)
    raise RuntimeError(f"serving not ready after {timeout_s:.0f} s")


def _rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


async def _drive(base: str, model: str, concurrency: int, seconds: float) -> LoadResult:
    body: dict[str, Any] = {"model": model, "max_tokens": 4, "temperature": 0,
                            "messages": [{"role": "user", "content": "Name one pump part."}]}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60.0, limits=limits) as http:
        return await run_load(lambda: http_status(http.post(f"{OPENAI_ROUTE_PREFIX}/chat/completions", json=body)),
                              concurrency, seconds)


def load_serving(profile: Profile, workdir: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start(workdir / "logs", port)
    try:
        model = _served_name(base, process)
        asyncio.run(_drive(base, model, profile.load_concurrency, profile.load_warmup_seconds))
        rss_warm = _rss(process.pid)
        result = asyncio.run(_drive(base, model, profile.load_concurrency, profile.load_seconds))
        rss_after = _rss(process.pid)
        alive = process.poll() is None
        after = asyncio.run(_drive(base, model, 1, 0.5))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    unexpected = {k: v for k, v in result.by_status.items() if k not in ALLOWED}
    growth = (rss_after - rss_warm) / rss_warm
    return {
        **result.summary(ok_status="200"), "rss_warm_mib": round(rss_warm / 2**20, 1),
        "rss_after_mib": round(rss_after / 2**20, 1),
        "memory_growth": round(growth, 4), "alive": alive, "answers_after_load": dict(after.by_status),
        "unexpected": unexpected,
        "ok": alive and not unexpected and growth < 0.10 and after.by_status.get("200", 0) > 0
        and result.by_status.get("200", 0) > 0,
    }
