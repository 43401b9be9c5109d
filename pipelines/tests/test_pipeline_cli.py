"""`doc2slm pipeline ...` and `doc2slm run` as a user calls them (the installed entry point)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from doc2slm_pipelines.pipeline import COMPILED_PATH


def doc2slm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doc2slm_cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_compile_writes_the_committed_yaml(tmp_path: Path) -> None:
    result = doc2slm("pipeline", "compile", "--output", str(tmp_path / "p.yaml"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.yaml").read_text() == COMPILED_PATH.read_text()


def test_submit_to_an_unreachable_host_exits_with_the_status_name() -> None:
    result = doc2slm("pipeline", "submit", "--host", "http://127.0.0.1:9", "--set", "max_chunks=4")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("UNAVAILABLE: Kubeflow Pipelines at http://127.0.0.1:9")


def test_submit_refuses_an_unknown_parameter_before_connecting() -> None:
    result = doc2slm("pipeline", "submit", "--host", "http://127.0.0.1:9", "--set", "max_chunk=4")
    assert result.returncode == 1
    assert "INVALID_ARGUMENT: the pipeline has no parameter(s) max_chunk" in result.stderr


def test_run_exposes_the_local_budget_knobs() -> None:
    result = doc2slm("run", "--help")
    assert result.returncode == 0
    for flag in ("--docs", "--out", "--teacher-base-url", "--teacher-model", "--base-model", "--max-chunks",
                 "--pairs-per-chunk", "--epochs", "--max-eval-questions"):
        assert flag in result.stdout
