"""Fine-tuning hyperparameters: one dataclass whose fields carry their own help text.

The help text is the field's `metadata["help"]`, so the CLI, the KFP component and the training card all
describe a knob with the same words. `validate()` runs before anything heavy loads, so a bad value fails in
milliseconds with the name of the field and the accepted range.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from doc2slm_common.errors import InvalidInput


def _help(text: str, **kwargs: Any) -> Any:
    return field(metadata={"help": text}, **kwargs)


@dataclass
class FinetuneConfig:
    """Everything that decides what the fine-tune step does; recorded verbatim in training_card.json."""

    lora_rank: int = _help("LoRA rank r of the update matrices on every linear layer.", default=16)
    lora_alpha: int = _help("LoRA alpha; the update is scaled by alpha / rank.", default=32)
    lora_dropout: float = _help("Dropout on the LoRA input, 0 <= p < 1.", default=0.05)
    learning_rate: float = _help("Peak AdamW learning rate after warmup.", default=2e-4)
    weight_decay: float = _help("AdamW weight decay on the LoRA weights.", default=0.0)
    warmup_ratio: float = _help("Share of the optimizer steps spent warming the learning rate up.",
                                default=0.05)
    epochs: float = _help("Passes over the training examples (ignored when max_steps > 0).", default=3.0)
    max_steps: int = _help("Optimizer steps to run; 0 means derive them from epochs.", default=0)
    max_length: int = _help("Longest training sequence in tokens; longer examples are cut at the end.",
                            default=512)
    batch_size: int = _help("Sequences per micro-batch (rows of max_length tokens when packing).",
                            default=4)
    grad_accumulation: int = _help("Micro-batches per optimizer step.", default=1)
    packing: bool = _help("Pack several examples into each row (block-diagonal attention) instead of "
                          "padding length-grouped batches.", default=True)
    gradient_checkpointing: bool | None = _help(
        "Recompute activations in the backward pass. None: on for CUDA, off on CPU (the CPU run is short "
        "of compute, not memory).", default=None)
    checkpoint_every: int = _help("Save a resumable checkpoint every N optimizer steps; 0 disables.",
                                  default=50)
    seed: int = _help("Seed of data order, LoRA init and dropout; the same seed gives the same adapter.",
                      default=1234)
    mix_chunks_share: float = _help(
        "Share of training examples that are the documents' own chunk text (language modelling), so the "
        "facts are also seen in the documents' words (Jiang et al. 2024). A ceiling: each chunk is used once, "
        "so with many pairs per chunk the share reached is lower (the training card's chunk_examples). 0 "
        "disables; must be < 1.",
        default=0.25)
    neftune_alpha: float = _help(
        "Uniform noise on the input embeddings while training, of half-width alpha / sqrt(tokens x width) "
        "(NEFTune, Jain et al. 2023; 5 is the paper's usual value); 0 disables. Never applied when answering.",
        default=0.0)
    contrast_weight: float = _help(
        "Weight of the question-contrast term: each QA answer is also scored after another pair's question, "
        "and the loss rises while the right question does not make it contrast_margin nats/token likelier "
        "than the wrong one. Teaches the way from a question to its answer rather than the answer's text "
        "alone; costs about one more forward pass per QA example. 0 disables; needs packing.", default=0.0)
    contrast_margin: float = _help("Nats per answer token by which the right question should beat a wrong "
                                   "one before the contrast term stops pushing.", default=1.0)
    eval_every: int = _help("Judge the validation slice every N optimizer steps; 0: once per epoch.",
                            default=0)
    validation_metric: str = _help(
        "What picks the checkpoint on the validation slice: 'answer_similarity' (greedy answers, mean cosine "
        "to the reference answers by the bundled MiniLM embedder, the report's measure), 'answer_f1' (token "
        "F1 of greedy answers), 'loss' (answer loss; it kept falling while answers got worse on real "
        "manuals), 'auto' (answer_similarity where the embedder is installed, else answer_f1).",
        default="auto")
    validation_max_questions: int = _help("Validation questions answered at each judgement (answer metrics).",
                                          default=32)
    validation_max_new_tokens: int = _help("Longest validation answer in tokens; the evaluation's length.",
                                           default=64)
    early_stopping_patience: int = _help(
        "Stop after this many validation measurements in a row without a gain; 0: never stop early. The "
        "weights of the best validation value are kept either way.", default=2)
    early_stopping_min_gain: float = _help("A validation value must improve by more than this to count as a "
                                           "gain.", default=0.0)
    price_per_hour_usd: float = _help("Price of one hour of the training device, for the cost estimate.",
                                      default=4.0)
    force_4bit: bool = _help("Use the bitsandbytes 4-bit NF4 path even on CPU (slow; for tests of that "
                             "path).", default=False)
    device: str = _help("'auto' (CUDA when present, else CPU), 'cuda' or 'cpu'.", default="auto")
    memory_fraction: float = _help("Share of the free device memory the run may plan to use before it "
                                   "refuses to start.", default=0.9)
    log_every: int = _help("Log the loss every N optimizer steps.", default=5)

    def validate(self) -> FinetuneConfig:
        """Raise InvalidInput naming the first bad field; return self so calls can chain."""
        checks: list[tuple[str, bool, str]] = [
            ("lora_rank", self.lora_rank >= 1, ">= 1"),
            ("lora_alpha", self.lora_alpha >= 1, ">= 1"),
            ("lora_dropout", 0.0 <= self.lora_dropout < 1.0, "in [0, 1)"),
            ("learning_rate", 0.0 < self.learning_rate < 1.0, "in (0, 1)"),
            ("weight_decay", self.weight_decay >= 0.0, ">= 0"),
            ("warmup_ratio", 0.0 <= self.warmup_ratio < 1.0, "in [0, 1)"),
            ("epochs", self.epochs > 0.0 or self.max_steps > 0, "> 0 (or set max_steps)"),
            ("max_steps", self.max_steps >= 0, ">= 0"),
            ("max_length", 16 <= self.max_length <= 131072, "in [16, 131072]"),
            ("batch_size", self.batch_size >= 1, ">= 1"),
            ("grad_accumulation", self.grad_accumulation >= 1, ">= 1"),
            ("checkpoint_every", self.checkpoint_every >= 0, ">= 0"),
            ("mix_chunks_share", 0.0 <= self.mix_chunks_share < 1.0, "in [0, 1)"),
            ("neftune_alpha", 0.0 <= self.neftune_alpha <= 100.0, "in [0, 100]"),
            ("contrast_weight", 0.0 <= self.contrast_weight <= 100.0, "in [0, 100]"),
            ("contrast_margin", 0.0 < self.contrast_margin <= 20.0, "in (0, 20]"),
            ("packing", self.packing or self.contrast_weight == 0.0, "true when contrast_weight > 0 (the "
             "wrong-question copy is kept apart by packing's position ids)"),
            ("eval_every", self.eval_every >= 0, ">= 0"),
            ("validation_metric", self.validation_metric in ("auto", "answer_similarity", "answer_f1", "loss"),
             "one of auto, answer_similarity, answer_f1, loss"),
            ("validation_max_questions", self.validation_max_questions >= 1, ">= 1"),
            ("validation_max_new_tokens", self.validation_max_new_tokens >= 1, ">= 1"),
            ("early_stopping_patience", self.early_stopping_patience >= 0, ">= 0"),
            ("early_stopping_min_gain", self.early_stopping_min_gain >= 0.0, ">= 0"),
            ("price_per_hour_usd", self.price_per_hour_usd >= 0.0, ">= 0"),
            ("device", self.device in ("auto", "cuda", "cpu"), "one of auto, cuda, cpu"),
            ("memory_fraction", 0.0 < self.memory_fraction <= 1.0, "in (0, 1]"),
            ("log_every", self.log_every >= 1, ">= 1"),
        ]
        for name, ok, accepted in checks:
            if not ok:
                raise InvalidInput(f"fine-tune setting {name}={getattr(self, name)!r} is invalid: "
                                   f"must be {accepted}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FinetuneConfig:
        """Build from a mapping (JSON, pipeline parameters), refusing unknown keys by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput(f"unknown fine-tune setting(s): {', '.join(unknown)}")
        return cls(**values).validate()


def field_help() -> dict[str, str]:
    """Field name -> help text, for argument parsers and documentation."""
    return {f.name: str(f.metadata.get("help", "")) for f in dataclasses.fields(FinetuneConfig)}
