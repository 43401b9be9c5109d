"""pairs.csv: one row per question with the reference, both answers and every per-question score.

Text cells come from documents and model output; a spreadsheet runs a cell that starts with = + - @ (or
a tab or carriage return) as a formula, so such text cells get a leading apostrophe (OWASP CSV
injection). Number cells are written as numbers, negative ones included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from doc2slm_scoring.report.records import SYSTEMS
from doc2slm_scoring.report.scored import ScoredRecord

COLUMNS = [
    "set", "doc_id", "chunk_id", "question", "reference", "base_answer", "tuned_answer",
    *(f"{system}_{measure}" for system in SYSTEMS for measure in ("cosine", "bucket", "token_f1", "rouge_l")),
    "cosine_difference",
]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """The text as a spreadsheet shows it literally, never as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def pairs_csv(scored_by_set: Mapping[str, Sequence[ScoredRecord]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for set_name, scored in scored_by_set.items():
        for item in scored:
            record = item.record
            row: list[str] = [text_cell(v) for v in (set_name, record.doc_id, record.chunk_id, record.question,
                                                     record.reference, record.base_answer, record.tuned_answer)]
            for system in SYSTEMS:
                score = item.scores[system]
                row += [f"{score.cosine:.6f}", score.bucket, f"{score.token_f1:.6f}", f"{score.rouge_l:.6f}"]
            row.append(f"{item.cosine_difference:.6f}")
            writer.writerow(row)
    return buffer.getvalue()
