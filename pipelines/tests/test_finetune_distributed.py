"""Data-parallel fine-tuning for real: two torchrun ranks on CPU (gloo) train the tiny random Llama and end
with the same adapter as one process taking the same global batch (grad_accumulation x 2); a job killed
after a checkpoint resumes on both ranks and ends as if never interrupted."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from doc2slm_common.errors import InvalidInput
from doc2slm_pipelines.finetune import FinetuneConfig, FinetuneInputs, finetune
from doc2slm_pipelines.finetune.distributed import ranks_from_env
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

STEPS, EVERY, WORLD = 10, 2, 2
# Dropout off: with it each rank draws its own masks, which one process cannot reproduce.
SETTINGS: dict[str, object] = {"max_steps": STEPS, "batch_size": 2, "max_length": 64, "learning_rate": 3e-3,
                               "lora_rank": 8, "lora_dropout": 0.0, "seed": 11, "log_every": 1,
                               "checkpoint_every": EVERY}


def _flags(settings: dict[str, object]) -> list[str]:
    return [part for name, value in settings.items() for part in ("--" + name.replace("_", "-"), str(value))]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Path:
    root = tmp_path_factory.mktemp("distributed")
    (root / "tiny").symlink_to(tiny_base_model, target_is_directory=True)
    write_jsonl(root / "train.jsonl", qa_records(32))
    write_jsonl(root / "eval.jsonl", qa_records(4, doc_id="doc-b"))
    return root


def _launch(workdir: Path, out: Path) -> subprocess.Popen[bytes]:
    """The fine-tune entry point under torchrun with two CPU processes, in a session of its own."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               str(WORLD), "-m", "doc2slm_pipelines.finetune",
               "--train", str(workdir / "train.jsonl"), "--eval", str(workdir / "eval.jsonl"), "--out", str(out),
               "--base-model", str(workdir / "tiny"), *_flags(SETTINGS)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _kill_job(job: subprocess.Popen[bytes]) -> None:
    """SIGKILL the launcher and its ranks at once, as a preempted pod dies.

    torchrun starts each rank in a session of its own, so the ranks are found as the launcher's
    descendants; the launcher goes first, so it cannot react to its ranks' deaths.
    """
    ranks = psutil.Process(job.pid).children(recursive=True)
    job.kill()
    job.wait()
    for process in ranks:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(ranks, timeout=30)


def _finish(process: subprocess.Popen[bytes]) -> str:
    logs = process.communicate(timeout=600)[0].decode()
    assert process.returncode == 0, logs[-4000:]
    return logs


@pytest.fixture(scope="module")
def two_ranks(workdir: Path) -> tuple[Path, str]:
    """An uninterrupted two-rank run; returns (adapter dir, logs of launcher and ranks)."""
    out = workdir / "ddp"
    return out, _finish(_launch(workdir, out))


def test_two_ranks_write_one_adapter_with_the_loss_curve(two_ranks: tuple[Path, str]) -> None:
    out, logs = two_ranks
    assert "rank 0 of 2" in logs and "rank 1 of 2" in logs
    for name in ("adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "training_card.json"):
        assert (out / name).is_file(), name
    assert not (out / "checkpoints").exists()  # rank 0 wrote checkpoints, then removed them
    # Rank 0 alone writes checkpoints and the adapter.
    assert logs.count("checkpoint at step") == STEPS // EVERY - 1 and logs.count("adapter written to") == 1
    card = json.loads((out / "training_card.json").read_text())
    assert card["world_size"] == WORLD and card["steps"] == STEPS
    assert card["estimate"]["device"] == f"{WORLD} x cpu"
    assert [step for step, _loss in card["loss_curve"]] == list(range(1, STEPS + 1))
    assert all(loss > 0 for _step, loss in card["loss_curve"]) and card["eval_loss"] is not None
    # Both ranks print the same summary line: the loss is averaged across them, not each rank's own.
    summaries = [json.loads(line) for line in logs.splitlines() if line.startswith('{"steps"')]
    assert len(summaries) == WORLD
    assert [(s["steps"], s["final_loss"], s["eval_loss"]) for s in summaries] == [
        (STEPS, card["final_loss"], card["eval_loss"])] * WORLD


def test_two_ranks_match_one_process_with_the_same_global_batch(workdir: Path,
                                                                two_ranks: tuple[Path, str]) -> None:
    out, _logs = two_ranks
    torch.set_num_threads(1)
    config = FinetuneConfig(**{**SETTINGS, "grad_accumulation": WORLD, "checkpoint_every": 0}).validate()  # type: ignore[arg-type]
    single = finetune(FinetuneInputs(str(workdir / "train.jsonl"), str(workdir / "single"),
                                     str(workdir / "tiny"), eval_uri=str(workdir / "eval.jsonl")), config)
    ranks_card = json.loads((out / "training_card.json").read_text())
    # The same micro-batches in every step (split between the ranks), so the same tokens and losses...
    assert ranks_card["tokens_seen"] == single["tokens_seen"]
    assert ranks_card["label_tokens_seen"] == single["label_tokens_seen"]
    for (_s, parallel), (_t, alone) in zip(ranks_card["loss_curve"], single["loss_curve"], strict=True):
        assert parallel == pytest.approx(alone, abs=2e-4)
    # ...and the same adapter, up to the order of floating-point sums.
    parallel_weights = load_file(str(out / "adapter_model.safetensors"))
    single_weights = load_file(str(workdir / "single" / "adapter_model.safetensors"))
    assert parallel_weights.keys() == single_weights.keys()
    for name, tensor in single_weights.items():
        torch.testing.assert_close(parallel_weights[name], tensor, rtol=1e-3, atol=1e-4, msg=name)
    base = AutoModelForCausalLM.from_pretrained(str(workdir / "tiny"), dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    with torch.no_grad():
        logits = PeftModel.from_pretrained(base, str(out)).eval()(**tokenizer(["part 3?"], return_tensors="pt")).logits
    assert torch.isfinite(logits).all()


def test_a_killed_job_resumes_on_both_ranks_and_matches_the_uninterrupted_run(
        workdir: Path, two_ranks: tuple[Path, str]) -> None:
    out, pointer = workdir / "killed", workdir / "killed" / "checkpoints" / "latest.json"
    job = _launch(workdir, out)
    deadline = time.monotonic() + 300
    while not pointer.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.poll() is None and pointer.exists(), "the job ended (or stalled) before its first checkpoint"
    _kill_job(job)
    killed_at = int(json.loads(pointer.read_text())["step"])
    assert killed_at < STEPS and not (out / "training_card.json").exists()

    logs = _finish(_launch(workdir, out))
    assert logs.count(f"resumed from checkpoint at step {killed_at}") == WORLD  # every rank, the same one
    card = json.loads((out / "training_card.json").read_text())
    reference = json.loads((two_ranks[0] / "training_card.json").read_text())
    assert card["resumed_from_step"] == killed_at and card["steps"] == STEPS
    assert card["loss_curve"] == reference["loss_curve"]
    resumed, whole = (load_file(str(d / "adapter_model.safetensors")) for d in (out, two_ranks[0]))
    for name, tensor in whole.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("environ", [{"WORLD_SIZE": "2", "RANK": "2"}, {"WORLD_SIZE": "two"},
                                     {"WORLD_SIZE": "0"}])
def test_inconsistent_launcher_variables_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match="WORLD_SIZE"):
        ranks_from_env(environ)
