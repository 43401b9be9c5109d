"""Load the base model for training and put LoRA on every linear layer.

CUDA: QLoRA, the base in 4-bit NF4 with double quantization and bf16 compute. CPU: the base in float32
with plain LoRA (4-bit matmuls on CPU run ~20x slower, measured), unless `force_4bit` asks for the
bitsandbytes path to test it. The chosen precision is logged and recorded in the training card.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import FinetuneConfig
from .quantize import bnb_config, count_parameters

log = logging.getLogger(__name__)


@dataclass
class PreparedModel:
    model: Any  # a peft PeftModel
    tokenizer: Any
    device: torch.device
    precision: str
    autocast_dtype: torch.dtype | None  # bf16 autocast around forward on CUDA, None on CPU
    total_params: int
    trainable_params: int
    quantized: bool


def pick_device(config: FinetuneConfig) -> torch.device:
    if config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            from doc2slm_common.errors import InvalidInput

            raise InvalidInput("fine-tune setting device='cuda' but no CUDA device is visible")
        return torch.device("cuda")
    return torch.device("cpu")


def use_gradient_checkpointing(config: FinetuneConfig, device: torch.device) -> bool:
    if config.gradient_checkpointing is None:
        return device.type == "cuda"
    return config.gradient_checkpointing


def load_tokenizer(base_dir: Path) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    if tokenizer.pad_token_id is None:
        # Padding positions never reach the loss or attention, so any id will do; eos is the usual choice.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(base_dir: Path, config: FinetuneConfig, device: torch.device) -> tuple[Any, bool]:
    """(model, quantized) with the precision the device and config call for."""
    from transformers import AutoModelForCausalLM

    quantize = device.type == "cuda" or config.force_4bit
    if quantize:
        compute = torch.bfloat16 if device.type == "cuda" else torch.float32
        model = AutoModelForCausalLM.from_pretrained(str(base_dir), quantization_config=bnb_config(compute),
                                                     device_map={"": str(device)}, dtype=compute)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
        model = model.to(device)  # type: ignore[arg-type]
    return model, quantize


def linear_layer_names(model: torch.nn.Module) -> list[str]:
    """Short names (q_proj, down_proj, ...) of every linear layer but the output head.

    Short names rather than peft's "all-linear" (which it writes out as full module paths): vLLM and other
    LoRA loaders match adapters by these short names.
    """
    get_head = getattr(model, "get_output_embeddings", None)
    output_head = get_head() if callable(get_head) else None
    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules()
             if isinstance(module, torch.nn.Linear) and module is not output_head}
    return sorted(names)


def attach_lora(model: Any, tokenizer: Any, config: FinetuneConfig, device: torch.device,
                quantized: bool) -> PreparedModel:
    """LoRA on all linear layers (not the output head), ready to train; works for any loaded model."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    checkpointing = use_gradient_checkpointing(config, device)
    model.config.use_cache = False  # the KV cache only costs memory in training
    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    elif checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=linear_layer_names(model), bias="none", task_type="CAUSAL_LM")
    # Seeded here so that the LoRA init (A is random) is the same for the same seed.
    torch.manual_seed(config.seed)
    peft_model = get_peft_model(model, lora)
    total, trainable = count_parameters(peft_model)
    if quantized:
        compute = "bf16" if device.type == "cuda" else "float32"
        precision = f"QLoRA: 4-bit NF4 double-quant base, {compute} compute, LoRA r={config.lora_rank}"
    else:
        precision = f"LoRA: float32 base and adapter, r={config.lora_rank}"
    autocast = torch.bfloat16 if device.type == "cuda" else None
    log.info("fine-tune precision on %s: %s (gradient checkpointing %s); %d of %d parameters trainable",
             device.type, precision, "on" if checkpointing else "off", trainable, total)
    return PreparedModel(peft_model, tokenizer, device, precision, autocast, total, trainable, quantized)


def prepare_for_training(base_dir: Path, config: FinetuneConfig) -> PreparedModel:
    device = pick_device(config)
    tokenizer = load_tokenizer(base_dir)
    model, quantized = load_base_model(base_dir, config, device)
    return attach_lora(model, tokenizer, config, device, quantized)
