"""The run plan printed before the long work, the step lines, and the quality benchmark's own judges."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from doc2slm_cli.step_watch import StepWatch
from doc2slm_pipelines.bench_engines import spread
from doc2slm_pipelines.bench_pooled import (
    merge_replicates,
    pooled_figures,
    pooled_sets,
    read_sets,
    stratified_interval,
)
from doc2slm_pipelines.bench_quality import (
    faq_questions,
    looks_like_contents_or_index,
    split_flags,
    token_stats,
    verdicts,
)
from doc2slm_pipelines.bench_quality import main as bench_quality_main
from doc2slm_pipelines.local import LocalRunOptions, local_arguments
from doc2slm_pipelines.run_plan import plan_run


def arguments(**changes: object) -> dict[str, object]:
    options = LocalRunOptions(**changes)  # type: ignore[arg-type]
    return local_arguments("/tmp/docs", "/tmp/work", options)


def test_the_plan_grows_with_chunks_and_wordings_and_names_its_figures() -> None:
    small, large = plan_run(10, arguments()), plan_run(100, arguments())
    assert large.teacher_calls > 9 * small.teacher_calls and large.training_tokens > 9 * small.training_tokens
    one_wording = plan_run(100, arguments(questions_per_answer=1))
    assert one_wording.teacher_calls < large.teacher_calls and one_wording.training_pairs < large.training_pairs
    text = "\n".join(large.lines(local_teacher=True))
    assert "100 chunks" in text and f"{large.teacher_calls} calls" in text and "min" in text


def test_the_plan_counts_the_question_contrast_copy() -> None:
    plain = arguments()
    contrasted = dict(plain, finetune_config=json.dumps(json.loads(str(plain["finetune_config"]))
                                                       | {"contrast_weight": 1.0}))
    before, after = plan_run(100, plain), plan_run(100, contrasted)
    assert after.training_pairs == before.training_pairs and after.teacher_calls == before.teacher_calls
    assert after.training_tokens > 1.4 * before.training_tokens
    assert after.training_minutes > before.training_minutes


def test_the_plan_follows_the_engine_the_teacher_and_answering_run_on() -> None:
    slow, fast = plan_run(100, arguments(), engine="transformers"), plan_run(100, arguments(), engine="onnx")
    assert fast.teacher_calls == slow.teacher_calls and fast.training_minutes == slow.training_minutes
    assert fast.teacher_minutes * 5 < slow.teacher_minutes and fast.answering_minutes * 4 < slow.answering_minutes


def test_step_watch_reports_only_cards_written_after_it_started(tmp_path: Path) -> None:
    old = tmp_path / "generation_card.json"
    old.write_text(json.dumps({"pairs": 1}))
    past = time.time() - 60
    os.utime(old, (past, past))
    lines: list[str] = []
    watch = StepWatch(tmp_path, lines.append, lambda chunks: [f"plan for {chunks}"])
    watch._since = watch._last = time.time() - 1
    (tmp_path / "extraction_card.json").write_text(json.dumps({"documents": 3, "documents_failed": 0,
                                                               "chunks": 72, "chunks_extracted": 613}))
    watch.poll()
    watch.poll()
    assert len(lines) == 2 and lines[1] == "plan for 72"
    assert lines[0].startswith("extract done: 3 documents (0 failed), 72 of 613 chunks used (0.0 min)")
    (tmp_path / "deploy_card.json").write_text(json.dumps({"published": False, "reason": "worse than its base"}))
    watch.poll()
    assert lines[2].startswith("deploy: not published (worse than its base)")


def test_the_benchmark_tells_contents_and_glued_text_from_prose() -> None:
    contents = "1.1 Legalese . . . . . . . . . . 1 1.2 Obtaining this document . . . . . . . . . 2"
    index = "attach, 12, 40 \n data.frame, 7 \n detach, 13 \n library, 3, 9"
    prose = ("R is a system for statistical computation and graphics. It consists of a language plus a run-time "
             "environment with graphics, a debugger, access to certain system functions.")
    assert looks_like_contents_or_index(contents) and looks_like_contents_or_index(index)
    assert not looks_like_contents_or_index(prose)
    glued = token_stats("Thisdocumentgivesfrequentlyaskedquestions about it")
    assert glued["share_over_20"] == round(1 / 3, 4) and glued["mean_token_chars"] == 16.0


def test_the_benchmark_checks_each_target() -> None:
    figures = {"n": 64, "cosine_difference": 0.06, "cosine_difference_ci95": [0.01, 0.1],
               "base_token_f1": 0.2, "tuned_token_f1": 0.3}
    assert all(ok for _, ok in verdicts(figures, {**figures, "cosine_difference_ci95": [-0.1, 0.05]}))
    failing = dict(verdicts({**figures, "n": 20, "cosine_difference_ci95": [-0.01, 0.1]}, None))
    assert not failing["held-out questions n >= 50"] and not failing["its paired 95% interval above 0"]


def test_the_faqs_own_questions_are_read_with_the_paragraph_that_answers_them() -> None:
    text = ("2.14 What is R-Forge?\n\nR-Forge offers a central platform for the development of R packages.\n\n"
            "3 R and S\n\n3.1 What is S?\n\n3.2 What is S-Plus?\n\nS-Plus is a value-added version of S sold "
            "by TIBCO Software Inc.")
    found = faq_questions([{"doc_id": "d1", "text": text}, {"doc_id": "d1", "text": text}])
    assert [(q["question"], q["answer"]) for q in found] == [
        ("What is R-Forge?", "R-Forge offers a central platform for the development of R packages."),
        ("What is S-Plus?", "S-Plus is a value-added version of S sold by TIBCO Software Inc.")]


def test_the_run_configures_its_qagen_service_with_the_teacher_it_uses(tmp_path: Path) -> None:
    # QAGenService sends its key only to its configured teacher: the run's teacher must be that one.
    from doc2slm_pipelines.local_stack import LocalStack

    external = LocalStack(log_dir=tmp_path, start_teacher=False, external_teacher_base_url="https://llm.example/v1")
    assert external.service_env()["DOC2SLM_TEACHER_BASE_URL"] == "https://llm.example/v1"
    local = LocalStack(log_dir=tmp_path, teacher_port=18123)
    assert local.service_env()["DOC2SLM_TEACHER_BASE_URL"] == local.teacher_base_url
    assert ":18123/" in local.teacher_base_url


def test_the_run_configures_its_scoring_service_with_its_embedding_service(tmp_path: Path) -> None:
    # The evaluate step's report is built by scoring, which embeds through the run's embedding port.
    from doc2slm_common.contracts import EMBEDDING, SCORING
    from doc2slm_pipelines.local_stack import LocalStack

    moved = LocalStack(log_dir=tmp_path, ports={"embedding": 61053, "scoring": 61054}).services()
    assert moved.env_of(SCORING)["DOC2SLM_EMBEDDING_ADDRESS"] == "127.0.0.1:61053"
    assert "DOC2SLM_EMBEDDING_ADDRESS" not in moved.env_of(EMBEDDING)
    assert LocalStack(log_dir=tmp_path).services().env_of(SCORING)["DOC2SLM_EMBEDDING_ADDRESS"] == "127.0.0.1:50053"


def test_the_engine_benchmark_takes_chunks_from_the_whole_manual() -> None:
    """Not the first 60 chunks of 166 (a manual's first third), but 60 from its first to its last part."""
    chosen = spread(list(range(166)), 60)
    assert len(chosen) == len(set(chosen)) == 60
    assert chosen[0] == 0 and chosen[-1] >= 160
    assert spread([1, 2, 3], 60) == [1, 2, 3]


def test_the_users_engine_stands_and_a_bad_one_is_refused_before_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from doc2slm_common.errors import InvalidInput
    from doc2slm_pipelines.engine_choice import ENGINE_ENV, use_local_engine

    monkeypatch.setenv(ENGINE_ENV, "transformers")
    assert use_local_engine() == "transformers"
    monkeypatch.setenv(ENGINE_ENV, "vllm")
    with pytest.raises(InvalidInput, match="DOC2SLM_ENGINE"):
        use_local_engine()
    with pytest.raises(InvalidInput, match="vllm"):
        plan_run(10, arguments())


def _write_report(path: Path, base: list[float], tuned: list[float], docs_tuned: list[float] = ()) -> Path:
    """pairs.csv with held-out questions, a seen question and, given docs_tuned, held-out document questions
    whose base scores 0.5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ["set", "question", "reference", "base_cosine", "tuned_cosine", "base_token_f1", "tuned_token_f1"]
    rows = [",".join(columns)] + [f"eval_heldout_questions,q{i},r{i},{b},{t},0.2,{0.2 + (t - b)}"
                                  for i, (b, t) in enumerate(zip(base, tuned, strict=True))]
    rows += [f"eval_heldout_docs,d{i},r{i},0.5,{t},0.2,0.2" for i, t in enumerate(docs_tuned)]
    rows.append("eval_seen,seen,r,0.1,0.9,0.1,0.9")  # another set: never pooled with the held-out questions
    path.write_text("\n".join(rows) + "\n")
    return path


def test_splits_pool_by_question_and_the_interval_narrows_with_more_splits(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    reports = {}
    for seed in (13, 7, 21):
        base = rng.uniform(0.3, 0.6, 60)
        tuned = base + 0.05 + rng.normal(0, 0.1, 60)
        reports[seed] = read_sets(_write_report(tmp_path / str(seed) / "pairs.csv", list(base), list(tuned)))
    pooled = pooled_figures(reports, "eval_heldout_questions")
    one = pooled_figures({13: reports[13]}, "eval_heldout_questions")
    assert pooled is not None and one is not None
    assert pooled["n"] == 180 and one["n"] == 60 and set(pooled["per_split"]) == {"13", "7", "21"}
    expected = np.mean([s["cosine_difference"] for s in pooled["per_split"].values()])
    assert pooled["cosine_difference"] == pytest.approx(expected, abs=1e-4)  # equal sizes: the mean of means
    low, high = pooled["cosine_difference_ci95"]
    assert low < pooled["cosine_difference"] < high
    assert high - low < 0.7 * (one["cosine_difference_ci95"][1] - one["cosine_difference_ci95"][0])
    assert pooled_figures(reports, "eval_heldout_docs") is None


def test_training_replicates_average_each_questions_tuned_scores(tmp_path: Path) -> None:
    base = [0.4, 0.5, 0.6]
    first = read_sets(_write_report(tmp_path / "a" / "pairs.csv", base, [0.5, 0.5, 0.9]))
    second = read_sets(_write_report(tmp_path / "b" / "pairs.csv", base[:2], [0.7, 0.3]))  # q2 missing here
    merged = merge_replicates([first, second])
    rows = merged["eval_heldout_questions"]
    assert [r["question"] for r in rows] == ["q0", "q1"]  # only questions every run answered
    assert [float(r["tuned_cosine"]) for r in rows] == pytest.approx([0.6, 0.4])
    assert [float(r["base_cosine"]) for r in rows] == pytest.approx([0.4, 0.5])
    assert [float(r["tuned_token_f1"]) for r in rows] == pytest.approx([0.4, 0.1])
    assert merge_replicates([first]) is first


def test_each_training_seed_alone_is_pooled_over_the_splits(tmp_path: Path) -> None:
    runs = {}
    for seed, (gain_a, gain_b) in {0: (0.1, 0.0), 7: (0.3, 0.2)}.items():
        runs[seed] = [_write_report(tmp_path / f"{seed}-{t}" / "report" / "pairs.csv", [0.5] * 4,
                                    [0.5 + gain] * 4).parent.parent for t, gain in (("a", gain_a), ("b", gain_b))]
    pooled = pooled_sets(runs, ["a", "b"])
    assert pooled["per_train_seed"] == {"a": pytest.approx(0.2), "b": pytest.approx(0.1)}
    both = pooled["heldout_questions"]
    assert both is not None and both["cosine_difference"] == pytest.approx(0.15) and both["n"] == 8
    assert "per_train_seed" not in pooled_sets(runs)


def test_the_gain_beyond_an_untrained_document_is_pooled_with_each_split_resampled_within_itself(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    runs = {}
    # Split 0 gains more everywhere than split 7; within each, trained facts gain 0.05 more than the untrained
    # document. Only the within-split spread (0.01) may widen the interval.
    for seed, docs_gain in {0: 0.08, 7: 0.0}.items():
        out = tmp_path / str(seed)
        _write_report(out / "report" / "pairs.csv", [0.5] * 30, list(0.55 + docs_gain + rng.normal(0, 0.01, 30)),
                      docs_tuned=list(0.5 + docs_gain + rng.normal(0, 0.01, 40)))
        runs[seed] = [out]
    pooled = pooled_sets(runs)
    facts = pooled["facts_beyond_register"]
    assert facts["heldout_questions_n"] == 60 and facts["heldout_docs_n"] == 80
    assert facts["difference"] == pytest.approx(0.05, abs=0.005)
    low, high = facts["difference_ci95"]
    assert low < facts["difference"] < high and high - low < 0.01
    assert facts["verdict"] == "facts beyond register"
    assert pooled["human_facts_beyond_register"] is None  # no people's questions in these runs
    one_set = {0: [_write_report(tmp_path / "q" / "report" / "pairs.csv", [0.5] * 3, [0.6] * 3).parent.parent]}
    assert pooled_sets(one_set)["facts_beyond_register"] is None


def test_a_training_seed_reaches_the_run_and_its_fine_tune() -> None:
    flags = split_flags(7, ["--epochs", "1"], train_seed=99)
    assert flags[flags.index("--train-seed") + 1] == "99" and flags[-2:] == ["--epochs", "1"]
    assert "--train-seed" not in split_flags(7, [])
    assert json.loads(LocalRunOptions(train_seed=99).finetune_config())["seed"] == 99
    assert "seed" not in json.loads(LocalRunOptions().finetune_config())


def test_the_stratified_interval_resamples_each_split_within_itself() -> None:
    # Two splits with no spread inside: every resample has the same mean, whatever the split sizes.
    low, high = stratified_interval([np.full(10, 0.1), np.full(30, -0.1)])
    assert low == pytest.approx(-0.05) and high == pytest.approx(-0.05)
    with pytest.raises(ValueError):
        stratified_interval([np.array([])])


@pytest.mark.parametrize("seeds", ["7,7", "-1", "a,b", ""])
def test_the_benchmark_refuses_split_seeds_it_cannot_pool_before_it_runs_anything(seeds: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        bench_quality_main(["--seeds", seeds, "--out", "/nonexistent/never-written"])
    assert stopped.value.code == 2


@pytest.mark.parametrize("seeds", ["5,5", "-3", "x"])
def test_the_benchmark_refuses_bad_training_seeds_before_it_runs_anything(seeds: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        bench_quality_main(["--train-seeds", seeds, "--out", "/nonexistent/never-written"])
    assert stopped.value.code == 2
