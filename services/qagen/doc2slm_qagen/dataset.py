"""Reading chunks and QA datasets, writing qa.jsonl (atomic) with its generation summary beside it."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput

from doc2slm_qagen.generate import RunSummary
from doc2slm_qagen.records import ChunkRecord, PairRecord


def summary_uri_for(qa_uri: str) -> str:
    """qa.jsonl -> qa.summary.json: the split puts the per-filter counts into the dataset card from it."""
    base = qa_uri[: -len(".jsonl")] if qa_uri.endswith(".jsonl") else qa_uri
    return f"{base}.summary.json"


def read_chunks(uri: str) -> list[ChunkRecord]:
    return [ChunkRecord.from_dict(record) for record in storage.read_jsonl(uri)]


def read_pairs(uri: str) -> list[PairRecord]:
    return [PairRecord.from_dict(record) for record in storage.read_jsonl(uri)]


def summary_to_dict(summary: RunSummary) -> dict[str, Any]:
    data = asdict(summary)
    data["dropped"] = dict(sorted(summary.dropped.items()))
    return data


def write_pairs(uri: str, pairs: list[PairRecord], summary: dict[str, Any] | None = None) -> str:
    """Write qa.jsonl atomically, and its summary when there is one."""
    uri = storage.to_uri(uri)
    if summary is not None:
        storage.write_text(summary_uri_for(uri), json.dumps(summary, indent=2, sort_keys=True))
    return storage.write_jsonl(uri, (pair.to_dict() for pair in pairs))


def read_summary(qa_uri: str) -> dict[str, Any] | None:
    uri = summary_uri_for(storage.to_uri(qa_uri))
    if not storage.exists(uri):
        return None
    try:
        data = json.loads(storage.read_text(uri))
    except json.JSONDecodeError:
        raise InvalidInput(f"{uri} is not JSON") from None
    return data if isinstance(data, dict) else None
