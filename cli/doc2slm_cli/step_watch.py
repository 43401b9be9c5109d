"""One progress line per pipeline step while `doc2slm run` runs kfp.local, read from the files the steps write.

kfp.local runs the whole pipeline in one call and prints the steps' own logs; the user still wants to see
which step finished, with what counts, and, before the long work starts, what the run will cost. Each step
leaves a card under the work folder when it is done, so a thread polls for them and prints a line for each,
and the plan (run_plan.plan_run) as soon as the chunks are known.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

POLL_S = 2.0


def _card(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # not there yet, or being written (writes are atomic, so rarely)
    return loaded if isinstance(loaded, dict) else None


def _extract_line(card: dict[str, Any]) -> str:
    return (f"extract done: {card.get('documents')} documents ({card.get('documents_failed', 0)} failed), "
            f"{card.get('chunks')} of {card.get('chunks_extracted')} chunks used")


def _generate_line(card: dict[str, Any]) -> str:
    return (f"generate QA done: {card.get('pairs')} pairs from {card.get('chunks_with_pair')}/"
            f"{card.get('chunks_total')} chunks, {card.get('teacher_calls')} teacher calls")


def _split_line(card: dict[str, Any]) -> str:
    counts = card.get("counts", {})
    return "split done: " + ", ".join(f"{name} {value}" for name, value in counts.items()
                                      if name.startswith(("train", "eval_")))


def _train_line(card: dict[str, Any]) -> str:
    validation = card.get("validation") or {}
    best = f", best validation at step {validation['best_step']}" if validation.get("best_step") else ""
    return f"fine-tune done: {card.get('steps')} steps, {card.get('tokens_per_s')} tokens/s{best}"


def _evaluate_line(metrics: dict[str, Any]) -> str:
    head = metrics.get("headline_set")
    data = metrics.get("sets", {}).get(head or "", {})
    if not data:
        return "evaluate done: no held-out question to lead with"
    difference = data["tuned_vs_base"]["cosine"]
    low, high = difference["difference_ci95"]
    return (f"evaluate done: {head} n={data['n']}, tuned - base mean cosine {difference['mean_difference']:+.3f} "
            f"[{low:+.3f}, {high:+.3f}]")


def _deploy_line(card: dict[str, Any]) -> str:
    if card.get("published") is False:
        return f"deploy: not published ({card.get('reason', '')})"
    return f"deploy done: {card.get('mode')} {card.get('openai_base_url') or card.get('endpoint') or ''}".rstrip()


STEPS: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("extraction_card.json", _extract_line), ("generation_card.json", _generate_line),
    ("split_card.json", _split_line), ("adapter/training_card.json", _train_line),
    ("report/metrics.json", _evaluate_line), ("deploy_card.json", _deploy_line),
]


class StepWatch:
    """Polls `out` on a daemon thread; `note` prints a line (Phases.note)."""

    def __init__(self, out: Path, note: Callable[[str], None], on_chunks: Callable[[int], list[str]]) -> None:
        self.out, self.note, self.on_chunks = out, note, on_chunks
        self._stop = threading.Event()
        self._seen: set[str] = set()
        self._since = 0.0
        self._last = 0.0
        self._thread = threading.Thread(target=self._run, name="doc2slm-step-watch", daemon=True)

    def __enter__(self) -> StepWatch:
        # Cards of an earlier run in the same folder are not this run's progress: only newer ones count.
        self._since = self._last = time.time()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=POLL_S * 2)

    def poll(self) -> None:
        for name, line in STEPS:
            path = self.out / name
            if name in self._seen or not path.exists() or path.stat().st_mtime < self._since:
                continue
            card = _card(path)
            if card is None:
                continue
            self._seen.add(name)
            # How long the step took: since the previous step's card (or the start of the run).
            took = path.stat().st_mtime - self._last
            self._last = path.stat().st_mtime
            self.note(f"{line(card)} ({took / 60:.1f} min)")
            if name == "extraction_card.json" and isinstance(card.get("chunks"), int):
                for text in self.on_chunks(card["chunks"]):
                    self.note(text)

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()
