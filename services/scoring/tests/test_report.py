"""build_report end to end with real MiniLM embeddings: files, numbers, order, and honesty."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from doc2slm_common.errors import InvalidInput, LimitExceeded
from doc2slm_embedding.encoder import SentenceEncoder
from doc2slm_scoring import ReportResult, Thresholds, build_report, flatten_metrics, load_metrics
from doc2slm_scoring.report.pairs_csv import COLUMNS
from doc2slm_scoring.report.plots import figure_size_px
from PIL import Image

AnswerFactory = Callable[[str | None, list[Any]], list[dict[str, Any]]]
Fact = tuple[str, str, str, str]


@pytest.fixture(scope="module")
def report(tmp_path_factory, minilm: SentenceEncoder, pipeline_answers) -> ReportResult:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("report")
    return build_report(pipeline_answers, str(out), minilm.embed, embedding_model=minilm.model_name,
                        bootstrap_samples=500, seed=1, cases_per_set=3)


def report_dir(report: ReportResult) -> Path:
    return Path(report.files["metrics.json"].removeprefix("file://")).parent


def test_all_report_files_are_written(report: ReportResult) -> None:
    assert set(report.files) == {"metrics.json", "pairs.csv", "similarity_hist.png", "report.md", "report.html"}
    for uri in report.files.values():
        assert Path(uri.removeprefix("file://")).stat().st_size > 0
    assert report.report_uri.endswith("/report.html")


def test_metrics_order_counts_and_model(report: ReportResult) -> None:
    metrics = load_metrics(str(report_dir(report)))
    assert metrics == json.loads(json.dumps(report.metrics))
    assert metrics["set_order"] == ["eval_heldout_questions", "eval_heldout_docs", "eval_seen"]
    assert metrics["headline_set"] == "eval_heldout_questions"
    assert metrics["counts"]["per_set"] == {"eval_heldout_questions": 12, "eval_heldout_docs": 6, "eval_seen": 4}
    assert metrics["embedding_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert metrics["thresholds"] == {"acceptable": 0.5, "borderline": 0.4}
    assert metrics["sets"]["eval_seen"]["is_result"] is False


def test_metrics_numbers_agree_with_pairs_csv(report: ReportResult) -> None:
    rows = list(csv.DictReader(io.StringIO(Path(report.files["pairs.csv"].removeprefix("file://")).read_text())))
    assert list(rows[0]) == COLUMNS
    assert len(rows) == 22
    heldout = [r for r in rows if r["set"] == "eval_heldout_questions"]
    tuned = np.array([float(r["tuned_cosine"]) for r in heldout])
    base = np.array([float(r["base_cosine"]) for r in heldout])
    stats = report.metrics["sets"]["eval_heldout_questions"]
    assert stats["systems"]["tuned"]["cosine"]["mean"] == pytest.approx(tuned.mean(), abs=1e-6)
    assert stats["systems"]["base"]["cosine"]["median"] == pytest.approx(np.median(base), abs=1e-6)
    assert stats["tuned_vs_base"]["cosine"]["win_rate"] == pytest.approx(np.mean(tuned > base))
    # The empty base answer scores 0 and is counted.
    assert stats["systems"]["base"]["empty_answers"] == 1
    assert min(base) == 0.0


def test_real_embeddings_separate_right_from_wrong_answers(report: ReportResult) -> None:
    heldout = report.metrics["sets"]["eval_heldout_questions"]
    tuned, base = heldout["systems"]["tuned"], heldout["systems"]["base"]
    assert tuned["cosine"]["share_acceptable"] == 1.0
    # Wrong answers on topic still reach ~0.4 on average: the leniency the lexical scores are for.
    assert base["cosine"]["share_acceptable"] < 0.5
    assert tuned["cosine"]["mean"] > base["cosine"]["mean"] + 0.3
    assert tuned["token_f1"]["mean"] > base["token_f1"]["mean"] + 0.3
    assert heldout["tuned_vs_base"]["cosine"]["verdict"] == "better"


def test_histogram_png_decodes_with_the_expected_size(report: ReportResult) -> None:
    with Image.open(report.files["similarity_hist.png"].removeprefix("file://")) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == figure_size_px(3)


def test_markdown_leads_with_held_out_questions_and_names_seen_as_the_ceiling(report: ReportResult) -> None:
    text = Path(report.files["report.md"].removeprefix("file://")).read_text()
    lead = text.split("## How this was measured")[0]
    assert "Result on eval_heldout_questions" in lead
    assert lead.index("eval_heldout_questions") < lead.find("Seen questions")
    assert "memorisation ceiling" in lead and "it is not the result" in lead
    assert "all-MiniLM-L6-v2" in text and "acceptable at or above 0.5" in text
    assert "eval_heldout_questions 12, eval_heldout_docs 6, eval_seen 4" in text
    assert "](similarity_hist.png)" in text


def test_html_is_self_contained_and_shows_cases(report: ReportResult) -> None:
    html = Path(report.report_uri.removeprefix("file://")).read_text()
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "Worst" in html and "Best" in html
    assert "(empty answer)" in html
    # The lead block is about held-out questions.
    lead = html.split('<div class="lead">')[1].split("</div>")[0]
    assert "eval_heldout_questions" in lead and "eval_seen" not in lead


def test_text_from_answers_is_escaped_in_html(
    tmp_path: Path, minilm: SentenceEncoder, make_answers: AnswerFactory
) -> None:
    hostile = [(f"<script>alert({i})</script> question?", "A reference & more.", "<b>base</b>", "tuned <i>x</i>")
               for i in range(3)]
    result = build_report(make_answers("eval_heldout_questions", hostile), str(tmp_path), minilm.embed,
                          embedding_model=minilm.model_name, bootstrap_samples=50)
    html = Path(result.report_uri.removeprefix("file://")).read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "too few questions" in html


def test_only_seen_questions_are_never_presented_as_the_result(
    tmp_path: Path, minilm: SentenceEncoder, facts: list[Fact], make_answers: AnswerFactory
) -> None:
    result = build_report(make_answers("eval_seen", facts[:5]), str(tmp_path), minilm.embed,
                          embedding_model=minilm.model_name, bootstrap_samples=50)
    assert result.metrics["headline_set"] is None
    text = Path(result.files["report.md"].removeprefix("file://")).read_text()
    assert text.split("\n\n")[1].startswith("No held-out questions were evaluated")
    assert "Result on eval_seen" not in text


def test_a_users_file_without_sets_gets_the_default_set_and_custom_thresholds(
    tmp_path: Path, minilm: SentenceEncoder, facts: list[Fact], make_answers: AnswerFactory
) -> None:
    result = build_report(make_answers(None, facts[:6]), str(tmp_path), minilm.embed,
                          embedding_model=minilm.model_name, thresholds=Thresholds(0.8, 0.6),
                          bootstrap_samples=50)
    assert result.metrics["set_order"] == ["eval_user"]
    assert result.metrics["headline_set"] == "eval_user"
    assert result.metrics["thresholds"] == {"acceptable": 0.8, "borderline": 0.6}
    with Image.open(result.files["similarity_hist.png"].removeprefix("file://")) as image:
        assert image.size == figure_size_px(1)


def test_flat_kfp_metrics_are_all_floats(report: ReportResult) -> None:
    flat = flatten_metrics(report.metrics)
    assert all(isinstance(value, float) for value in flat.values())
    assert flat["eval_heldout_questions.n"] == 12.0
    assert flat["eval_heldout_questions.tuned.cosine_mean"] == pytest.approx(
        report.metrics["sets"]["eval_heldout_questions"]["systems"]["tuned"]["cosine"]["mean"])
    assert "eval_heldout_questions.tuned_vs_base.cosine_win_rate" in flat
    assert "eval_seen.tuned_vs_base.rouge_l_mean_difference" in flat
    assert flat["facts_beyond_register.difference"] == report.metrics["facts_beyond_register"]["difference"]


def test_the_report_weighs_the_held_out_question_gain_against_an_untrained_document(report: ReportResult) -> None:
    rows = list(csv.DictReader(io.StringIO(Path(report.files["pairs.csv"].removeprefix("file://")).read_text())))

    def gain(set_name: str) -> float:
        return float(np.mean([float(r["tuned_cosine"]) - float(r["base_cosine"]) for r in rows
                              if r["set"] == set_name]))

    facts = report.metrics["facts_beyond_register"]
    assert facts["heldout_questions_n"] == 12 and facts["heldout_docs_n"] == 6
    assert facts["heldout_questions_gain"] == pytest.approx(gain("eval_heldout_questions"), abs=1e-6)
    assert facts["heldout_docs_gain"] == pytest.approx(gain("eval_heldout_docs"), abs=1e-6)
    assert facts["difference"] == pytest.approx(facts["heldout_questions_gain"] - facts["heldout_docs_gain"])
    assert facts["verdict"] == "too few questions"  # 6 questions on the held-out document
    for name in ("report.md", "report.html"):
        text = Path(report.files[name].removeprefix("file://")).read_text()
        assert "Facts or register: on 6 questions about a document it never trained on" in text
        assert "too few questions in one of the two sets to tell" in text


def test_without_a_held_out_document_there_is_no_facts_or_register_figure(
    tmp_path: Path, minilm: SentenceEncoder, facts: list[Fact], make_answers: AnswerFactory
) -> None:
    result = build_report(make_answers("eval_heldout_questions", facts), str(tmp_path), minilm.embed,
                          embedding_model=minilm.model_name, bootstrap_samples=50)
    assert result.metrics["facts_beyond_register"] is None
    assert "Facts or register" not in Path(result.files["report.md"].removeprefix("file://")).read_text()
    assert not any(name.startswith("facts_beyond_register") for name in flatten_metrics(result.metrics))


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([], "no records"),
        ([{"question": "q", "base_answer": "a", "tuned_answer": "b"}], "missing field 'reference'"),
        ([{"question": "q", "reference": " ", "base_answer": "a", "tuned_answer": "b"}], "'reference' is empty"),
        ([{"question": "q", "reference": "r", "base_answer": 3, "tuned_answer": "b"}], "must be a string"),
        ([{"set": "bad name!", "question": "q", "reference": "r", "base_answer": "a", "tuned_answer": "b"}],
         "set name"),
        (["not an object"], "expected a JSON object"),
    ],
)
def test_malformed_answers_are_refused_before_anything_is_written(
    tmp_path: Path, minilm: SentenceEncoder, records: list[Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_report(records, str(tmp_path / "out"), minilm.embed, embedding_model="m")
    assert not (tmp_path / "out").exists()


def test_too_many_records_is_a_limit(
    tmp_path: Path, minilm: SentenceEncoder, facts: list[Fact], make_answers: AnswerFactory
) -> None:
    with pytest.raises(LimitExceeded, match="max_report_records"):
        build_report(make_answers("s", facts), str(tmp_path), minilm.embed, embedding_model="m", max_records=5)


def test_an_embed_function_returning_the_wrong_shape_is_caught(
    tmp_path: Path, facts: list[Fact], make_answers: AnswerFactory
) -> None:
    with pytest.raises(InvalidInput, match="returned shape"):
        build_report(make_answers("s", facts[:2]), str(tmp_path), lambda texts: np.zeros((1, 4)),
                     embedding_model="m")


def test_report_written_to_s3(
    s3_env: object, minilm: SentenceEncoder, facts: list[Fact], make_answers: AnswerFactory
) -> None:
    from doc2slm_common import storage

    result = build_report(make_answers("eval_heldout_questions", facts), "s3://doc2slm-tests/report-run", minilm.embed,
                          embedding_model=minilm.model_name, bootstrap_samples=100)
    assert result.report_uri == "s3://doc2slm-tests/report-run/report.html"
    assert sorted(storage.list_uris("s3://doc2slm-tests/report-run/")) == sorted(result.files.values())
    assert load_metrics("s3://doc2slm-tests/report-run")["counts"]["total"] == len(facts)
    with Image.open(io.BytesIO(storage.read_bytes(result.files["similarity_hist.png"]))) as image:
        assert image.size == figure_size_px(1)


def test_floor_is_the_cosine_against_other_questions_references(report: ReportResult, minilm: SentenceEncoder,
                                                                  facts: list[tuple[str, str, str, str]]) -> None:
    data = report.metrics["sets"]["eval_heldout_questions"]
    floor = data["floor"]
    # Right answers score far above what they score against other questions' references.
    assert 0.0 < floor["tuned"] < data["systems"]["tuned"]["cosine"]["mean"] - 0.2
    from doc2slm_scoring.report.scored import mismatched_floor

    references = [r for _, r, _, _ in facts]
    tuned = [t for _, _, _, t in facts]
    vectors = np.asarray(minilm.embed(references + tuned), dtype=np.float64)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    n = len(facts)
    cosines = vectors[n:] @ vectors[:n].T
    expected = cosines[~np.eye(n, dtype=bool)].mean()
    assert floor["tuned"] == pytest.approx(float(expected), abs=1e-3)
    assert mismatched_floor([], minilm.embed) is None


def test_the_report_says_in_plain_words_when_the_tuned_model_is_worse(
        tmp_path: Path, minilm: SentenceEncoder, facts: list[tuple[str, str, str, str]]) -> None:
    swapped = [(q, r, t, b) for q, r, b, t in facts]  # the "tuned" answers are the wrong ones now
    answers = [{"set": "eval_heldout_questions", "question": q, "reference": r, "base_answer": b,
                "tuned_answer": t} for q, r, b, t in swapped]
    result = build_report(answers, tmp_path.as_uri(), minilm.embed, embedding_model="all-MiniLM-L6-v2",
                          bootstrap_samples=200)
    markdown = (tmp_path / "report.md").read_text()
    assert "The tuned model answers these questions worse than the untuned base model" in markdown
    assert "floor of the cosine" in markdown
    assert f"Only {len(facts)} questions in eval_heldout_questions, fewer than the 50" in markdown
    assert result.metrics["sets"]["eval_heldout_questions"]["tuned_vs_base"]["cosine"]["mean_difference"] < 0
