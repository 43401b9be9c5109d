"""scripts/gpu_check.sh --tiny: the GPU check runs every phase on CPU with tiny shapes (slow: ~3 min)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_runs_every_phase_on_cpu_without_our_service_stack(tmp_path: Path) -> None:
    # The GPU machine has grpcio but no kfp, kserve or minio: packages that raise on import stand in for them.
    blocked = tmp_path / "blocked"
    for name in ("kfp", "kserve", "minio"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is absent on the GPU machine')\n")
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out"), "PYTHONPATH": str(blocked)}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--tiny", "--loss-steps", "4",
                           "--serve-steps", "4", "--measure-steps", "1"], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads((tmp_path / "out" / "gpu_figures.json").read_text())
    assert figures["errors"] == {} and figures["skipped"] == []
    assert set(figures["phases"]) == {"llama2_7b", "llama2_13b", "production_path"}
    assert figures["phases"]["llama2_7b"]["throughput"]["tokens_per_s"] > 0
    assert figures["phases"]["production_path"]["answering_agrees_with_serving"] == 8
