"""kfp.local's output goes to the run's log file, and a failed step becomes one status line with its last lines.

A real kfp.local run of a one-step pipeline whose step raises a doc2slm domain error. (No `from __future__
import annotations`: kfp reads the component's annotations as types.)"""

from pathlib import Path

import kfp.local
import pytest
from doc2slm_pipelines.kfp_log import StepFailed, kfp_output_to, last_lines, step_status
from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def refuse(reason: str) -> str:
    """A step that fails as a real step does: a domain error escaping the component."""
    from doc2slm_common.errors import NotFound

    print("looking for the documents")
    raise NotFound(reason)


@dsl.pipeline(name="one-failing-step")
def failing(reason: str) -> None:
    refuse(reason=reason)


def test_a_failed_step_is_its_status_and_last_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"),
                   raise_on_error=True)
    log_path = tmp_path / "logs" / "kfp.log"
    with pytest.raises(StepFailed) as raised, kfp_output_to(log_path):
        failing(reason="no PDF under file:///nowhere")
    failed = raised.value
    assert failed.task == "refuse"
    assert (failed.status, failed.reason) == ("NOT_FOUND", "no PDF under file:///nowhere")
    assert failed.lines[0].startswith("Traceback") and failed.lines[-1].endswith("no PDF under file:///nowhere")
    assert not any("finished with status" in line for line in failed.lines)
    logged = log_path.read_text()
    assert "looking for the documents" in logged and "Executing task 'refuse'" in logged
    assert "\x1b[" not in logged  # no colour codes in the file
    assert capsys.readouterr().out == ""  # nothing of kfp's on the screen


def test_status_of_a_grpc_error_and_of_a_bug() -> None:
    assert step_status(["grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:",
                        "status = StatusCode.UNAVAILABLE"])[0] == "UNAVAILABLE"
    assert step_status(["Traceback (most recent call last):", "KeyError: 'pairs'"]) == ("INTERNAL", "KeyError: 'pairs'")


def test_last_lines_skip_the_executor_json() -> None:
    lines = ['"outputFile": "x"', "}", "Traceback (most recent call last):", "  raise X", "    ^^^^^", "X: y",
             "ERROR - Task 'a' finished with status FAILURE", "-" * 40]
    assert last_lines(lines) == ["Traceback (most recent call last):", "  raise X", "X: y"]
