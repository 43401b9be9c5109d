"""Sustained load on each service in its own process: answers by status, p50/p99, requests/s, and the
process's memory after warm-up and at the end (growth must stay under 10%; the process must live)."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path
from typing import Any

import grpc
from doc2slm_common.client import DEFAULT_MAX_MESSAGE_BYTES

from tests.reliability.load_targets import MAX_CONCURRENT_RPCS, TARGETS, LoadTarget
from tests.reliability.loadgen import LoadResult, run_load
from tests.reliability.processes import running_service
from tests.reliability.profile import Profile
from tests.reliability.results import ScenarioResult

MAX_MEMORY_GROWTH = 0.10


async def _drive(target: LoadTarget, address: str, workdir: Path, concurrency: int, seconds: float) -> LoadResult:
    options = [("grpc.max_receive_message_length", DEFAULT_MAX_MESSAGE_BYTES),
               ("grpc.max_send_message_length", DEFAULT_MAX_MESSAGE_BYTES)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        return await run_load(target.build_call(channel, workdir), concurrency, seconds)


def load_service(target: LoadTarget, profile: Profile, workdir: Path) -> dict[str, Any]:
    """Warm up, measure memory, load, measure again; returns the figures of one service."""
    with running_service(target.contract, workdir / "logs", target.env, target.start_timeout_s) as service:
        def drive(concurrency: int, seconds: float) -> LoadResult:
            return asyncio.run(_drive(target, service.address, workdir, concurrency, seconds))

        warmup = drive(profile.load_concurrency, profile.load_warmup_seconds)
        rss_warm = service.rss_bytes()
        result = drive(profile.load_concurrency, profile.load_seconds)
        rss_after = service.rss_bytes()
        alive = service.alive()
        after = drive(1, 0.2)  # still answers normally
    unexpected = {k: v for k, v in result.by_status.items() if k not in target.allowed}
    growth = (rss_after - rss_warm) / rss_warm
    return {
        **result.summary(), "warmup_requests": warmup.requests, "rss_warm_mib": round(rss_warm / 2**20, 1),
        "rss_after_mib": round(rss_after / 2**20, 1), "memory_growth": round(growth, 4), "alive": alive,
        "answers_after_load": dict(after.by_status), "unexpected": unexpected,
        "ok": alive and not unexpected and growth < MAX_MEMORY_GROWTH and after.by_status.get("OK", 0) > 0,
    }


def serving_available() -> bool:
    try:
        return importlib.util.find_spec("doc2slm_serving.server") is not None
    except ModuleNotFoundError:
        return False


def _row(name: str, limits: str, profile: Profile, figures: dict[str, Any], seconds: float) -> ScenarioResult:
    statuses = ", ".join(f"{k} {v}" for k, v in figures["by_status"].items())
    unexpected = f"; UNEXPECTED {figures['unexpected']}" if figures["unexpected"] else ""
    behaviour = (f"answers: {statuses}{unexpected}; {figures['ok_per_s']} successful/s, p50 {figures['ok_p50_ms']} ms, "
                 f"p99 {figures['ok_p99_ms']} ms; RSS {figures['rss_warm_mib']} -> {figures['rss_after_mib']} MiB "
                 f"after warm-up ({figures['memory_growth']:+.1%}); "
                 + ("alive and answering after" if figures["alive"] else "PROCESS DIED"))
    return ScenarioResult(fault=f"load on {name}: {profile.load_concurrency} callers x {profile.load_seconds:g} s "
                                f"({limits})", injected=figures["requests"], behaviour=behaviour, ok=figures["ok"],
                          seconds=seconds, details=figures)


def run(profile: Profile, workdir: Path,
        services: tuple[str, ...] = (*TARGETS, "serving")) -> list[ScenarioResult]:
    """One row per service: the gRPC services with a cap on calls in progress and every 8th request over a
    size limit; serving over HTTP with a short queue."""
    rows = []
    for name in services:
        started = time.monotonic()
        if name in TARGETS:
            figures = load_service(TARGETS[name], profile, workdir)
            limits = f"cap {MAX_CONCURRENT_RPCS} calls in progress, 1 in 8 requests over a size limit"
            rows.append(_row(name, limits, profile, figures, time.monotonic() - started))
        elif name == "serving" and serving_available():
            from tests.reliability.serving_load import MAX_QUEUE, load_serving

            figures = load_serving(profile, workdir)
            rows.append(_row("serving (OpenAI route, HTTP)", f"queue of {MAX_QUEUE}, then 429", profile, figures,
                             time.monotonic() - started))
    return rows
