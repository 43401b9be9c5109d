"""Shared fixtures of the scoring tests: the real MiniLM encoder (loaded once) and an answers file.

The scoring package never imports the embedding package; its tests do, because the real embeddings
are what the report is about and the in-process encoder is the cheapest real source of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from doc2slm_embedding.encoder import SentenceEncoder, load_encoder

# (question, reference, base answer, tuned answer): a small manual's facts, answered by an untuned
# model (often wrong or vague) and a tuned one (mostly right), as an evaluation would see them.
Fact = tuple[str, str, str, str]
AnswerFactory = Callable[[str | None, list[Fact]], list[dict[str, Any]]]

FACTS: list[Fact] = [
    ("How often must the pump be serviced?", "The pump must be serviced every six months.",
     "Pumps move fluids from one place to another.", "Service the pump every six months."),
    ("What voltage does the unit need?", "The unit needs 230 V mains power.",
     "I am not sure about the voltage.", "It needs 230 volt mains power."),
    ("Who may open the control cabinet?", "Only trained electricians may open the control cabinet.",
     "Anyone can open it.", "Only trained electricians may open it."),
    ("What colour is the warning light?", "The warning light is red.",
     "The light is green.", "The warning light is red."),
    ("Where is the reset button?", "The reset button is on the back panel.",
     "Press any key to continue.", "The reset button is on the back panel."),
    ("What is the maximum operating pressure?", "The maximum operating pressure is 6 bar.",
     "Pressure is force per area.", "The maximum pressure is 6 bar."),
    ("Which oil does the gearbox use?", "The gearbox uses ISO VG 220 gear oil.",
     "Use olive oil.", "The gearbox takes ISO VG 220 oil."),
    ("How long is the warranty?", "The warranty lasts two years from delivery.",
     "Warranties vary.", "Two years from delivery."),
    ("What must be worn when cleaning the filter?", "Wear gloves and goggles when cleaning the filter.",
     "Clean clothes.", "Gloves and safety goggles."),
    ("How is the machine switched off in an emergency?", "Press the red emergency stop button.",
     "Unplug the computer.", "Press the red emergency stop button."),
    ("What is the tank capacity?", "The tank holds 40 litres.", "", "The tank holds 40 litres."),
    ("When should the belt be replaced?", "Replace the belt after 2000 operating hours.",
     "When it breaks.", "After 2000 hours of operation."),
]


def answer_records(set_name: str | None, facts: list[Fact]) -> list[dict[str, Any]]:
    records = []
    for index, (question, reference, base, tuned) in enumerate(facts):
        record: dict[str, Any] = {"question": question, "reference": reference, "base_answer": base,
                                  "tuned_answer": tuned, "doc_id": "doc-a", "chunk_id": f"chunk-{index}"}
        if set_name is not None:
            record["set"] = set_name
        records.append(record)
    return records


@pytest.fixture(scope="session")
def facts() -> list[Fact]:
    return list(FACTS)


@pytest.fixture(scope="session")
def make_answers() -> AnswerFactory:
    """answers.jsonl records of one set (None: no `set` field, as in a user's own file) from facts."""
    return answer_records


@pytest.fixture(scope="session")
def minilm() -> SentenceEncoder:
    return load_encoder()


@pytest.fixture(scope="session")
def pipeline_answers() -> list[dict[str, Any]]:
    """Seen questions first in the file: the report must still lead with the held-out ones."""
    return (answer_records("eval_seen", FACTS[:4]) + answer_records("eval_heldout_questions", FACTS)
            + answer_records("eval_heldout_docs", FACTS[6:]))
