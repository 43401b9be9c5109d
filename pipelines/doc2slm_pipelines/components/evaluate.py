"""KFP component: base vs tuned answers on the held-out sets -> report/ (built by ScoringService), KFP
Metrics and the report itself as Markdown and HTML visualizations in the run's UI."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Markdown, Metrics, Output

from doc2slm_pipelines.components.images import PIPELINES_GPU_IMAGE


@dsl.component(base_image=PIPELINES_GPU_IMAGE, install_kfp_package=False)
def evaluate(
    eval_heldout_questions_uri: str,
    eval_heldout_docs_uri: str,
    eval_seen_uri: str,
    adapter_uri: str,
    work_uri: str,
    scoring_address: str,
    base_model: str,
    max_eval_questions: int,
    max_new_tokens: int,
    metrics: Output[Metrics],
    report_markdown: Output[Markdown],
    report_html: Output[HTML],
) -> NamedTuple("EvaluateOutputs", [("report_uri", str), ("questions", int)]):  # type: ignore[valid-type]
    """Answer the held-out sets with the base and the tuned model, and have ScoringService build the report.

    Args:
        eval_heldout_questions_uri: Trained facts asked in words never trained on.
        eval_heldout_docs_uri: Questions about documents held back whole (may be empty).
        eval_seen_uri: A sample of train pairs, the memorisation ceiling (may be empty).
        adapter_uri: The fine-tuned adapter.
        work_uri: The run's prefix; answers.jsonl and report/ are written under it.
        scoring_address: HOST:PORT of ScoringService (builds the report, embedding through EmbeddingService).
        base_model: The base model the adapter was trained on (as in the finetune step).
        max_eval_questions: Most questions answered, taken from every set in turn.
        max_new_tokens: Longest answer generated, in tokens.

    Returns:
        metrics: The report's metrics per set and system.
        report_markdown: The report as Markdown.
        report_html: The report as HTML.
        report_uri: The report's HTML file.
        questions: Questions answered.
    """
    from collections import namedtuple

    from doc2slm_common import storage
    from doc2slm_scoring.kfp_metrics import flatten_metrics

    from doc2slm_pipelines.steps.artifacts import publish_file
    from doc2slm_pipelines.steps.evaluate import evaluate_adapter

    set_uris = {"eval_heldout_questions": eval_heldout_questions_uri, "eval_heldout_docs": eval_heldout_docs_uri,
                "eval_seen": eval_seen_uri}
    outcome = evaluate_adapter(set_uris, adapter_uri, work_uri, scoring_address, base_model=base_model,
                               max_questions=max_eval_questions, max_new_tokens=max_new_tokens)
    for name, value in flatten_metrics(outcome.metrics).items():
        metrics.log_metric(name, value)
    publish_file(storage.join(outcome.report_prefix, "report.md"), report_markdown)
    publish_file(outcome.report_uri, report_html)
    outputs = namedtuple("outputs", ["report_uri", "questions"])
    return outputs(outcome.report_uri, outcome.questions)
