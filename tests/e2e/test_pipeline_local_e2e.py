"""End to end: the KFP pipeline run by kfp.local on a 2-page corpus with tiny settings.

Real everything: the four gRPC services and the local teacher (SmolLM2 through doc2slm's predictor) as
processes on free loopback ports, each component a kfp.local subprocess, LoRA training on CPU, the
report from real embeddings, the adapter served and asked one question. Sized to a few minutes on 2
cores: 2 chunks, 1 pair asked of each, short teacher replies, 3 training steps, a handful of eval
questions, short answers.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doc2slm_common import storage
from doc2slm_common.contracts import ALL_SERVICES
from doc2slm_extraction import testing_pdfs
from doc2slm_pipelines.engine_choice import ENGINE_ENV, use_local_engine
from doc2slm_pipelines.local import (
    LocalRunOptions,
    ask_served_model,
    first_question,
    local_arguments,
    run_local,
    stop_local_serving,
)
from doc2slm_pipelines.local_stack import TEACHER_MODEL, LocalStack
from doc2slm_pipelines.steps.deploy_local import ready
from doc2slm_pipelines.summary import format_summary, load_summary

# Minutes on an idle 2-core machine; the budget leaves room for a busy one.
pytestmark = pytest.mark.timeout(1200)


def free_port_pair() -> int:
    """A free port whose successor is free too (the predictor takes HTTP on p and gRPC on p + 1)."""
    while True:
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    docs = tmp_path_factory.mktemp("docs")
    (docs / "manual.pdf").write_bytes(testing_pdfs.multipage_pdf(pages=1, paragraphs_per_page=2, seed=11))
    (docs / "handbook.pdf").write_bytes(testing_pdfs.multipage_pdf(pages=1, paragraphs_per_page=2, seed=12))
    return docs


@pytest.fixture(scope="module")
def finished_run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("run")
    ports = {contract.short_name: free_port_pair() for contract in ALL_SERVICES}
    serving_port = free_port_pair()
    with pytest.MonkeyPatch.context() as patch, LocalStack(log_dir=out / "logs", ports=ports,
                                                           teacher_port=free_port_pair(),
                                                           teacher_max_completion_tokens=96) as stack:
        # The engine `doc2slm run` takes on this machine (onnx where no GPU is) for the teacher, the answers
        # and the served adapter; the environment is restored after the module.
        patch.setenv(ENGINE_ENV, os.environ.get(ENGINE_ENV, ""))
        engine = use_local_engine()
        stack.start()
        options = LocalRunOptions(max_chunks=2, pairs_per_chunk=1, max_steps=3, max_length=128, batch_size=2,
                                  max_eval_questions=4, max_new_tokens=16, teacher_base_url=stack.teacher_base_url,
                                  teacher_model=TEACHER_MODEL, serving_port=serving_port,
                                  # Three steps on two pages prove the plumbing, not the model: the gate's
                                  # decision is recorded (asserted below) but does not stop the serving.
                                  extra={"enforce_quality_gate": False})
        arguments = local_arguments(str(corpus), str(out / "work"), options, ports=ports)
        work_uri = arguments["work_uri"]
        try:
            run_local(arguments, out / "kfp")
            question = first_question(work_uri)
            answer = ask_served_model(work_uri, question, max_tokens=16)
            yield {"out": out, "work_uri": work_uri, "question": question, "answer": answer,
                   "serving_port": serving_port, "engine": engine}
        finally:
            stop_local_serving(work_uri)


def test_every_step_left_its_output(finished_run: dict[str, Any]) -> None:
    work = storage.local_path(finished_run["work_uri"])
    chunks = storage.read_jsonl(storage.to_uri(work / "chunks.jsonl"))
    pairs = storage.read_jsonl(storage.to_uri(work / "qa.jsonl"))
    assert len(chunks) == 2 and len({c["doc_id"] for c in chunks}) == 2
    assert pairs and all(p["question"] and p["answer"] for p in pairs)
    for name in ("adapter_model.safetensors", "adapter_config.json", "training_card.json"):
        assert (work / "adapter" / name).is_file(), name
    card = json.loads((work / "adapter" / "training_card.json").read_text())
    assert card["steps"] == 3 and card["device"].startswith("cpu")
    for name in ("report.html", "report.md", "metrics.json", "pairs.csv", "similarity_hist.png"):
        assert (work / "report" / name).is_file(), name


def test_report_compares_base_and_tuned_on_held_out_questions(finished_run: dict[str, Any]) -> None:
    summary = load_summary(finished_run["work_uri"])
    metrics = summary.cards["metrics"]
    assert 1 <= metrics["counts"]["total"] <= 4
    for data in metrics["sets"].values():
        assert set(data["systems"]) == {"base", "tuned"}
        for system in data["systems"].values():
            assert -1.0 <= system["cosine"]["mean"] <= 1.0
    text = format_summary(summary, (finished_run["question"], finished_run["answer"]))
    assert "training: 3 steps" in text and "tuned" in text and finished_run["question"] in text


def test_kfp_recorded_metrics_and_the_report_as_artifacts(finished_run: dict[str, Any]) -> None:
    kfp_root = finished_run["out"] / "kfp"
    html = list(kfp_root.rglob("report_html"))
    metrics = list(kfp_root.rglob("evaluate/executor_output.json"))
    assert html and html[0].read_text().lstrip().lower().startswith("<!doctype html")
    assert metrics


def test_the_tuned_adapter_was_served_and_then_stopped(finished_run: dict[str, Any]) -> None:
    assert finished_run["answer"].strip()
    deploy = load_summary(finished_run["work_uri"]).cards["deploy"]
    assert deploy["mode"] == "local" and deploy["adapter_name"] == "doc2slm-adapter"
    gate = deploy["quality_gate"]
    # Two one-pair chunks may leave no held-out question: the gate then records that nothing shows the
    # model is not worse, which an enforced gate would refuse.
    assert gate["enforced"] is False and gate["passed"] is True and gate["reason"]
    assert isinstance(gate["mean_difference"], float) or "no held-out question" in gate["reason"]
    stop_local_serving(finished_run["work_uri"])
    assert not ready(f"http://127.0.0.1:{finished_run['serving_port']}", deploy["model_name"])


def test_the_run_used_the_engine_chosen_for_this_machine(finished_run: dict[str, Any]) -> None:
    if finished_run["engine"] != "onnx":
        pytest.skip("a machine with a GPU: the run takes transformers")
    teacher_log = (finished_run["out"] / "logs" / "teacher.log").read_text()
    serving_log = (storage.local_path(finished_run["work_uri"]) / "serving.log").read_text()
    assert "with onnxruntime (int8" in teacher_log
    # The served adapter has the weights the evaluation judged (float32), not the serving default.
    assert "with onnxruntime (fp32" in serving_log
