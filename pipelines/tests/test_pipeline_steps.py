"""Pipeline steps against the real services they call (extraction on loopback) and the pieces of the
evaluate and deploy steps that need no model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput
from doc2slm_common.server import RunningServer, ServerSettings, start_server
from doc2slm_extraction import testing_pdfs
from doc2slm_extraction.service import build_binding
from doc2slm_extraction.settings import ExtractionSettings
from doc2slm_pipelines.steps.artifacts import publish_prefix
from doc2slm_pipelines.steps.deploy_kserve import new_inference_service, point_at_adapter
from doc2slm_pipelines.steps.evaluate import eval_records
from doc2slm_pipelines.steps.extract import extract_corpus
from doc2slm_pipelines.steps.records import read_card

from tests.deploy.kserve_check import build_inference_service


@pytest.fixture(scope="module")
def extraction() -> Iterator[str]:
    running: RunningServer = start_server([build_binding(ExtractionSettings(workers=1))], ServerSettings(port=0))
    yield f"127.0.0.1:{running.port}"
    running.stop(0)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    docs = tmp_path_factory.mktemp("docs")
    (docs / "manual.pdf").write_bytes(testing_pdfs.multipage_pdf(pages=3, seed=1))
    (docs / "handbook.pdf").write_bytes(testing_pdfs.multipage_pdf(pages=2, seed=2))
    (docs / "broken.pdf").write_bytes(testing_pdfs.truncated_pdf())
    return docs


def test_extract_writes_chunks_and_records_the_broken_document(extraction: str, corpus: Path,
                                                                tmp_path: Path) -> None:
    outcome = extract_corpus(str(corpus), str(tmp_path), extraction, max_tokens=96)
    chunks = storage.read_jsonl(outcome.chunks_uri)
    assert outcome.documents == 3 and outcome.documents_failed == 1
    assert outcome.failures[0]["code"] == "INVALID_ARGUMENT" and "broken" in outcome.failures[0]["item_id"]
    assert len(chunks) == outcome.chunks == outcome.chunks_extracted > 2
    assert {len({c["doc_id"] for c in chunks})} == {2}
    first = chunks[0]
    assert first["text"] and first["pages"] == [first["page_start"], first["page_end"]]
    assert read_card(outcome.card_uri)["chunks"] == outcome.chunks


def test_extract_limit_keeps_every_document(extraction: str, corpus: Path, tmp_path: Path) -> None:
    outcome = extract_corpus(str(corpus), str(tmp_path), extraction, max_tokens=64, max_chunks=4)
    chunks = storage.read_jsonl(outcome.chunks_uri)
    assert len(chunks) == 4 < outcome.chunks_extracted
    assert len({c["doc_id"] for c in chunks}) == 2


def test_extract_of_a_corpus_without_text_says_why(extraction: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "broken.pdf").write_bytes(testing_pdfs.truncated_pdf())
    with pytest.raises(InvalidInput, match=r"no text could be extracted.*broken"):
        extract_corpus(str(docs), str(tmp_path / "work"), extraction)


def _write_set(path: Path, count: int, tag: str) -> str:
    rows = [{"question": f"{tag} q{i}?", "answer": f"{tag} a{i}.", "doc_id": tag, "chunk_id": f"{tag}{i}"}
            for i in range(count)]
    return storage.write_jsonl(storage.to_uri(path), [*rows, {"question": "", "answer": "skipped"}])


def test_eval_records_cap_takes_every_set_in_turn(tmp_path: Path) -> None:
    uris = {"eval_heldout_questions": _write_set(tmp_path / "hq.jsonl", 5, "hq"),
            "eval_heldout_docs": "", "eval_seen": _write_set(tmp_path / "seen.jsonl", 1, "seen")}
    records = eval_records(uris, max_questions=4)
    assert [(r["set"], r["question"]) for r in records] == [
        ("eval_heldout_questions", "hq q0?"), ("eval_seen", "seen q0?"),
        ("eval_heldout_questions", "hq q1?"), ("eval_heldout_questions", "hq q2?")]
    assert records[0]["reference"] == "hq a0." and records[0]["chunk_id"] == "hq0"
    assert len(eval_records(uris, max_questions=0)) == 6


def test_eval_records_refuses_empty_sets(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no evaluation question"):
        eval_records({"eval_heldout_questions": _write_set(tmp_path / "e.jsonl", 0, "x")}, 10)


def test_new_inference_service_is_a_valid_kserve_object() -> None:
    manifest = new_inference_service("doc2slm", "ml", adapter_uri="s3://doc2slm/runs/r1/adapter",
                                     adapter_name="doc2slm-adapter", base_model="bundled",
                                     image="ghcr.io/doc2slm/doc2slm-serving:0.1.0", gpus=1)
    build_inference_service(manifest)
    container = manifest["spec"]["predictor"]["containers"][0]
    assert {"name": "STORAGE_URI", "value": "s3://doc2slm/runs/r1/adapter"} in container["env"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"


def _chart_like(runtime: str) -> dict[str, Any]:
    predictor: dict[str, Any] = (
        {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": "s3://old"}} if runtime == "vllm" else
        {"containers": [{"name": "kserve-container", "image": "x",
                         "env": [{"name": "STORAGE_URI", "value": "s3://old"}, {"name": "OTHER", "value": "1"}]}]})
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "doc2slm", "namespace": "ml", "resourceVersion": "41"},
            "spec": {"predictor": predictor}}


@pytest.mark.parametrize("runtime", ["doc2slm", "vllm"])
def test_point_at_adapter_changes_only_the_adapter_source(runtime: str) -> None:
    current = _chart_like(runtime)
    updated = point_at_adapter(current, "s3://new/adapter")
    build_inference_service(updated)
    assert current["spec"]["predictor"] == _chart_like(runtime)["spec"]["predictor"]  # input untouched
    assert updated["metadata"]["resourceVersion"] == "41"
    assert updated["metadata"]["annotations"]["doc2slm.io/adapter-uri"] == "s3://new/adapter"
    if runtime == "vllm":
        assert updated["spec"]["predictor"]["model"]["storageUri"] == "s3://new/adapter"
    else:
        env = updated["spec"]["predictor"]["containers"][0]["env"]
        assert env == [{"name": "STORAGE_URI", "value": "s3://new/adapter"}, {"name": "OTHER", "value": "1"}]


def test_point_at_adapter_refuses_an_unknown_predictor() -> None:
    isvc = {"metadata": {"name": "x"}, "spec": {"predictor": {"containers": [{"name": "sidecar"}]}}}
    with pytest.raises(InvalidInput, match="kserve-container"):
        point_at_adapter(isvc, "s3://new")


class _Artifact:
    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.metadata: dict[str, Any] = {}


def test_publish_prefix_copies_the_adapter_but_not_its_checkpoints(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    for name in ("adapter_model.safetensors", "adapter_config.json", "checkpoints/step-5/state.pt"):
        (adapter / name).parent.mkdir(parents=True, exist_ok=True)
        (adapter / name).write_bytes(name.encode())
    artifact = _Artifact(tmp_path / "artifact")
    publish_prefix(storage.to_uri(adapter), artifact, steps=5)
    copied = sorted(p.relative_to(artifact.path).as_posix() for p in Path(artifact.path).rglob("*") if p.is_file())
    assert copied == ["adapter_config.json", "adapter_model.safetensors"]
    assert artifact.metadata == {"uri": storage.to_uri(adapter), "steps": 5}


def _tiny_base_and_adapter(root: Path, rank: int) -> tuple[Path, Path]:
    """A random-initialised 2-layer Llama and a real peft LoRA adapter of `rank` saved from it."""
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    base_dir, adapter_dir = root / "base", root / f"adapter-r{rank}"
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2)
    model = LlamaForCausalLM(config)
    model.save_pretrained(base_dir)
    lora = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj", "down_proj"])
    peft_model = get_peft_model(model, lora)
    peft_model.save_pretrained(adapter_dir)
    return base_dir, adapter_dir


def test_deploy_checks_the_adapter_against_the_base_before_publishing(tmp_path: Path) -> None:
    from doc2slm_pipelines.steps.deploy import verify_adapter

    base_dir, good = _tiny_base_and_adapter(tmp_path, rank=8)
    verify_adapter(storage.to_uri(good), str(base_dir))
    _, odd_rank = _tiny_base_and_adapter(tmp_path, rank=6)
    with pytest.raises(InvalidInput, match="not servable: rank r=6"):
        verify_adapter(storage.to_uri(odd_rank), str(base_dir))
    with pytest.raises(InvalidInput, match=r"no adapter_config\.json"):
        verify_adapter(storage.to_uri(tmp_path / "nothing"), str(base_dir))


def test_a_zero_paraphrase_share_is_sent_and_a_negative_one_leaves_the_server_default() -> None:
    from doc2slm_pipelines.steps.qagen import generation_options

    none_asked = generation_options(paraphrase_share=0.0)
    assert none_asked.HasField("paraphrase_share") and none_asked.paraphrase_share == 0.0
    assert not generation_options().HasField("paraphrase_share")


def _metrics(difference: float, n: int = 60) -> dict[str, Any]:
    """metrics.json as the scoring report writes it, reduced to what the gate reads."""
    return {"headline_set": "eval_heldout_questions", "sets": {"eval_heldout_questions": {
        "n": n, "systems": {"base": {"cosine": {"mean": 0.5}}, "tuned": {"cosine": {"mean": 0.5 + difference}}},
        "tuned_vs_base": {"cosine": {"mean_difference": difference,
                                     "difference_ci95": [difference - 0.02, difference + 0.02]}}}}}


def test_the_quality_gate_refuses_a_tuned_model_worse_than_its_base() -> None:
    from doc2slm_pipelines.steps.quality_gate import judge

    assert judge(_metrics(0.03), min_gain=0.0).passed
    refused = judge(_metrics(-0.01), min_gain=0.0)
    assert not refused.passed and "worse than its base" in refused.reason and refused.n == 60
    assert not judge(_metrics(0.03), min_gain=0.05).passed
    assert judge(_metrics(-0.01), min_gain=0.0, enforced=False).passed  # recorded, not enforced
    nothing = judge({"headline_set": None, "sets": {}}, min_gain=0.0)
    assert not nothing.passed and "no held-out question" in nothing.reason


def test_the_quality_gate_refuses_a_model_clearly_worse_on_the_held_out_document() -> None:
    from doc2slm_pipelines.steps.quality_gate import judge

    # The figures of an 8-epoch run picked by loss on real manuals (2026-12-07).
    metrics = _metrics(0.015, n=21)
    metrics["sets"]["eval_heldout_docs"] = {"n": 81, "tuned_vs_base": {"cosine": {
        "mean_difference": -0.217, "difference_ci95": [-0.266, -0.170], "verdict": "worse"}}}
    refused = judge(metrics, min_gain=0.0)
    assert not refused.passed and refused.mean_difference == 0.015
    assert "-0.217 on eval_heldout_docs (n=81, 95% CI -0.266 to -0.170)" in refused.reason
    assert "never trained on worse than its base" in refused.reason
    assert judge(metrics, min_gain=0.0, enforced=False).passed
    # An interval that reaches 0, or too few questions for a verdict, never refuses alone.
    metrics["sets"]["eval_heldout_docs"]["tuned_vs_base"]["cosine"]["verdict"] = "no clear difference"
    assert judge(metrics, min_gain=0.0).passed
    metrics["sets"]["eval_heldout_docs"]["tuned_vs_base"]["cosine"]["verdict"] = "too few questions"
    assert judge(metrics, min_gain=0.0).passed


def test_a_refused_adapter_is_not_published_and_the_card_says_why(tmp_path: Path) -> None:
    import json

    from doc2slm_pipelines.steps.deploy import DeploySettings, deploy_adapter

    base_dir, adapter = _tiny_base_and_adapter(tmp_path, rank=8)
    report = tmp_path / "report"
    report.mkdir()
    (report / "metrics.json").write_text(json.dumps(_metrics(-0.04)))
    # Local mode would start a predictor: refused, nothing is started and the card explains.
    card = deploy_adapter(storage.to_uri(adapter), str(tmp_path / "work"),
                          DeploySettings(mode="local", base_model=str(base_dir), local_http_port=1),
                          report_uri=storage.to_uri(report / "report.html"))
    assert card["published"] is False and card["openai_base_url"] == ""
    assert "worse than its base" in card["reason"] and card["quality_gate"]["mean_difference"] == -0.04
    assert read_card(storage.to_uri(tmp_path / "work" / "deploy_card.json")) == json.loads(json.dumps(card))
    (report / "metrics.json").write_text(json.dumps(_metrics(0.04)))
    published = deploy_adapter(storage.to_uri(adapter), str(tmp_path / "work2"),
                               DeploySettings(mode="none", base_model=str(base_dir)),
                               report_uri=storage.to_uri(report / "report.html"))
    assert published["quality_gate"]["passed"] is True and published["published"] is False  # mode none
