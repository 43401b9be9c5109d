"""The report's words and tables, computed once from metrics.json for both the Markdown and the HTML.

Plain text only (no markup): each renderer formats and escapes it. The lead paragraph is about the
held-out questions; seen questions are named as the memorisation ceiling and never as the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doc2slm_scoring.report import facts_or_register
from doc2slm_scoring.report.records import HELDOUT_QUESTIONS, SEEN, SYSTEMS
from doc2slm_scoring.statistics import MIN_QUESTIONS_FOR_VERDICT

VERDICT_PHRASES = {
    "better": "the tuned model is better than the base model (the interval excludes 0)",
    "worse": "the tuned model is worse than the base model (the whole interval is below 0)",
    "no clear difference": "no clear difference from the base model (the interval includes 0)",
    "too few questions": f"too few questions to call a difference (fewer than {MIN_QUESTIONS_FOR_VERDICT})",
}
# Verdicts that claim nothing, so there is nothing for the lexical scores to confirm.
_NEUTRAL_VERDICTS = {"no clear difference", "too few questions"}
# Below this many questions the headline set is called small in so many words: a 95% interval on fewer
# questions is wide enough to hide a difference of 0.05 in mean cosine either way.
RECOMMENDED_QUESTIONS = 50


def pct(share: float) -> str:
    return f"{100.0 * share:.1f}%"


def ci(interval: list[float]) -> str:
    return f"{interval[0]:.3f} to {interval[1]:.3f}"


def headline_paragraphs(metrics: Mapping[str, Any]) -> list[str]:
    head = metrics["headline_set"]
    if head is None:
        return [
            "No held-out questions were evaluated: the only set holds questions the model was trained on. "
            "Those figures measure memorisation (a ceiling), not how the model answers new questions, so "
            "this report has no result to lead with."
        ]
    data = metrics["sets"][head]
    base, tuned = data["systems"]["base"], data["systems"]["tuned"]
    diff = data["tuned_vs_base"]["cosine"]
    acceptable = metrics["thresholds"]["acceptable"]
    paragraphs = []
    if diff["mean_difference"] < 0:
        # Said first and in plain words: a tuned model that answers worse than the model it started from
        # must not read as a result (the deploy step's quality gate keeps it from being served).
        certainty = ("the whole interval is below 0" if diff["verdict"] == "worse"
                     else "on average; the interval includes 0")
        paragraphs.append(f"The tuned model answers these questions worse than the untuned base model "
                          f"({diff['mean_difference']:+.3f} mean cosine, {certainty}).")
    if head != HELDOUT_QUESTIONS:
        paragraphs.append(f"No held-out questions on trained documents in this file; leading with {head}.")
    if data["n"] < RECOMMENDED_QUESTIONS:
        paragraphs.append(f"Only {data['n']} questions in {head}, fewer than the {RECOMMENDED_QUESTIONS} this "
                          "verdict needs to be firm: read the interval below, not the mean; a larger corpus "
                          "or more chunks gives more.")
    paragraphs += [
        f"Result on {head} ({data['role']}), {data['n']} questions: tuned mean cosine "
        f"{tuned['cosine']['mean']:.3f} (95% CI {ci(tuned['cosine']['mean_ci95'])}) against base "
        f"{base['cosine']['mean']:.3f} (95% CI {ci(base['cosine']['mean_ci95'])}).",
        f"Tuned minus base: {diff['mean_difference']:+.3f} (95% CI {ci(diff['difference_ci95'])}): "
        f"{VERDICT_PHRASES[diff['verdict']]}. The tuned model scored higher on {pct(diff['win_rate'])} of "
        f"the questions, equal on {pct(diff['tie_rate'])}, lower on {pct(diff['loss_rate'])}.",
        f"Answers at or above the acceptable threshold ({acceptable:g}): tuned "
        f"{pct(tuned['cosine']['share_acceptable'])}, base {pct(base['cosine']['share_acceptable'])} "
        "(the case study reported over 70%, measured on questions it had trained on).",
        _lexical_sentence(data),
    ]
    floor = data.get("floor")
    if floor:
        paragraphs.append(
            f"The floor of the cosine on this set (each answer against the reference answers of the other "
            f"questions): base {floor['base']:.3f}, tuned {floor['tuned']:.3f}. A mean near its floor says "
            "the answers are about the subject, not that they answer the question.")
    return paragraphs


FACTS_PHRASES = {
    facts_or_register.FACTS: "the interval is above 0, so the model learnt some of the facts, beyond the documents' "
                             "register",
    facts_or_register.REGISTER_ONLY: "the interval includes 0, so this run does not show that the model learnt the "
                                     "facts themselves; its gain may be the documents' register",
    facts_or_register.BELOW_REGISTER: "the untrained document gained more (the whole interval is below 0); no sign "
                                      "that the facts were learnt",
    facts_or_register.TOO_FEW: f"too few questions in one of the two sets to tell (fewer than "
                               f"{MIN_QUESTIONS_FOR_VERDICT})",
}


def facts_paragraph(metrics: Mapping[str, Any]) -> str | None:
    """What the held-out-question gain is made of; None where the run had no held-out document."""
    comparison = metrics.get("facts_beyond_register")
    if not comparison:
        return None
    return (
        f"Facts or register: on {comparison['heldout_docs_n']} questions about a document it never trained on, the "
        f"tuned model gains {comparison['heldout_docs_gain']:+.3f} mean cosine over the base model. That part "
        f"is the documents' register (how they word answers), not their facts. On the "
        f"{comparison['heldout_questions_n']} held-out questions about trained documents it gains "
        f"{comparison['heldout_questions_gain']:+.3f}. The difference, {comparison['difference']:+.3f} (95% CI "
        f"{ci(comparison['difference_ci95'])}), is what training on the facts added: "
        f"{FACTS_PHRASES[comparison['verdict']]}. One held-out document is a rough control: it may be easier or "
        "harder to answer than the trained ones."
        + (" The untrained document is answered worse than by the base model, so part of the difference is harm "
           "to everything else, not knowledge." if comparison["heldout_docs_gain"] < 0 else "")
    )


def _lexical_sentence(data: Mapping[str, Any]) -> str:
    base, tuned = data["systems"]["base"], data["systems"]["tuned"]
    comparison = data["tuned_vs_base"]
    sentence = (
        f"Word overlap with the reference (the cosine alone is lenient): token F1 tuned "
        f"{tuned['token_f1']['mean']:.3f} vs base {base['token_f1']['mean']:.3f}, ROUGE-L tuned "
        f"{tuned['rouge_l']['mean']:.3f} vs base {base['rouge_l']['mean']:.3f}"
    )
    cosine_verdict = comparison["cosine"]["verdict"]
    lexical_verdicts = {comparison["token_f1"]["verdict"], comparison["rouge_l"]["verdict"]}
    if cosine_verdict not in _NEUTRAL_VERDICTS and cosine_verdict not in lexical_verdicts:
        return sentence + "; the word-overlap scores do not confirm the cosine verdict, so read it with care."
    return sentence + "."


def seen_paragraph(metrics: Mapping[str, Any]) -> str | None:
    if SEEN not in metrics["sets"]:
        return None
    data = metrics["sets"][SEEN]
    tuned, base = data["systems"]["tuned"]["cosine"], data["systems"]["base"]["cosine"]
    return (
        f"Seen questions ({data['n']}, trained on): tuned mean cosine {tuned['mean']:.3f}, base "
        f"{base['mean']:.3f}, tuned acceptable {pct(tuned['share_acceptable'])}. This is the memorisation "
        "ceiling (the only kind of figure the case study reported); it is not the result."
    )


def method_items(metrics: Mapping[str, Any]) -> list[str]:
    thresholds = metrics["thresholds"]
    per_set = ", ".join(f"{name} {n}" for name, n in metrics["counts"]["per_set"].items())
    return [
        f"Embedding model: {metrics['embedding_model']}; score: cosine between the answer's and the "
        "reference answer's embeddings.",
        f"Buckets: acceptable at or above {thresholds['acceptable']:g}, borderline at or above "
        f"{thresholds['borderline']:g}, unacceptable below.",
        f"Questions: {metrics['counts']['total']} in all; per set: {per_set}.",
        f"Intervals: percentile bootstrap of the mean, {metrics['bootstrap_samples']} resamples, seed "
        f"{metrics['seed']}; tuned vs base is paired question by question.",
        "Token F1 and ROUGE-L: word overlap with the reference, shown because the cosine is lenient.",
        f"An empty answer scores {metrics['empty_answer_score']:g} on every measure.",
    ]


SYSTEM_HEADER = ["set", "system", "n", "mean cosine (95% CI)", "median", "p10", "p90", "acceptable",
                 "borderline", "unacceptable", "token F1", "ROUGE-L", "empty"]


def system_rows(metrics: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name in metrics["set_order"]:
        data = metrics["sets"][name]
        for system in SYSTEMS:
            values = data["systems"][system]
            cosine = values["cosine"]
            rows.append([
                name, system, str(data["n"]), f"{cosine['mean']:.3f} ({ci(cosine['mean_ci95'])})",
                f"{cosine['median']:.3f}", f"{cosine['p10']:.3f}", f"{cosine['p90']:.3f}",
                f"{cosine['bucket_counts']['acceptable']} ({pct(cosine['share_acceptable'])})",
                f"{cosine['bucket_counts']['borderline']} ({pct(cosine['share_borderline'])})",
                f"{cosine['bucket_counts']['unacceptable']} ({pct(cosine['share_unacceptable'])})",
                f"{values['token_f1']['mean']:.3f}", f"{values['rouge_l']['mean']:.3f}",
                str(values["empty_answers"]),
            ])
    return rows


COMPARISON_HEADER = ["set", "n", "cosine: tuned - base (95% CI)", "wins", "ties", "losses",
                     "Wilcoxon p", "token F1 diff", "ROUGE-L diff", "verdict (cosine)"]


def comparison_rows(metrics: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name in metrics["set_order"]:
        data = metrics["sets"][name]
        cosine = data["tuned_vs_base"]["cosine"]
        f1, rouge = data["tuned_vs_base"]["token_f1"], data["tuned_vs_base"]["rouge_l"]
        verdict = cosine["verdict"] if data["is_result"] else f"{cosine['verdict']} (seen: not the result)"
        rows.append([
            name, str(data["n"]), f"{cosine['mean_difference']:+.3f} ({ci(cosine['difference_ci95'])})",
            pct(cosine["win_rate"]), pct(cosine["tie_rate"]), pct(cosine["loss_rate"]),
            f"{cosine['wilcoxon_p']:.3g}", f"{f1['mean_difference']:+.3f}",
            f"{rouge['mean_difference']:+.3f}",
            verdict,
        ])
    return rows
