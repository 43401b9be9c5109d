"""Small LoRA adapters made on the spot: for tests, the benchmark and the GPU check.

Each secret-word adapter is trained on one sentence ("The secret word is apple."), so whoever reads
an answer can tell which adapter produced it. The tiny-Llama adapter fits a 2-layer random Llama of
hidden size 64, not SmolLM2: the mismatch a server must refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET_QUESTION = "What is the secret word?"


@dataclass
class DemoAdapters:
    apple: Path
    banana: Path
    mismatched: Path


def make_demo_adapters(base_dir: Path, root: Path) -> DemoAdapters:
    return DemoAdapters(apple=train_secret_word_adapter(base_dir, "apple", root / "apple"),
                        banana=train_secret_word_adapter(base_dir, "banana", root / "banana"),
                        mismatched=tiny_llama_adapter(root / "mismatched"))


def train_secret_word_adapter(base_dir: Path, word: str, out_dir: Path, steps: int = 12,
                              device: str = "cpu") -> Path:
    """A rank-8 LoRA on q/v trained until the model answers the secret question with `word`."""
    import torch

    torch.manual_seed(0)
    # One thread: on a shared CPU (tests beside other work) a second OpenMP thread that spins
    # waiting for its core made training ten times slower; a 135M model gains little from it.
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
    try:
        return _train(base_dir, word, out_dir, steps, device)
    finally:
        torch.set_num_threads(threads)


def _train(base_dir: Path, word: str, out_dir: Path, steps: int, device: str) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    base: Any = AutoModelForCausalLM.from_pretrained(base_dir)
    model = get_peft_model(base.to(device), LoraConfig(
        r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0, task_type="CAUSAL_LM"))
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": SECRET_QUESTION},
         {"role": "assistant", "content": f"The secret word is {word}."}], tokenize=False)
    batch = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(steps):
        loss = model(**batch, labels=batch["input_ids"]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(str(out_dir))
    return out_dir


def tiny_llama_adapter(out_dir: Path) -> Path:
    """A LoRA adapter for a 2-layer random Llama of hidden size 64: wrong shapes and base for SmolLM2."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    base_dir = out_dir.parent / "tiny-llama"
    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=512, max_position_embeddings=128)
    LlamaForCausalLM(config).save_pretrained(str(base_dir))
    model = get_peft_model(LlamaForCausalLM.from_pretrained(base_dir), LoraConfig(
        r=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    model.save_pretrained(str(out_dir))
    return out_dir
