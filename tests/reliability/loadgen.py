"""A load generator: N concurrent asyncio callers for a fixed time, counting answers by status.

One call is any coroutine that returns the status name of its answer ("OK", "RESOURCE_EXHAUSTED",
"429", ...). `grpc_status` and `http_status` turn a grpc.aio call or an httpx request into that, so the
same loop drives the gRPC services and serving's HTTP routes. Latencies are kept per call so p50/p99
are exact, not bucketed; a run of 60 s at 32 callers stays well under a million samples.

Client-streaming methods are better driven through the sync client or a server-streaming variant:
grpc.aio reports a client-streaming call that the server ends before the client finished writing (a
concurrency cap, a size limit) as INTERNAL "Internal error from Core" instead of the server's status
(grpc/grpc#36066; measured here with grpcio 1.81).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

Call = Callable[[], Awaitable[str]]


@dataclass
class LoadResult:
    """What one load run saw: answers by status, latencies in seconds per status, how long it ran."""

    by_status: Counter[str] = field(default_factory=Counter)
    latencies_s: dict[str, list[float]] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.by_status.values())

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else 0.0

    def record(self, status: str, seconds: float) -> None:
        self.by_status[status] += 1
        self.latencies_s.setdefault(status, []).append(seconds)

    def percentile(self, share: float, status: str | None = None) -> float:
        """Latency at `share` (0..1) by the nearest-rank method, of one status or of all; 0.0 with no samples."""
        samples = (self.latencies_s.get(status, []) if status is not None
                   else [value for values in self.latencies_s.values() for value in values])
        if not samples:
            return 0.0
        ordered = sorted(samples)
        rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
        return ordered[rank]

    def summary(self, ok_status: str = "OK") -> dict[str, Any]:
        """Counts, rates and latencies; p50/p99 of the successful answers (`ok_status`: "OK" for gRPC,
        "200" for HTTP), since a refusal is fast and would hide how long the real work takes."""
        ok = self.by_status.get(ok_status, 0)
        return {
            "requests": self.requests,
            "by_status": dict(sorted(self.by_status.items())),
            "requests_per_s": round(self.requests_per_s, 1),
            "ok_per_s": round(ok / self.wall_s, 1) if self.wall_s > 0 else 0.0,
            "ok_p50_ms": round(self.percentile(0.50, ok_status) * 1000, 1),
            "ok_p99_ms": round(self.percentile(0.99, ok_status) * 1000, 1),
            "all_p50_ms": round(self.percentile(0.50) * 1000, 1),
            "all_p99_ms": round(self.percentile(0.99) * 1000, 1),
            "wall_s": round(self.wall_s, 2),
        }


async def grpc_status(call: Awaitable[Any]) -> str:
    """Await a grpc.aio unary call and name its status."""
    try:
        await call
        return "OK"
    except grpc.aio.AioRpcError as error:
        return error.code().name


async def drain_stream(call: Any) -> str:
    """Read a grpc.aio server-streaming call to its end and name its status."""
    try:
        async for _ in call:
            pass
        return "OK"
    except grpc.aio.AioRpcError as error:
        return error.code().name


async def http_status(request: Awaitable[Any]) -> str:
    """Await an httpx request and name its answer by HTTP code; a refused connection is 'CONNECT_ERROR'."""
    import httpx

    try:
        response = await request
        return str(response.status_code)
    except httpx.TimeoutException:
        return "TIMEOUT"
    except httpx.TransportError:
        return "CONNECT_ERROR"


# Answers that mean "not now": a real client backs off before trying again (and so does ours), rather
# than turning a refusal into a busy loop that measures the refusal path instead of the service.
REFUSALS = frozenset({"RESOURCE_EXHAUSTED", "UNAVAILABLE", "429", "503", "CONNECT_ERROR"})


async def _caller(call: Call, stop_at: float, result: LoadResult, refusal_backoff_s: float) -> None:
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            status = await call()
        except Exception as error:  # a broken client must show up in the counts, not end the run
            status = f"CLIENT_{type(error).__name__}"
        result.record(status, time.perf_counter() - started)
        if status in REFUSALS and refusal_backoff_s > 0:
            await asyncio.sleep(refusal_backoff_s)


async def run_load(call: Call, concurrency: int, duration_s: float, refusal_backoff_s: float = 0.05) -> LoadResult:
    """Keep `concurrency` callers going for `duration_s` (calls running at the end are awaited); a caller
    whose call was refused waits `refusal_backoff_s` before its next one."""
    if concurrency < 1 or duration_s <= 0 or refusal_backoff_s < 0:
        raise ValueError("concurrency must be >= 1, duration_s > 0 and refusal_backoff_s >= 0")
    result = LoadResult()
    started = time.monotonic()
    stop_at = started + duration_s
    await asyncio.gather(*(_caller(call, stop_at, result, refusal_backoff_s) for _ in range(concurrency)))
    result.wall_s = time.monotonic() - started
    return result
