"""What a run will do and roughly what it will cost, said once the chunks are known and before the long work.

The figures are rates measured on the 2-core development machine with the local default (SmolLM2-135M as
teacher and student, README "Figures measured"); a faster machine or a remote teacher is quicker, so the
plan is an upper bound to plan a coffee by, not a promise. On a GPU the training time comes from the
fine-tune step's own estimate (training_card.json "estimate"), which the step logs with its dollar cost.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from doc2slm_pipelines.engine_choice import checked_engine, configured_engine

# Teacher seconds per one-question request with 8 requests in flight against the local SmolLM2 teacher
# (2 cores; `make bench-quality` on transformers, `make bench-engines` on onnx: 628 calls in 94 s).
LOCAL_TEACHER_S_PER_CALL = {"transformers": 1.3, "onnx": 0.15}
# LoRA training on 2 cores, SmolLM2-135M float32 (README: 124-140 tokens/s).
CPU_TRAIN_TOKENS_PER_S = 130.0
# Greedy answering, base and tuned, per generated token (transformers at batch 8, serving bench: ~35-75
# tokens/s; onnx float32 at 32 rows, `make bench-engines`: ~6,600 tokens in 22-28 s). The validation slice is
# judged inside the trainer, on transformers whatever the engine.
CPU_ANSWER_TOKENS_PER_S = {"transformers": 40.0, "onnx": 200.0}
# Shares measured on real manuals: an answer-first question that survives the filters, tokens of one
# training pair in the chat template, of one document-text example.
KEPT_QUESTION_SHARE = 0.6
TOKENS_PER_PAIR = 80
TOKENS_PER_CHUNK_EXAMPLE = 256
# The split's default share of held-out questions set aside as the validation slice.
VALIDATION_SHARE = 0.25


@dataclass(frozen=True)
class RunPlan:
    chunks: int
    teacher_calls: int
    training_pairs: int
    training_tokens: int
    eval_questions: int
    teacher_minutes: float
    training_minutes: float
    answering_minutes: float

    def lines(self, local_teacher: bool) -> list[str]:
        teacher = "the local teacher" if local_teacher else "the teacher"
        return [
            f"plan: {self.chunks} chunks -> ~{self.teacher_calls} calls to {teacher} (~{self.teacher_minutes:.0f} min"
            f"{'' if local_teacher else ' at the local rate; a remote teacher is usually faster'})",
            f"      ~{self.training_pairs} training pairs, up to ~{self.training_tokens:,} training tokens "
            f"(~{self.training_minutes:.0f} min on this CPU at most; the validation slice may stop it sooner)",
            f"      ~{self.eval_questions} questions answered by base and tuned (~{self.answering_minutes:.0f} min)",
        ]


def plan_run(chunks: int, arguments: dict[str, Any], engine: str | None = None) -> RunPlan:
    """The plan for `chunks` chunks under the pipeline arguments of a local run, whose local teacher and
    answering step run on `engine` (default: DOC2SLM_ENGINE, else transformers)."""
    engine = checked_engine(engine) if engine else configured_engine()
    config = json.loads(arguments.get("finetune_config") or "{}")
    answers = chunks * int(arguments.get("pairs_per_chunk") or 3)
    answer_first = (arguments.get("generation_mode") or "answer_first") == "answer_first"
    wordings = int(arguments.get("questions_per_answer") or 3) if answer_first else 1
    share = float(arguments.get("paraphrase_share", -1.0))
    twins = 0.5 if share < 0 else share
    # qa mode: one request per chunk, plus two per rewritten view (summary, facts) by default.
    calls = round(chunks * 5 if not answer_first else answers * (wordings + twins * 1.3))
    heldout_docs = float(arguments.get("heldout_docs_share", 0.2))
    pairs = round(answers * wordings * KEPT_QUESTION_SHARE * (1.0 - heldout_docs))
    mix = float(config.get("mix_chunks_share", 0.25))
    chunk_examples = round(mix / (1.0 - mix) * pairs) if mix < 1 else 0
    epochs = float(config.get("epochs", 3.0))
    # The question contrast adds each answer again after a wrong question: about one more pair per pair.
    pair_tokens = TOKENS_PER_PAIR * (2 if float(config.get("contrast_weight", 0.0)) > 0 else 1)
    tokens = round(epochs * (pairs * pair_tokens + min(chunk_examples, chunks) * TOKENS_PER_CHUNK_EXAMPLE))
    questions = min(int(arguments.get("max_eval_questions") or 200) or 10**9,
                    round(answers * KEPT_QUESTION_SHARE * (twins + 0.2)))
    new_tokens = int(arguments.get("max_new_tokens") or 64)
    # Judging the validation slice by its answers: once before training and after every epoch.
    judged = 0 if config.get("validation_metric") == "loss" else min(
        int(config.get("validation_max_questions", 32)), round(VALIDATION_SHARE * questions))
    judging_tokens = (math.ceil(epochs) + 1) * judged * int(config.get("validation_max_new_tokens", 64))
    return RunPlan(chunks=chunks, teacher_calls=calls, training_pairs=pairs, training_tokens=tokens,
                   eval_questions=questions, teacher_minutes=calls * LOCAL_TEACHER_S_PER_CALL[engine] / 60,
                   training_minutes=(tokens / CPU_TRAIN_TOKENS_PER_S
                                     + judging_tokens / CPU_ANSWER_TOKENS_PER_S["transformers"]) / 60,
                   answering_minutes=2 * questions * new_tokens / CPU_ANSWER_TOKENS_PER_S[engine] / 60)
