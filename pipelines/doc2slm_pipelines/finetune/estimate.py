"""Before training: how many tokens and steps, how long, what it costs, and whether it fits in memory.

Time comes from FLOPs (6 per parameter per token for forward and backward, 8 with activation
recomputation) divided by the device's matmul rate measured on the spot, times an efficiency factor taken
from measured runs; the training card later records the real tokens/s beside the estimate. Memory is a
conservative sum of weights, LoRA optimizer state and activations; when it exceeds what the device has
free, the run refuses before loading anything, naming max_length and batch_size.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
from doc2slm_common.errors import LimitExceeded

from .config import FinetuneConfig

GIB = 1024**3
# Training throughput relative to a bare square matmul on the same device (measured: SmolLM2-135M LoRA on
# 2 CPU cores; QLoRA on H100 pays for dequantization, hence the lower figure).
_EFFICIENCY = {"cpu": 0.5, "cuda": 0.3}
_LORA_LINEARS_PER_LAYER = 7  # q, k, v, o, gate, up, down


@dataclass
class ModelShape:
    hidden: int
    layers: int
    intermediate: int
    vocab: int
    params: int  # all weights, embeddings included

    @classmethod
    def from_config(cls, config: Any) -> ModelShape:
        hidden, layers = int(config.hidden_size), int(config.num_hidden_layers)
        intermediate = int(getattr(config, "intermediate_size", 4 * hidden))
        vocab = int(config.vocab_size)
        heads = int(config.num_attention_heads)
        kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
        head_dim = int(getattr(config, "head_dim", None) or hidden // heads)
        attention = hidden * head_dim * (2 * heads + 2 * kv_heads)
        per_layer = attention + 3 * hidden * intermediate + 2 * hidden
        tied = bool(getattr(config, "tie_word_embeddings", False))
        params = layers * per_layer + vocab * hidden * (1 if tied else 2) + hidden
        return cls(hidden, layers, intermediate, vocab, params)

    def lora_params(self, rank: int) -> int:
        # Upper bound: treat every adapted matrix as hidden x max(hidden, intermediate) wide.
        per_linear = rank * (self.hidden + max(self.hidden, self.intermediate))
        return self.layers * _LORA_LINEARS_PER_LAYER * per_linear


@dataclass
class TrainingEstimate:
    device: str
    total_steps: int
    tokens_per_step: int
    tokens_total: int
    flops_total: float
    device_flops_per_s: float
    seconds: float
    cost_usd: float
    memory_needed_gib: float
    memory_available_gib: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (f"estimate: {self.total_steps} steps, {self.tokens_total:,} tokens, "
                f"~{self.seconds / 60:.1f} min on {self.device}, ~${self.cost_usd:.2f}; "
                f"memory ~{self.memory_needed_gib:.1f} GiB of "
                f"{self.memory_available_gib:.1f} GiB available")


def measured_matmul_flops(device: torch.device, seconds: float = 0.3) -> float:
    """FLOP/s of a square matmul in the training compute dtype, measured for about `seconds`."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    n = 4096 if device.type == "cuda" else 512
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.matmul(a, b)  # warm up kernels and caches
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.matmul(a, b)
        runs += 1
        if device.type == "cuda":
            torch.cuda.synchronize()
    return 2.0 * n**3 * runs / (time.perf_counter() - start)


def available_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.virtual_memory().available)


def memory_needed_bytes(shape: ModelShape, config: FinetuneConfig, quantized: bool,
                        checkpointing: bool) -> int:
    embeddings = 2 * shape.vocab * shape.hidden
    linear = shape.params - embeddings
    # 4-bit weights: 0.5 byte plus ~0.06 for double-quantized scales; embeddings/head upcast to fp32.
    weights = int(linear * 0.56) + embeddings * 4 if quantized else shape.params * 4
    adapter = shape.lora_params(config.lora_rank) * 16  # fp32 weight, grad and two Adam moments
    tokens = config.batch_size * config.max_length
    act_bytes = 2 if quantized else 4
    full_layer = tokens * (10 * shape.hidden + 4 * shape.intermediate) * act_bytes
    lora_inputs = tokens * _LORA_LINEARS_PER_LAYER * shape.hidden * act_bytes
    if checkpointing:
        activations = shape.layers * tokens * shape.hidden * act_bytes + full_layer + lora_inputs
    else:
        activations = shape.layers * (full_layer + lora_inputs)
    logits = tokens * shape.vocab * 4 * 3  # fp32 logits, their softmax and its gradient
    return weights + adapter + activations + logits


def estimate_training(shape: ModelShape, config: FinetuneConfig, *, device: torch.device, total_steps: int,
                      tokens_per_step: int, quantized: bool, checkpointing: bool,
                      device_flops_per_s: float | None = None, devices: int = 1) -> TrainingEstimate:
    """The estimate; raises LimitExceeded when the run cannot fit the free memory of the device.

    devices: data-parallel ranks sharing the tokens (each holds the whole model, so memory is per device);
    the wall time divides by them, the device-hours paid for do not.
    """
    flops_rate = device_flops_per_s or measured_matmul_flops(device)
    tokens_total = total_steps * tokens_per_step
    flops_total = (8.0 if checkpointing else 6.0) * shape.params * tokens_total
    seconds = flops_total / (flops_rate * _EFFICIENCY[device.type] * devices)
    needed = memory_needed_bytes(shape, config, quantized, checkpointing)
    available = int(available_memory_bytes(device) * config.memory_fraction)
    where = device.type if devices == 1 else f"{devices} x {device.type}"
    estimate = TrainingEstimate(where, total_steps, tokens_per_step, tokens_total, flops_total,
                                flops_rate, seconds, seconds / 3600.0 * config.price_per_hour_usd * devices,
                                needed / GIB, available / GIB)
    if needed > available:
        raise LimitExceeded(
            f"max_length={config.max_length} x batch_size={config.batch_size} does not fit: the run needs "
            f"~{needed / GIB:.1f} GiB on {device.type} but {available / GIB:.1f} GiB is available "
            f"(memory_fraction={config.memory_fraction}); lower batch_size or max_length"
            + ("" if checkpointing else ", or turn gradient_checkpointing on"))
    return estimate
