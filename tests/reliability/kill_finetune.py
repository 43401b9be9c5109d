"""SIGKILL the fine-tuning process, again and again, at points between and right after checkpoints.

Each rerun with the same arguments must resume at the step of the last complete checkpoint (the pointer
on disk when the process died), and the final run must have trained every step exactly once: the loss
curve's steps are 1..N with none missing (lost) and none repeated (duplicated), and its adapter equals
that of a run never interrupted. A tiny random Llama (the fine-tuning package's synthetic model) keeps
it to seconds on CPU; the code path is the real `python -m doc2slm_pipelines.finetune`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.reliability.processes import quiet_env
from tests.reliability.profile import Profile
from tests.reliability.results import ScenarioResult

STEPS, EVERY = 24, 4
FLAGS = ["--max-steps", str(STEPS), "--checkpoint-every", str(EVERY), "--batch-size", "4", "--max-length", "64",
         "--learning-rate", "3e-3", "--lora-rank", "8", "--seed", "11", "--log-every", "1"]


def prepare(workdir: Path) -> None:
    from doc2slm_common.basemodel import resolve_base_model
    from doc2slm_pipelines.finetune.synthetic import build_random_model_dir, qa_records, tiny_shape, write_jsonl
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_base_model(None)))
    build_random_model_dir(workdir / "tiny", tiny_shape, tokenizer)
    write_jsonl(workdir / "train.jsonl", qa_records(48))


def start(workdir: Path, out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "doc2slm_pipelines.finetune", "--train", str(workdir / "train.jsonl"),
               "--out", str(out), "--base-model", str(workdir / "tiny"), *FLAGS]
    return subprocess.Popen(command, env=quiet_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def pointer_step(out: Path) -> int:
    pointer = out / "checkpoints" / "latest.json"
    try:
        return int(json.loads(pointer.read_text())["step"])
    except (OSError, ValueError, KeyError):
        return 0


def kill_when(process: subprocess.Popen[bytes], out: Path, at_least: int, extra_s: float) -> int | None:
    """SIGKILL once the checkpoint pointer reaches `at_least` (plus `extra_s`, to land between
    checkpoints); returns the pointer's step at the kill, or None when the run ended first."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if pointer_step(out) >= at_least:
            time.sleep(extra_s)
            process.send_signal(signal.SIGKILL)
            process.wait()
            return pointer_step(out) if process.returncode == -signal.SIGKILL else None
        time.sleep(0.02)
    process.wait()
    return None


def adapter_difference(first: Path, second: Path) -> float:
    from safetensors.torch import load_file

    a, b = load_file(str(first / "adapter_model.safetensors")), load_file(str(second / "adapter_model.safetensors"))
    if a.keys() != b.keys():
        return float("inf")
    return max(float((a[name] - b[name]).abs().max()) for name in a)


def run(profile: Profile, workdir: Path) -> ScenarioResult:
    started = time.monotonic()
    prepare(workdir)
    out = workdir / "killed"
    kills = min(profile.stream_kills, STEPS // EVERY - 2)
    notes: list[str] = []
    ok = True
    resumed_at: list[int] = []
    for index in range(kills):
        process = start(workdir, out)
        target = EVERY * (2 * index + 1)
        step_at_kill = kill_when(process, out, target, extra_s=0.3 * (index % 2))
        if step_at_kill is None:
            notes.append(f"kill {index + 1}: the run ended before step {target}")
            continue
        resumed_at.append(step_at_kill)
    final = start(workdir, out)
    _, stderr = final.communicate(timeout=900)
    if final.returncode != 0:
        return ScenarioResult(fault="SIGKILL fine-tuning, then rerun", injected=len(resumed_at), ok=False,
                              behaviour=f"the resumed run failed: {stderr.decode()[-500:]}",
                              seconds=time.monotonic() - started)
    card = json.loads((out / "training_card.json").read_text())
    steps = Counter(int(step) for step, _loss in card["loss_curve"])
    lost = sum(1 for step in range(1, STEPS + 1) if step not in steps)
    duplicated = sum(count - 1 for count in steps.values() if count > 1)
    if resumed_at and card["resumed_from_step"] != resumed_at[-1]:
        ok = False
        notes.append(f"resumed from step {card['resumed_from_step']}, the last checkpoint was {resumed_at[-1]}")
    whole = workdir / "whole"
    reference = start(workdir, whole)
    reference.communicate(timeout=900)
    difference = adapter_difference(out, whole)
    if difference > 1e-5:
        ok = False
        notes.append(f"the adapter differs from an uninterrupted run's by up to {difference:.2e}")
    behaviour = (f"killed at checkpoint steps {resumed_at}; each rerun resumed from the last complete checkpoint "
                 f"(final from step {card['resumed_from_step']}); {len(steps)}/{STEPS} steps trained once; adapter "
                 f"equals an uninterrupted run's (max difference {difference:.1e})")
    if notes:
        behaviour += "; " + "; ".join(notes)
    return ScenarioResult(fault="SIGKILL fine-tuning, then rerun the same command", injected=len(resumed_at),
                          behaviour=behaviour, lost=lost, duplicated=duplicated, ok=ok and bool(resumed_at),
                          seconds=time.monotonic() - started,
                          details={"killed_at_checkpoint": resumed_at, "resumed_from": card["resumed_from_step"],
                                   "max_adapter_difference": difference})
