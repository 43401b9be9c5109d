"""The base model (or the base with one LoRA adapter folded in) as an ONNX Runtime GenAI model, built once.

onnxruntime-genai's model builder writes the decoder graph, its weights and genai_config.json from a
Hugging Face directory. It runs in a child process: it imports torch and transformers and holds a second
copy of the weights while it works, none of which the server needs afterwards. The result is cached under
DOC2SLM_CACHE_DIR/onnx, keyed by the source's files, the precision and the builder's version, so a second
start (or a second `doc2slm run`) loads it in a second. An adapter is merged into a float32 copy of the base
with peft first, then built like a base: onnxruntime-genai's engine has no per-request adapter choice, so
each adapter is a model of its own (see engine_onnx.py). After each new export the least recently used
ones beyond DOC2SLM_ONNX_EXPORT_CACHE_MB are removed (export_cache.py).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from doc2slm_common.basemodel import cache_dir, publish_directory, remove_stale_temp_dirs
from doc2slm_common.errors import InvalidInput

from doc2slm_serving.export_cache import evict_exports, mark_used, max_bytes_from_env

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "int8", "int4")
GENAI_CONFIG = "genai_config.json"
# A model whose export failed half-way has no config; one that finished has this marker too.
DONE_MARKER = "doc2slm_export.json"
EXPORT_TIMEOUT_S = 1800.0


def _fingerprint(directory: Path) -> str:
    """Names, sizes and modification times of a base model directory's top-level files (cheap, no
    hashing of 500 MB of weights); a rewritten file changes its size or time and so the key."""
    entries = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in directory.iterdir() if p.is_file())
    return hashlib.sha256(repr(entries).encode()).hexdigest()[:16]


def _content_hash(directory: Path) -> str:
    """The bytes of an adapter directory's top-level files (a few MB): the same adapter trained again or
    copied elsewhere finds its export; a changed one gets a new one."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def exported_model(source_dir: Path, precision: str, *, adapter_dir: Path | None = None,
                   cache: Path | None = None, max_cache_bytes: int | None = None) -> Path:
    """The ONNX model directory for `source_dir` (+ `adapter_dir` merged), exporting it on first use; a new
    export then evicts the least recently used ones beyond `max_cache_bytes` (None: from the environment)."""
    if precision not in PRECISIONS:
        raise InvalidInput(f"onnx precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    version = importlib.metadata.version("onnxruntime-genai")
    key = f"{_fingerprint(source_dir)}-{_content_hash(adapter_dir) if adapter_dir else 'base'}"
    target = (cache or cache_dir()) / "onnx" / f"{source_dir.name[:48]}-{precision}-og{version}-{key}"
    if (target / DONE_MARKER).is_file():
        mark_used(target / DONE_MARKER)
        return target
    # A bad value fails before minutes of export, not after.
    max_bytes = max_bytes_from_env() if max_cache_bytes is None else max_cache_bytes
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_dirs(target.parent)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".tmp-merge-", dir=target.parent) as scratch:
        source = _merged_copy(source_dir, adapter_dir, Path(scratch) / "merged") if adapter_dir else source_dir
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
        try:
            _run_builder(source, staging, precision, Path(scratch) / "builder-cache")
            seconds = round(time.monotonic() - started, 1)
            (staging / DONE_MARKER).write_text(json.dumps({
                "source": str(source_dir), "adapter": str(adapter_dir or ""), "precision": precision,
                "onnxruntime_genai": version, "export_s": seconds}, indent=2))
        except BaseException:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
            raise
    log.info("exported %s%s to ONNX (%s) in %.0f s", source_dir.name,
             f" + {adapter_dir.name}" if adapter_dir else "", precision, time.monotonic() - started)
    published = publish_directory(staging, target)
    evict_exports(target.parent, DONE_MARKER, max_bytes)
    return published


def _merged_copy(base_dir: Path, adapter_dir: Path, out_dir: Path) -> Path:
    """The base with the adapter folded into its weights, saved as a plain Hugging Face directory."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(out_dir)
    return out_dir


def _run_builder(source: Path, out_dir: Path, precision: str, builder_cache: Path) -> None:
    command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(source), "-o", str(out_dir),
               "-p", precision, "-e", "cpu", "-c", str(builder_cache)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=EXPORT_TIMEOUT_S, check=False)
    if done.returncode != 0 or not (out_dir / GENAI_CONFIG).is_file():
        tail = (done.stderr or done.stdout)[-2000:]
        raise RuntimeError(f"onnxruntime-genai's model builder failed ({done.returncode}) for {source}:\n{tail}")


LAST_LOGITS_GRAPH = "model.last_logits.onnx"


def last_logits_graph(directory: Path, filename: str) -> Path:
    """The exported decoder with logits for each row's last position only, written beside it once.

    The builder's graph projects every prompt position onto the 49k vocabulary, about a fifth of a
    prefill's arithmetic for a 135M model, though only the last position's logits pick the next token
    (measured: ~20% of the local teacher's prefill time). A Slice before the vocabulary projection keeps
    the last position. The weights stay in the export's external data file, which the new graph names by
    the same relative path, so the file written is the graph alone (~170 KB).
    """
    import onnx
    from onnx import TensorProto, helper

    target = directory / LAST_LOGITS_GRAPH
    if target.is_file():
        return target
    model = onnx.load(str(directory / filename), load_external_data=False)
    projection = next(node for node in model.graph.node if "logits" in node.output)
    hidden = projection.input[0]
    constants = [helper.make_tensor(f"/doc2slm/last/{name}", TensorProto.INT64, [1], [value])
                 for name, value in (("starts", -1), ("ends", 2**62), ("axes", 1))]
    model.graph.initializer.extend(constants)
    model.graph.node.insert(list(model.graph.node).index(projection), helper.make_node(
        "Slice", [hidden, *(c.name for c in constants)], ["/doc2slm/last/hidden"], name="/doc2slm/last/Slice"))
    projection.input[0] = "/doc2slm/last/hidden"
    logits = next(output for output in model.graph.output if output.name == "logits")
    logits.type.tensor_type.shape.dim[1].dim_value = 1
    staging = directory / f".{LAST_LOGITS_GRAPH}.{os.getpid()}.tmp"
    onnx.save(model, str(staging))
    os.replace(staging, target)
    return target
