"""Helpers of the qagen tests: small realistic chunks, settings for the fault teacher, a whole run."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from doc2slm_qagen import factory, prompts
from doc2slm_qagen.generate import Event, RunSummary
from doc2slm_qagen.records import ChunkRecord
from doc2slm_qagen.settings import QAGenSettings

from tests.support.fault_teacher import FaultSchedule, FaultTeacher, paraphrase_for, question_for

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
                              "paraphrase_share": 0.0, "max_concurrency": 4, "pairs_per_chunk": 2,
                              # One request per chunk in qa mode: these tests count calls per fault and
                              # budget; rewritten views have their own test (test_qagen_wordings).
                              "qa_views": ""}
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


class SecondQuestionTeacher(FaultTeacher):
    """The fault teacher, also answering qagen's second-question request (held-out twins).

    The shared fault teacher reads that request as an answer-first one and gives the first question back,
    as a weak teacher does. Here it answers with `scripted` replies, one per second-question request in
    order ({first} stands for the first question the fault teacher wrote for that answer), then with
    another grounded wording; and it keeps the request bodies, to check sampling and what was shown.
    """

    def __init__(self, schedule: FaultSchedule | None = None, scripted: list[str] | None = None) -> None:
        super().__init__(schedule)
        self.scripted = list(scripted or [])
        self.second_requests: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []
        teacher = self
        handler: Any = self._server.RequestHandlerClass  # the fault teacher's own handler class

        class KeepingHandler(handler):  # type: ignore[misc,valid-type]
            def do_POST(self) -> None:
                # Read the body, keep it, and put it back for the fault teacher to read.
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # type: ignore[has-type]
                with teacher._lock:
                    teacher.bodies.append(json.loads(raw or b"{}"))
                self.rfile = io.BytesIO(raw)
                super().do_POST()

        self._server.RequestHandlerClass = KeepingHandler

    def reply_content(self, kind: str, subject: str, prompt: str) -> str:
        if prompts.SECOND_QUESTION_ASK not in prompt:
            return super().reply_content(kind, subject, prompt)
        with self._lock:
            self.second_requests.append(next(b for b in reversed(self.bodies)
                                             if b["messages"][-1]["content"] == prompt))
            reply = self.scripted.pop(0) if self.scripted else paraphrase_for(subject)
        return reply.replace("{first}", question_for(subject))
