"""Turn QA pairs (and optionally chunk text) into token ids with labels for causal-LM training.

A pair becomes the tokenizer's own chat template (user: question, assistant: answer), so training sees
exactly the prompt that answering and serving will send. Loss falls on the answer tokens only: the prompt
positions carry the ignore label, because the model should learn to answer, not to write questions.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from doc2slm_common.errors import InvalidInput

IGNORE_INDEX = -100


@dataclass
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]
    kind: str  # "qa" or "chunk"
    # A question-contrast example (contrast.py) holds a second copy of its answer after another pair's
    # question from this offset on; 0: none. Positions restart there, so the copies never see each other.
    contrast_start: int = 0
    record: int = -1  # for "qa": the index of the training record it was made from


@dataclass
class DataCard:
    """What went into training, for training_card.json."""

    qa_pairs: int = 0
    chunk_examples: int = 0
    skipped_empty: int = 0
    skipped_prompt_too_long: int = 0
    truncated: int = 0
    contrast_pairs: int = 0  # QA examples that also carry their answer after a wrong question
    documents: int = 0
    tokens: int = 0
    label_tokens: int = 0
    doc_ids: list[str] = field(default_factory=list)


def prompt_messages(question: str) -> list[dict[str, str]]:
    """The chat the model is asked at training, answering and serving time (keep these identical)."""
    return [{"role": "user", "content": question}]


def _render(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False,
                                             add_generation_prompt=add_generation_prompt)
        return str(text)
    # A base tokenizer without a template: a plain, stable layout rather than a refusal.
    body = "".join(f"{m['role']}: {m['content']}\n" for m in messages)
    return body + ("assistant: " if add_generation_prompt else "")


def format_prompt(tokenizer: Any, question: str) -> str:
    """The text that precedes the answer; answering uses the same function."""
    return _render(tokenizer, prompt_messages(question), add_generation_prompt=True)


def tokenize_pair(tokenizer: Any, question: str, answer: str, max_length: int,
                  card: DataCard) -> TokenizedExample | None:
    prompt_text = format_prompt(tokenizer, question)
    full_text = _render(tokenizer, [*prompt_messages(question), {"role": "assistant", "content": answer}],
                        add_generation_prompt=False)
    # Tokenizing prompt and remainder separately keeps the label boundary exact even when a merge could
    # cross it; templates that rewrite the prompt part fall back to the plain concatenation.
    completion_text = full_text[len(prompt_text):] if full_text.startswith(prompt_text) else answer
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion_text, add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    if eos is not None and (not completion_ids or completion_ids[-1] != eos):
        completion_ids = [*completion_ids, eos]
    if len(prompt_ids) >= max_length:
        card.skipped_prompt_too_long += 1
        return None
    if len(prompt_ids) + len(completion_ids) > max_length:
        card.truncated += 1
        completion_ids = completion_ids[: max_length - len(prompt_ids)]
    ids = [*prompt_ids, *completion_ids]
    labels = [IGNORE_INDEX] * len(prompt_ids) + list(completion_ids)
    return TokenizedExample(ids, labels, "qa")


def tokenize_chunk(tokenizer: Any, text: str, max_length: int) -> list[TokenizedExample]:
    """A chunk's text as plain language modelling, cut into pieces of at most max_length tokens."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    pieces = [ids[i: i + max_length] for i in range(0, len(ids), max_length)]
    return [TokenizedExample(list(p), list(p), "chunk") for p in pieces if len(p) >= 2]


def build_examples(tokenizer: Any, pairs: Sequence[dict[str, Any]], max_length: int, *,
                   chunks: Iterable[dict[str, Any]] = (), mix_chunks_share: float = 0.0,
                   seed: int = 0) -> tuple[list[TokenizedExample], DataCard]:
    """QAPair records -> examples; chunk records mixed in at `mix_chunks_share` of the total."""
    card = DataCard()
    examples: list[TokenizedExample] = []
    doc_ids: set[str] = set()
    for index, record in enumerate(pairs):
        question, answer = record.get("question"), record.get("answer")
        if not isinstance(question, str) or not isinstance(answer, str):
            raise InvalidInput(f"training record {index} lacks string 'question' and 'answer' fields")
        if not question.strip() or not answer.strip():
            card.skipped_empty += 1
            continue
        example = tokenize_pair(tokenizer, question.strip(), answer.strip(), max_length, card)
        if example is not None:
            example.record = index
            examples.append(example)
            if record.get("doc_id"):
                doc_ids.add(str(record["doc_id"]))
    card.qa_pairs = len(examples)
    if not examples:
        raise InvalidInput("no usable training pair: every record was empty or its prompt exceeded "
                           f"max_length={max_length}")
    if mix_chunks_share > 0.0:
        examples.extend(_chunk_examples(tokenizer, chunks, doc_ids, max_length, mix_chunks_share,
                                        card.qa_pairs, seed))
    card.chunk_examples = len(examples) - card.qa_pairs
    card.documents = len(doc_ids)
    card.doc_ids = sorted(doc_ids)
    card.tokens = sum(len(e.input_ids) for e in examples)
    card.label_tokens = sum(sum(1 for t in e.labels if t != IGNORE_INDEX) for e in examples)
    return examples, card


def _chunk_examples(tokenizer: Any, chunks: Iterable[dict[str, Any]], train_doc_ids: set[str],
                    max_length: int, share: float, n_pairs: int, seed: int) -> list[TokenizedExample]:
    # Only chunks of documents that the training pairs come from: text of a held-out document must never
    # be trained on, or the held-out evaluation would measure memory instead of generalisation.
    pool: list[TokenizedExample] = []
    for chunk in chunks:
        if str(chunk.get("doc_id", "")) in train_doc_ids and isinstance(chunk.get("text"), str):
            pool.extend(tokenize_chunk(tokenizer, chunk["text"], max_length))
    wanted = round(share / (1.0 - share) * n_pairs)
    random.Random(seed).shuffle(pool)
    return pool[:wanted]
