"""Build 4-bit NF4 (double-quantized) models for QLoRA.

Two ways in: `bnb_config` for loading a saved model through transformers' bitsandbytes integration (the
production path), and `quantize_linear_layers` for a model already in memory, used to make a randomly
initialised 7B/13B model 4-bit directly on the GPU for measurements without writing tens of GB of weights
to disk first. Both give the same layers (`bnb.nn.Linear4bit`, NF4, double quantization).
bitsandbytes is imported lazily: it is absent on some machines that only run float32 LoRA.
"""

from __future__ import annotations

from typing import Any

import torch


def bnb_config(compute_dtype: torch.dtype) -> Any:
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype)


def quantize_linear_layers(model: torch.nn.Module, device: torch.device, compute_dtype: torch.dtype,
                           skip: tuple[str, ...] = ("lm_head",)) -> int:
    """Swap every nn.Linear (except `skip`) for an NF4 Linear4bit on `device`, one layer at a time.

    One layer at a time keeps the peak at the unquantized model plus one layer, and frees each
    full-precision weight as soon as its 4-bit copy exists. Returns how many layers were swapped.
    """
    import bitsandbytes as bnb

    # Names, not modules: holding every original layer in a list would keep all full-precision weights
    # alive until the end and double the peak.
    targets = [name for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear) and not any(name.endswith(s) for s in skip)]
    for name in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        linear = getattr(parent, child)
        quantized = bnb.nn.Linear4bit(linear.in_features, linear.out_features, bias=linear.bias is not None,
                                      compute_dtype=compute_dtype, compress_statistics=True, quant_type="nf4",
                                      device="meta")
        quantized.weight = bnb.nn.Params4bit(linear.weight.data.to("cpu" if device.type == "cpu" else device),
                                             requires_grad=False, quant_type="nf4", compress_statistics=True)
        if linear.bias is not None:
            bias = linear.bias.data.to(device, compute_dtype)
            quantized.bias = torch.nn.Parameter(bias, requires_grad=False)
        setattr(parent, child, quantized.to(device))
        del linear, quantized
    # peft decides whether to wrap layers with its bitsandbytes LoRA classes from this attribute, which
    # transformers sets itself only when it did the quantization.
    model.is_loaded_in_4bit = True  # type: ignore[assignment]
    return len(targets)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(total, trainable) counts; a packed 4-bit weight counts as the number of values it encodes."""
    total = trainable = 0
    for param in model.parameters():
        shape = getattr(param, "quant_state", None)
        n = int(torch.Size(shape.shape).numel()) if shape is not None else param.numel()
        total += n
        if param.requires_grad:
            trainable += n
    return total, trainable
