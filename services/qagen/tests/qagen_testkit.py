"""Helpers of the qagen tests: small realistic chunks, settings for the fault teacher, a whole run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from doc2slm_qagen import factory
from doc2slm_qagen.generate import Event, RunSummary
from doc2slm_qagen.records import ChunkRecord
from doc2slm_qagen.settings import QAGenSettings

TEXTS = [
    "The X-200 pump must be serviced every 500 hours of operation. Only SAE 30 oil may be used in its "
    "gearbox. A red light on the control panel means the pressure is too low.",
    "Vim executes the commands in the vimrc file when it starts up. The vimrc file can contain all the "
    "commands that you type after a colon. Options such as incsearch are set with the set command.",
    "To delete a character, move the cursor over it and type x. The undo command u reverses the last "
    "change you made. Typing a count before a command repeats the command that many times.",
    "Backups of the database are written every night at two o'clock to the storage array. A restore "
    "takes about forty minutes for one terabyte of data. Restores need approval from the duty manager.",
    "The cooling fan switches on when the housing temperature exceeds sixty degrees Celsius. Dust "
    "filters behind the front grille should be cleaned once a month with compressed air.",
    "Invoices are paid thirty days after the goods have been received and checked. Late deliveries "
    "are charged a penalty of one percent of the order value for each week of delay.",
]


def make_chunks(texts: list[str] = TEXTS, docs: int = 3) -> list[ChunkRecord]:
    return [ChunkRecord(doc_id=hashlib.sha256(f"doc{i % docs}".encode()).hexdigest(),
                        chunk_id=hashlib.sha256(text.encode()).hexdigest()[:16], text=text,
                        source=f"doc{i % docs}.pdf", page_start=1, page_end=1)
            for i, text in enumerate(texts)]


def settings_for(base_url: str, cache_dir: Path, **overrides: Any) -> QAGenSettings:
    values: dict[str, Any] = {"teacher_base_url": base_url, "teacher_model": "fault-teacher",
                              "cache_uri": cache_dir.as_uri(), "teacher_timeout_s": 5.0,
                              "teacher_backoff_base_s": 0.01, "teacher_backoff_max_s": 0.05,
                              "paraphrase_share": 0.0, "max_concurrency": 4, "pairs_per_chunk": 2}
    values.update(overrides)
    return QAGenSettings(**values)


def run_all(settings: QAGenSettings, chunks: list[ChunkRecord]) -> tuple[list[Event], RunSummary]:
    run = factory.open_run(settings)
    try:
        events = list(run.generator.run(chunks))
    finally:
        run.close()
    summary = events[-1]
    assert isinstance(summary, RunSummary)
    return events[:-1], summary
