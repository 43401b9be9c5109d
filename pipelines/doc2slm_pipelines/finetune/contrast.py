"""Question contrast: an answer should be likelier after its own question than after another pair's.

Why: on real manuals the plain answer loss taught the 135M student the answers' sentences as text, not as
answers to their questions. After another held-out question its loss on an answer fell as far as after
the right one (docs/knowledge.md, "Facts or register"), and the right question was worth less to the
tuned model than to its base. This objective pays for the way from a question to its answer: each QA
example also carries its answer after a wrong question (another pair of the same document, with another
answer), and the loss rises while the answer's mean log-likelihood per token after the right question
does not exceed that after the wrong one by `contrast_margin` nats:

    loss = answer loss + contrast_weight x mean over pairs of softplus(margin - (right - wrong))

The same difference, measured on the validation slice, is the "question's value" in the training card:
how much the model's answer depends on what was asked.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .data import IGNORE_INDEX, DataCard, TokenizedExample, format_prompt

SLOTS = "answer_slots"  # the micro-batch tensor naming, per token, the answer copy it belongs to
_DRAWS = 8  # random draws for a wrong question before a scan of the whole pool


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def wrong_question_partners(answers: Sequence[str], doc_ids: Sequence[str], seed: int) -> list[int | None]:
    """For each pair, another pair whose answer differs (from the same document where one exists), or None.

    Answer-first generation gives one answer several questions; a partner with the same answer would
    teach the model that a rewording of the right question is wrong, so answers must differ.
    """
    rng = random.Random(seed)
    by_doc: dict[str, list[int]] = defaultdict(list)
    for index, doc in enumerate(doc_ids):
        by_doc[doc].append(index)
    keys = [_normalised(a) for a in answers]
    everyone = list(range(len(answers)))
    partners: list[int | None] = []
    for index, doc in enumerate(doc_ids):
        pool = by_doc[doc] if any(keys[j] != keys[index] for j in by_doc[doc]) else everyone
        found = next((j for j in (rng.choice(pool) for _ in range(_DRAWS)) if keys[j] != keys[index]), None)
        if found is None:
            found = next((j for j in pool if keys[j] != keys[index]), None)
        partners.append(found)
    return partners


def answer_length(example: TokenizedExample) -> int:
    """Answer tokens of the example's first (right-question) copy."""
    end = example.contrast_start or len(example.labels)
    return sum(1 for label in example.labels[:end] if label != IGNORE_INDEX)


def with_wrong_questions(tokenizer: Any, examples: Sequence[TokenizedExample], records: Sequence[dict[str, Any]],
                         max_length: int, seed: int, card: DataCard) -> list[TokenizedExample]:
    """The examples, each QA one (where it fits in max_length) as a new example that also holds its answer
    after a wrong question; the inputs are left as they are. The card counts the copies and the tokens."""
    qa = [e for e in examples if e.kind == "qa" and e.record >= 0]
    partners = dict(zip(map(id, qa), wrong_question_partners([str(records[e.record]["answer"]) for e in qa],
                                                             [str(records[e.record].get("doc_id", "")) for e in qa],
                                                             seed), strict=True))
    result: list[TokenizedExample] = []
    for example in examples:
        partner = partners.get(id(example))
        copy = None if partner is None or _was_truncated(tokenizer, example) else _with_copy(
            tokenizer, example, str(records[qa[partner].record]["question"]), max_length)
        card.contrast_pairs += copy is not None
        result.append(copy or example)
    card.tokens = sum(len(e.input_ids) for e in result)
    return result


def _with_copy(tokenizer: Any, example: TokenizedExample, wrong_question: str,
               max_length: int) -> TokenizedExample | None:
    wrong = tokenizer(format_prompt(tokenizer, wrong_question.strip()), add_special_tokens=False)["input_ids"]
    answer = example.input_ids[len(example.input_ids) - answer_length(example):]
    if len(example.input_ids) + len(wrong) + len(answer) > max_length:
        return None
    return dataclasses.replace(example, input_ids=[*example.input_ids, *wrong, *answer],
                               labels=[*example.labels, *[IGNORE_INDEX] * (len(wrong) + len(answer))],
                               contrast_start=len(example.input_ids))


def _was_truncated(tokenizer: Any, example: TokenizedExample) -> bool:
    # A cut answer ends without its end-of-turn token; contrasting half an answer teaches nothing useful.
    eos = tokenizer.eos_token_id
    return eos is not None and example.labels[-1] != eos


def answer_slots(examples: Sequence[TokenizedExample], rows: list[list[int]], width: int) -> tuple[torch.Tensor, int]:
    """(rows x width) tensor: 2k at the right-question answer tokens of the micro-batch's k-th contrast
    example, 2k+1 at its wrong-question copy, -1 elsewhere; and the number of contrast examples."""
    slots = torch.full((len(rows), width), -1, dtype=torch.long)
    pairs = 0
    for r, row in enumerate(rows):
        cursor = 0
        for i in row:
            example = examples[i]
            if example.contrast_start:
                n = answer_length(example)
                right_end = cursor + example.contrast_start
                slots[r, right_end - n: right_end] = 2 * pairs
                slots[r, cursor + len(example.input_ids) - n: cursor + len(example.input_ids)] = 2 * pairs + 1
                pairs += 1
            cursor += len(example.input_ids)
    return slots, pairs


def answer_log_likelihoods(logits: torch.Tensor, input_ids: torch.Tensor, slots: torch.Tensor,
                           pairs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean log-likelihood per answer token after the right question and after the wrong one, per pair."""
    targets, where = input_ids[:, 1:], slots[:, 1:]  # the token at t is predicted by the logits at t - 1
    chosen = where >= 0
    token_lp = -F.cross_entropy(logits[:, :-1][chosen].float(), targets[chosen], reduction="none")
    index = where[chosen]
    sums = torch.zeros(2 * pairs, device=logits.device).index_add(0, index, token_lp)
    counts = torch.zeros(2 * pairs, device=logits.device).index_add(0, index, torch.ones_like(token_lp))
    means = sums / counts.clamp(min=1.0)
    return means[0::2], means[1::2]


def contrast_penalty(right: torch.Tensor, wrong: torch.Tensor, margin: float) -> torch.Tensor:
    """Summed over pairs: near 0 once the right question makes the answer `margin` nats/token likelier."""
    return F.softplus(margin - (right - wrong)).sum()


def contrast_losses(forward: Any, inputs: dict[str, torch.Tensor], pairs: int, step_label_tokens: int,
                    step_pairs: int, weight: float, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(answer loss, weighted contrast term) of one micro-batch with contrast examples, each divided by the
    whole step's count (label tokens, contrast examples) as the plain path's num_items_in_batch does."""
    slots = inputs.pop(SLOTS)
    # One forward gives both: transformers' own answer loss (the copies carry no labels) and the logits.
    output = forward(**inputs, num_items_in_batch=max(1, step_label_tokens), use_cache=False)
    right, wrong = answer_log_likelihoods(output.logits, inputs["input_ids"], slots, pairs)
    return output.loss, weight * contrast_penalty(right, wrong, margin) / max(1, step_pairs)


@torch.no_grad()
def question_value(model: Any, micro_batches: Sequence[dict[str, torch.Tensor]], pairs: Sequence[int],
                   device: torch.device) -> float:
    """Mean over contrast examples of (right - wrong) answer log-likelihood, nats per token."""
    total, count = 0.0, 0
    for tensors, n in zip(micro_batches, pairs, strict=True):
        if not n:
            continue
        inputs = {k: v.to(device) for k, v in tensors.items() if k not in (SLOTS, "labels")}
        logits = model(**inputs, use_cache=False).logits
        right, wrong = answer_log_likelihoods(logits, inputs["input_ids"], tensors[SLOTS].to(device), n)
        total += float((right - wrong).sum())
        count += n
    return total / count if count else float("nan")
