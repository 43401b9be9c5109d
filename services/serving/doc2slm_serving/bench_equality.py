"""Do two engines give the same greedy answers? Counted on the same prompts, each asked alone.

Alone, not in a batch: transformers' own answer to a padded batch can differ from its answer to the
prompt alone (padding changes the float sums), and the reference here is the plain answer. An answer
pair that differs is reported with the token where the two part, so a reader can tell a late one-word
drift from a different answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from doc2slm_serving.engine_base import EngineBase
from doc2slm_serving.params import SamplingParams

QUESTIONS = [
    "What is the capital of France?", "Explain how a bicycle gear works.", "Give advice to a new gardener.",
    "Describe autumn in one sentence.", "Why is the sky blue?", "What does a compiler do?",
    "How do I reset a home router?", "Who wrote Hamlet?", "What is photosynthesis?", "List three colors.",
    "How many legs does a spider have?", "What is the boiling point of water?", "What is a mortgage?",
    "Summarize: the cat sat on the mat all day and did not move.", "How does a vaccine work?",
    "What is the difference between RAM and disk storage?", "Write one sentence about the sea.",
    "What is an API?", "How should I store fresh bread?", "What causes thunder?",
    "Name a famous painter and one of their works.", "What is the purpose of a fuse in a circuit?",
    "Explain recursion to a child.", "What is a good way to learn a new language?",
]


@dataclass
class Equality:
    engine: str
    model: str
    prompts: int
    equal: int
    # For each answer that differs: the number of tokens the two answers share before they part.
    parted_at: list[int] = field(default_factory=list)


def _shared_prefix(left: list[int], right: list[int]) -> int:
    count = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        count += 1
    return count


def compare(reference: EngineBase, candidate: EngineBase, adapter: str | None, *, prompts: int,
            max_tokens: int) -> Equality:
    """Greedy answers of `candidate` against `reference` to the first `prompts` questions."""
    params = SamplingParams(max_new_tokens=max_tokens)
    result = Equality(candidate.name, adapter or "base", prompts, 0)
    for question in (QUESTIONS * (1 + prompts // len(QUESTIONS)))[:prompts]:
        prompt = reference.encode_chat([{"role": "user", "content": question}])
        want = reference.generate(prompt, params, adapter).text
        got = candidate.generate(prompt, params, adapter).text
        if want == got:
            result.equal += 1
        else:
            result.parted_at.append(_shared_prefix(reference.encode_text(want), reference.encode_text(got)))
    return result


def describe(result: Equality) -> str:
    parted = sorted(result.parted_at)
    detail = f"; differing answers part after {parted} tokens" if parted else ""
    return (f"greedy answers equal to transformers ({result.engine}, {result.model}): "
            f"{result.equal}/{result.prompts}{detail}")
