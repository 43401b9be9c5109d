"""Randomly initialised Llama models and synthetic QA data with a learnable pattern.

For measurements and tests where a real base model is either too big to ship (the 7B/13B GPU check) or
too slow for a unit test (2 shared CPU cores): the shapes are real, the weights random, and the data has a
rule the adapter can learn (each answer restates the question's part number and its code), so a falling
loss means the training actually works rather than that the data is trivial.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True)
class LlamaShape:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    kv_heads: int | None = None

    def config(self, tokenizer: Any | None = None, max_positions: int = 4096) -> Any:
        from transformers import LlamaConfig

        special = {}
        if tokenizer is not None:
            special = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                       "pad_token_id": tokenizer.pad_token_id}
        return LlamaConfig(hidden_size=self.hidden, num_hidden_layers=self.layers,
                           num_attention_heads=self.heads, num_key_value_heads=self.kv_heads or self.heads,
                           intermediate_size=self.intermediate, vocab_size=self.vocab,
                           max_position_embeddings=max_positions, tie_word_embeddings=False, **special)


LLAMA2_7B = LlamaShape(hidden=4096, layers=32, heads=32, intermediate=11008, vocab=32000)
LLAMA2_13B = LlamaShape(hidden=5120, layers=40, heads=40, intermediate=13824, vocab=32000)


def tiny_shape(vocab: int) -> LlamaShape:
    return LlamaShape(hidden=64, layers=2, heads=4, intermediate=128, vocab=vocab, kv_heads=2)


def build_random_model_dir(target: Path, shape_for_vocab: Any, tokenizer: Any, seed: int = 0,
                           dtype: torch.dtype = torch.float32) -> Path:
    """Save a random Llama of the given shape (a LlamaShape, or a callable vocab -> LlamaShape) with
    `tokenizer` as a loadable model directory."""
    from transformers import LlamaForCausalLM

    shape = shape_for_vocab(len(tokenizer)) if callable(shape_for_vocab) else shape_for_vocab
    torch.manual_seed(seed)
    model = LlamaForCausalLM(shape.config(tokenizer)).to(dtype)  # type: ignore[arg-type]
    model.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    return target


def qa_records(count: int, doc_id: str = "doc-a", offset: int = 0) -> list[dict[str, str]]:
    """Pairs with a learnable rule: the answer restates the part number and gives its code."""
    return [{"question": f"What is the code of part {i}?", "answer": f"The code of part {i} is {i * 7 % 13}.",
             "doc_id": doc_id, "chunk_id": f"{doc_id}-c{i % 5}"} for i in range(offset, offset + count)]


SYNTHETIC_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} "
    "{% if m['role'] == 'assistant' %}</s> {% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}")


def synthetic_tokenizer(texts: list[str]) -> Any:
    """A word-level tokenizer with a chat template over the words of `texts`, built without any hub.

    Machines that may not download a tokenizer (the GPU check) still exercise the real formatting path:
    chat template, prompt masking, end-of-sequence handling.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    splitter = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    words = sorted({w for text in texts for w, _span in splitter.pre_tokenize_str(text)})
    specials = ["<pad>", "<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>"]
    vocab = {token: index for index, token in enumerate([*specials, *words])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = splitter
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>",
                                        bos_token="<s>", eos_token="</s>",
                                        additional_special_tokens=["<|user|>", "<|assistant|>"])
    tokenizer.chat_template = SYNTHETIC_CHAT_TEMPLATE
    return tokenizer


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
