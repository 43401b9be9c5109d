"""Small files every step writes beside its data: a JSON card of what it did, read by the summary."""

from __future__ import annotations

import json
from typing import Any

from doc2slm_common import storage

# Names under the run's work prefix; the summary and the CLI find a run's pieces by these.
CHUNKS_FILE = "chunks.jsonl"
EXTRACTION_CARD = "extraction_card.json"
QA_FILE = "qa.jsonl"
GENERATION_CARD = "generation_card.json"
SPLIT_DIR = "split"
SPLIT_CARD = "split_card.json"
ADAPTER_DIR = "adapter"
ANSWERS_FILE = "answers.jsonl"
REPORT_DIR = "report"
DEPLOY_CARD = "deploy_card.json"


def write_card(uri: str, card: dict[str, Any]) -> str:
    return storage.write_text(uri, json.dumps(card, indent=2, sort_keys=True) + "\n")


def read_card(uri: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(storage.read_text(uri))
    return loaded


def as_prefix(uri: str) -> str:
    """A directory-like URI with exactly one trailing slash (how the services spell a prefix)."""
    return storage.to_uri(uri).rstrip("/") + "/"
