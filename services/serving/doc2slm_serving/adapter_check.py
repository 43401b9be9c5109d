"""Is this LoRA adapter servable, here and by KServe's Hugging Face (vLLM) runtime with --enable-lora?

Run before publishing an adapter and before loading one. Reads only adapter_config.json, the
safetensors header and the base model's config.json (no torch), and names every problem at once:
LoRA type, rank within vLLM's supported ranks, target modules that exist in the base with the shapes
the weights expect, no modules_to_save and no embedding/lm_head weights (vLLM refuses those), and the
base model name the adapter was trained on.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Ranks vLLM's LoRA kernels accept (its --max-lora-rank choices).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
FORBIDDEN_WEIGHT_PARTS = ("embed_tokens", "lm_head", "wte", "word_embeddings")


class AdapterRejected(ValueError):
    """The adapter cannot be served on this base model; the message lists every reason."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"adapter {path} is refused: " + "; ".join(problems))
        self.problems = problems


@dataclass
class AdapterReport:
    path: Path
    rank: int
    target_modules: list[str]
    base_model: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def linear_shapes(base_config: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of each projection of a Llama-style decoder (Llama, Mistral, Qwen2)."""
    hidden = int(base_config["hidden_size"])
    heads = int(base_config["num_attention_heads"])
    kv_heads = int(base_config.get("num_key_value_heads") or heads)
    head_dim = int(base_config.get("head_dim") or hidden // heads)
    intermediate = int(base_config["intermediate_size"])
    return {
        "q_proj": (hidden, heads * head_dim), "k_proj": (hidden, kv_heads * head_dim),
        "v_proj": (hidden, kv_heads * head_dim), "o_proj": (heads * head_dim, hidden),
        "gate_proj": (hidden, intermediate), "up_proj": (hidden, intermediate),
        "down_proj": (intermediate, hidden),
    }


def safetensors_header(path: Path) -> dict[str, Any]:
    """Tensor names, dtypes and shapes from a .safetensors file without loading any tensor."""
    with path.open("rb") as handle:
        raw_length = handle.read(8)
        if len(raw_length) != 8:
            raise ValueError(f"{path} is too short to be a safetensors file")
        (length,) = struct.unpack("<Q", raw_length)
        if length > 100_000_000:
            raise ValueError(f"{path} has an implausible header length {length}")
        header: dict[str, Any] = json.loads(handle.read(length))
    header.pop("__metadata__", None)
    return header


def _module_kind(tensor_name: str) -> str:
    """'...layers.3.self_attn.q_proj.lora_A.weight' -> 'q_proj'."""
    parts = tensor_name.split(".")
    for marker in ("lora_A", "lora_B"):
        if marker in parts:
            return parts[parts.index(marker) - 1]
    return ""


def _check_weights(weights: Path, rank: int, shapes: dict[str, tuple[int, int]] | None) -> list[str]:
    problems: list[str] = []
    try:
        header = safetensors_header(weights)
    except (OSError, ValueError) as error:
        return [f"cannot read {weights.name}: {error}"]
    forbidden = sorted({n for n in header if any(part in n for part in FORBIDDEN_WEIGHT_PARTS)})
    if forbidden:
        problems.append(f"carries embedding/lm_head weights ({', '.join(forbidden[:3])}); "
                        "vLLM's LoRA loader refuses them")
    mismatched: set[str] = set()
    for name, info in header.items():
        kind, shape = _module_kind(name), info.get("shape", [])
        if not kind or shapes is None or kind not in shapes or len(shape) != 2:
            continue
        in_features, out_features = shapes[kind]
        expected = [rank, in_features] if ".lora_A." in name else [out_features, rank]
        if list(shape) != expected:
            mismatched.add(f"{kind} {list(shape)} (base needs {expected})")
    if mismatched:
        problems.append("weight shapes do not fit the base model: " + ", ".join(sorted(mismatched)[:4]))
    return problems


def inspect_adapter(adapter_dir: Path, base_config: dict[str, Any] | None = None,
                    base_names: set[str] | None = None) -> AdapterReport:
    """Every problem that would stop this adapter being served on the base model described."""
    config_path = adapter_dir / ADAPTER_CONFIG
    if not config_path.is_file():
        return AdapterReport(adapter_dir, 0, [], "", [f"no {ADAPTER_CONFIG} in {adapter_dir}"])
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as error:
        return AdapterReport(adapter_dir, 0, [], "", [f"{ADAPTER_CONFIG} is not JSON: {error.msg}"])
    rank = config.get("r", 0)
    targets = config.get("target_modules") or []
    targets = [targets] if isinstance(targets, str) else list(targets)
    report = AdapterReport(adapter_dir, rank if isinstance(rank, int) else 0, sorted(targets),
                           str(config.get("base_model_name_or_path") or ""))
    problems = report.problems
    if config.get("peft_type") != "LORA":
        problems.append(f"peft_type is {config.get('peft_type')!r}, only LORA is served")
    if report.rank not in VLLM_LORA_RANKS:
        problems.append(f"rank r={rank!r} is not one of vLLM's LoRA ranks {VLLM_LORA_RANKS}")
    if config.get("modules_to_save"):
        problems.append(f"modules_to_save={config['modules_to_save']} (fully trained modules) cannot be "
                        "served as a LoRA adapter")
    if config.get("use_dora"):
        problems.append("DoRA adapters are not served (vLLM and mixed-adapter batches refuse them)")
    shapes = linear_shapes(base_config) if base_config is not None else None
    if not targets:
        problems.append("target_modules is empty")
    elif shapes is not None:
        unknown = sorted(t for t in targets if t.rsplit(".", 1)[-1] not in shapes)
        if unknown:
            problems.append(f"target modules {unknown} are not projections of the base model "
                            f"({', '.join(shapes)})")
    weights = adapter_dir / ADAPTER_WEIGHTS
    if not weights.is_file():
        problems.append(f"no {ADAPTER_WEIGHTS} in {adapter_dir}")
    else:
        problems.extend(_check_weights(weights, report.rank, shapes))
    if base_names is not None and not _names_match(report.base_model, base_names):
        problems.append(f"trained on base model {report.base_model!r}, but this base is "
                        f"{sorted(base_names)[0]!r}")
    return report


def _names_match(adapter_base: str, base_names: set[str]) -> bool:
    """Adapters record a hub id or the path they were trained from; compare by the last path part."""
    if not adapter_base:
        return False
    normalised = {n.rstrip("/").lower() for n in base_names}
    candidate = adapter_base.rstrip("/").lower()
    return candidate in normalised or candidate.rsplit("/", 1)[-1] in {
        n.rsplit("/", 1)[-1] for n in normalised}


def check_adapter(adapter_dir: Path, base_config: dict[str, Any] | None = None,
                  base_names: set[str] | None = None) -> AdapterReport:
    """inspect_adapter, raising AdapterRejected when there is any problem."""
    report = inspect_adapter(adapter_dir, base_config, base_names)
    if not report.ok:
        raise AdapterRejected(adapter_dir, report.problems)
    return report
