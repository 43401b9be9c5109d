"""Every knob of the extraction service: limits, chunking defaults, backend, workers (env DOC2SLM_*)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

from doc2slm_common.config import Doc2slmSettings
from pydantic import Field, model_validator

Backend = Literal["pypdf", "pypdfium2"]
BACKENDS: tuple[str, ...] = ("pypdf", "pypdfium2")


def _cgroup_cpu_limit() -> int | None:
    """CPUs allowed by a cgroup v2 quota (a Kubernetes CPU limit), which the affinity mask does not show."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def available_cores() -> int:
    """Cores this process may use: the affinity mask (taskset, cpusets), narrowed by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    return max(1, min(cores, limit) if limit else cores)


class ExtractionSettings(Doc2slmSettings):
    backend: Backend = Field("pypdf", description="PDF text backend: pypdf (default) or pypdfium2 (faster)")
    max_tokens: int = Field(256, ge=32, le=8192, description="Default maximum tokens per chunk")
    overlap_tokens: int = Field(32, ge=0, le=4096, description="Default tokens repeated between chunks")
    min_chunk_tokens: int = Field(
        48, ge=1, le=4096, description="A trailing chunk smaller than this is grown backwards, not kept tiny"
    )
    max_file_bytes: int = Field(
        200 * 1024 * 1024, ge=1024, description="Largest PDF accepted, in bytes (RESOURCE_EXHAUSTED above)"
    )
    max_pages: int = Field(5000, ge=1, description="Most pages per document (RESOURCE_EXHAUSTED above)")
    max_chunks_per_doc: int = Field(
        50000, ge=1, description="Most chunks per document (RESOURCE_EXHAUSTED above)"
    )
    doc_timeout_s: float = Field(
        300.0, gt=0, le=86400, description="Wall-clock seconds one extraction task may run (DEADLINE_EXCEEDED)"
    )
    doc_memory_mb: int = Field(
        2048, ge=256, description="Address-space limit of each worker process in MiB (RESOURCE_EXHAUSTED)"
    )
    workers: int = Field(
        0, ge=0, le=256, description="Worker processes; 0 means one per available core"
    )
    pages_per_task: int = Field(
        32, ge=1, le=100000, description="Pages one worker extracts at a time, so big documents run in parallel"
    )
    max_tasks_per_worker: int = Field(
        200, ge=1, description="A worker is replaced after this many tasks, bounding leaks in PDF libraries"
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ExtractionSettings:
        if self.overlap_tokens >= self.max_tokens:
            raise ValueError(
                f"overlap_tokens ({self.overlap_tokens}) must be smaller than max_tokens ({self.max_tokens})"
            )
        return self

    @property
    def worker_count(self) -> int:
        return self.workers or available_cores()
