"""resolve_base_model: the bundled SmolLM2 converted once and exactly, local paths, s3://, hub ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from doc2slm_common import basemodel
from doc2slm_common.basemodel import (
    BUNDLED_MODEL_NAME,
    bundled_gguf_path,
    publish_directory,
    remove_stale_temp_dirs,
    resolve_base_model,
    served_model_name,
)
from doc2slm_common.errors import InvalidInput, NotFound, UpstreamUnavailable


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("doc2slm-cache")


@pytest.fixture(scope="module")
def converted(cache: Path) -> Path:
    """The bundled model converted into a fresh cache (the expensive step, once per module)."""
    return resolve_base_model(None, cache)


def test_bundled_model_directory_is_complete_and_plain(converted: Path) -> None:
    names = {p.name for p in converted.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "generation_config.json", "chat_template.jinja"} <= names
    config = json.loads((converted / "config.json").read_text())
    assert "quantization_config" not in config, "the GGUF quantization marker must not survive"
    assert config["model_type"] == "llama"
    tokenizer_config = json.loads((converted / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == config["max_position_embeddings"]
    # Readable by other users of a shared cache, unlike mkdtemp's 0700 default.
    assert converted.stat().st_mode & 0o777 == 0o755
    assert (converted / "model.safetensors").stat().st_mode & 0o777 == 0o644
    assert not list(converted.parent.glob(".tmp-*")), "a finished conversion leaves no temp dir"


def test_weights_are_the_dequantized_gguf_tensors(converted: Path) -> None:
    """Read tensors straight from the GGUF with the gguf library: the saved copy must be bit-exact."""
    import numpy as np
    from gguf import GGUFReader
    from gguf.quants import dequantize
    from safetensors import safe_open

    reader = GGUFReader(str(bundled_gguf_path()))
    gguf_tensors = {t.name: t for t in reader.tensors}
    pairs = {"token_embd.weight": "model.embed_tokens.weight",
             "blk.0.ffn_down.weight": "model.layers.0.mlp.down_proj.weight",
             "blk.29.ffn_up.weight": "model.layers.29.mlp.up_proj.weight"}
    with safe_open(str(converted / "model.safetensors"), "np") as saved:
        for gguf_name, hf_name in pairs.items():
            tensor = gguf_tensors[gguf_name]
            expected = dequantize(tensor.data, tensor.tensor_type)
            actual = saved.get_tensor(hf_name)
            assert actual.dtype == np.float32
            assert np.array_equal(expected, actual), hf_name


def test_converted_model_answers_a_simple_question(converted: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted)
    model = AutoModelForCausalLM.from_pretrained(converted)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    answer = tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


def test_second_call_reuses_the_cache(converted: Path, cache: Path) -> None:
    written = (converted / "model.safetensors").stat().st_mtime_ns
    started = time.monotonic()
    for spec in (None, "bundled", BUNDLED_MODEL_NAME, " bundled "):
        assert resolve_base_model(spec, cache) == converted
    assert time.monotonic() - started < 5.0
    assert (converted / "model.safetensors").stat().st_mtime_ns == written


def test_cache_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOC2SLM_CACHE_DIR", str(tmp_path / "c"))
    assert basemodel.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("DOC2SLM_CACHE_DIR")
    assert basemodel.cache_dir() == Path.home() / ".cache" / "doc2slm"


def test_failed_conversion_leaves_no_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def crash_half_way(gguf: Path, out_dir: Path) -> None:
        (out_dir / "config.json").write_text("{}")
        raise KeyboardInterrupt("killed mid-conversion")

    monkeypatch.setattr(basemodel, "convert_gguf", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        resolve_base_model(None, tmp_path)
    models = tmp_path / "models"
    assert list(models.iterdir()) == [], "neither a half model nor its temp dir may remain"


def test_publish_keeps_the_first_complete_copy(tmp_path: Path) -> None:
    winner, loser, target = tmp_path / ".tmp-a", tmp_path / ".tmp-b", tmp_path / "model"
    for directory, marker in ((winner, "a"), (loser, "b")):
        directory.mkdir()
        (directory / "config.json").write_text(marker)
    assert publish_directory(winner, target) == target
    assert publish_directory(loser, target) == target
    assert (target / "config.json").read_text() == "a"
    assert not loser.exists()


def test_only_stale_temp_dirs_are_removed(tmp_path: Path) -> None:
    stale, running = tmp_path / ".tmp-crashed", tmp_path / ".tmp-running"
    stale.mkdir()
    running.mkdir()
    old = time.time() - basemodel.STALE_TEMP_AGE_S - 60
    os.utime(stale, (old, old))
    remove_stale_temp_dirs(tmp_path)
    assert not stale.exists()
    assert running.exists(), "a conversion still in progress must not lose its directory"


def test_local_directory_is_used_as_is(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert resolve_base_model(str(tmp_path)) == tmp_path
    assert resolve_base_model(tmp_path.as_uri()) == tmp_path


def test_missing_or_non_model_local_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        resolve_base_model(str(tmp_path / "nowhere"))
    with pytest.raises(InvalidInput, match=r"config\.json"):
        resolve_base_model(str(tmp_path))


def test_s3_prefix_is_downloaded_once(s3_env: object, tmp_path: Path) -> None:
    from doc2slm_common.s3 import client
    from doc2slm_common.storage import upload_dir

    bucket = "basemodel-test"
    if not client().bucket_exists(bucket):
        client().make_bucket(bucket)
    source = tmp_path / "source"
    source.mkdir()
    (source / "config.json").write_text('{"model_type": "llama"}')
    (source / "tokenizer_config.json").write_text("{}")
    upload_dir(source, f"s3://{bucket}/models/tiny")
    cache = tmp_path / "cache"
    local = resolve_base_model(f"s3://{bucket}/models/tiny", cache)
    assert json.loads((local / "config.json").read_text()) == {"model_type": "llama"}
    assert (local / "tokenizer_config.json").exists()
    assert resolve_base_model(f"s3://{bucket}/models/tiny/", cache) == local
    with pytest.raises(NotFound):
        resolve_base_model(f"s3://{bucket}/models/absent", cache)
    assert not list((cache / "models").glob(".tmp-*"))


def test_unreachable_hub_id_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(UpstreamUnavailable, match="HF_HUB_OFFLINE"):
        resolve_base_model("no-such-org/no-such-model")


def test_served_names() -> None:
    assert served_model_name(None) == BUNDLED_MODEL_NAME == "smollm2-135m-instruct"
    assert served_model_name("bundled") == BUNDLED_MODEL_NAME
    assert served_model_name("HuggingFaceTB/SmolLM2-360M-Instruct") == "smollm2-360m-instruct"
    assert served_model_name("/models/my-base/") == "my-base"


def test_module_imports_without_torch() -> None:
    """The extraction image has no torch: importing basemodel must not pull it in."""
    code = "import sys, doc2slm_common.basemodel; assert 'torch' not in sys.modules; " \
           "assert 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
