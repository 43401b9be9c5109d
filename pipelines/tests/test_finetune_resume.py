"""Kill-and-resume: a fine-tune process SIGKILLed after a checkpoint continues from that step and ends
with the same adapter as a run that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from doc2slm_pipelines.finetune import FinetuneConfig, FinetuneInputs, finetune
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl
from safetensors.torch import load_file

STEPS, EVERY = 24, 4
FLAGS = ["--max-steps", str(STEPS), "--checkpoint-every", str(EVERY), "--batch-size", "4", "--max-length", "64",
         "--learning-rate", "3e-3", "--lora-rank", "8", "--seed", "7", "--log-every", "1"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Path:
    root = tmp_path_factory.mktemp("resume")
    (root / "tiny").symlink_to(tiny_base_model, target_is_directory=True)
    write_jsonl(root / "train.jsonl", qa_records(48))
    return root


def _start(workdir: Path, out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "doc2slm_pipelines.finetune", "--train", str(workdir / "train.jsonl"),
               "--out", str(out), "--base-model", str(workdir / "tiny"), *FLAGS]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_after_first_checkpoint(process: subprocess.Popen[bytes], pointer: Path) -> int:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if pointer.exists():
            step = int(json.loads(pointer.read_text())["step"])
            process.send_signal(signal.SIGKILL)
            process.wait()
            return step
        time.sleep(0.02)
    stderr = process.stderr.read().decode() if process.stderr else ""
    raise AssertionError(f"no checkpoint appeared before the run ended (rc={process.poll()}):\n{stderr[-2000:]}")


def test_sigkilled_run_resumes_from_its_checkpoint_and_matches_an_uninterrupted_run(workdir: Path) -> None:
    out = workdir / "killed"
    killed_at = _kill_after_first_checkpoint(_start(workdir, out), out / "checkpoints" / "latest.json")
    assert killed_at < STEPS and not (out / "training_card.json").exists()

    resumed = _start(workdir, out)
    _stdout, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr.decode()[-2000:]
    card = json.loads((out / "training_card.json").read_text())
    assert card["resumed_from_step"] >= killed_at and card["resumed_from_step"] % EVERY == 0
    assert card["steps"] == STEPS and len(card["loss_curve"]) == STEPS

    # The reference: the same settings, never interrupted, in this process with the same thread count.
    torch.set_num_threads(1)
    config = FinetuneConfig(max_steps=STEPS, checkpoint_every=0, batch_size=4, max_length=64, learning_rate=3e-3,
                            lora_rank=8, seed=7, log_every=1)
    reference = finetune(FinetuneInputs(str(workdir / "train.jsonl"), str(workdir / "whole"),
                                        str(workdir / "tiny")), config)
    resumed_weights = load_file(str(out / "adapter_model.safetensors"))
    whole_weights = load_file(str(workdir / "whole" / "adapter_model.safetensors"))
    assert resumed_weights.keys() == whole_weights.keys()
    for name, tensor in whole_weights.items():
        torch.testing.assert_close(resumed_weights[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    assert card["loss_curve"][-1][1] == pytest.approx(reference["loss_curve"][-1][1], abs=1e-4)
