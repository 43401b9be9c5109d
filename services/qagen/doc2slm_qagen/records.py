"""The records qagen reads and writes: chunks (chunks.jsonl) and QA pairs (qa.jsonl, QAPair fields).

Chunks are read leniently (DESIGN.md writes `pages` as [first, last]; the proto has page_start/page_end)
because they come from another step; a chunk without an id or text is reported, not guessed.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from typing import Any

from doc2slm_common.errors import InvalidInput


@dataclass(frozen=True)
class ChunkRecord:
    doc_id: str
    chunk_id: str
    text: str
    source: str = ""
    page_start: int = 0
    page_end: int = 0

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ChunkRecord:
        if not isinstance(record, dict):
            raise InvalidInput(f"a chunk must be a JSON object, got {type(record).__name__}")
        pages = record.get("pages")
        page_start, page_end = record.get("page_start", 0), record.get("page_end", 0)
        if isinstance(pages, list) and pages:
            page_start, page_end = pages[0], pages[-1]
        try:
            return cls(doc_id=str(record.get("doc_id", "")), chunk_id=str(record.get("chunk_id", "")),
                       text=str(record.get("text", "")), source=str(record.get("source", "")),
                       page_start=int(page_start or 0), page_end=int(page_end or 0))
        except (TypeError, ValueError):
            raise InvalidInput(f"chunk {record.get('chunk_id')!r} has non-integer pages") from None

    def problem(self) -> str | None:
        """Why this chunk cannot be sent to a teacher, or None."""
        if not self.chunk_id:
            return "chunk has no chunk_id"
        if not self.doc_id:
            return f"chunk {self.chunk_id} has no doc_id"
        if not self.text.strip():
            return f"chunk {self.chunk_id} has no text"
        return None


def make_pair_id(chunk_id: str, question: str, answer: str) -> str:
    return hashlib.sha256(f"{chunk_id}\x00{question}\x00{answer}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PairRecord:
    """One kept pair; field names are the QAPair proto's, so qa.jsonl lines map onto it one to one."""

    question: str
    answer: str
    chunk_id: str
    doc_id: str
    page_start: int
    page_end: int
    teacher: str
    prompt_version: str
    paraphrase_question: str
    pair_id: str
    source: str

    @classmethod
    def build(cls, chunk: ChunkRecord, question: str, answer: str, teacher: str, prompt_version: str,
              paraphrase_question: str = "") -> PairRecord:
        return cls(question=question, answer=answer, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id,
                   page_start=chunk.page_start, page_end=chunk.page_end, teacher=teacher,
                   prompt_version=prompt_version, paraphrase_question=paraphrase_question,
                   pair_id=make_pair_id(chunk.chunk_id, question, answer), source=chunk.source)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> PairRecord:
        if not isinstance(record, dict):
            raise InvalidInput("a QA record must be a JSON object")
        missing = [name for name in ("question", "answer", "chunk_id", "doc_id") if not record.get(name)]
        if missing:
            raise InvalidInput(f"QA record {record.get('pair_id', '?')!r} lacks {', '.join(missing)}")
        values: dict[str, Any] = {}
        for spec in fields(cls):
            value = record.get(spec.name, 0 if spec.type in ("int", int) else "")
            values[spec.name] = int(value or 0) if spec.type in ("int", int) else str(value or "")
        if not values["pair_id"]:
            values["pair_id"] = make_pair_id(values["chunk_id"], values["question"], values["answer"])
        return cls(**values)
