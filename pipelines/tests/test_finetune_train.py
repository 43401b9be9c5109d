"""The fine-tune step on a tiny random Llama on CPU: loss falls, the adapter loads and changes outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from doc2slm_common.errors import InvalidInput, LimitExceeded
from doc2slm_pipelines.finetune import FinetuneConfig, FinetuneInputs, finetune
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Path:
    root = tmp_path_factory.mktemp("finetune")
    (root / "tiny").symlink_to(tiny_base_model, target_is_directory=True)
    write_jsonl(root / "train.jsonl", qa_records(32))
    write_jsonl(root / "eval.jsonl", qa_records(6, doc_id="doc-b"))
    return root


def small_config(**overrides: object) -> FinetuneConfig:
    values: dict[str, object] = {"max_steps": 16, "batch_size": 4, "max_length": 64, "learning_rate": 3e-3,
                                 "lora_rank": 8, "checkpoint_every": 0, "log_every": 4}
    values.update(overrides)
    return FinetuneConfig(**values).validate()  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def trained(workdir: Path) -> tuple[Path, dict]:
    out = workdir / "adapter"
    card = finetune(FinetuneInputs(str(workdir / "train.jsonl"), str(out), str(workdir / "tiny"),
                                   eval_uri=str(workdir / "eval.jsonl")), small_config())
    return out, card


def test_loss_falls_and_card_records_the_run(trained: tuple[Path, dict]) -> None:
    out, card = trained
    losses = [loss for _step, loss in card["loss_curve"]]
    assert len(losses) == 16
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 0.2
    for name in ("adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "training_card.json"):
        assert (out / name).is_file(), name
    written = json.loads((out / "training_card.json").read_text())
    assert written["fingerprint"] == card["fingerprint"]
    assert "float32" in card["precision"] and card["device"].startswith("cpu")
    assert card["data"]["qa_pairs"] == 32 and card["data"]["eval_examples"] == 6
    assert card["eval_loss"] is not None and card["tokens_per_s"] > 0 and card["peak_memory_gib"] > 0
    assert card["estimate"]["total_steps"] == 16 and card["hyperparameters"]["lora_rank"] == 8
    assert not (out / "checkpoints").exists()


def test_adapter_loads_with_peft_and_changes_the_output(workdir: Path, trained: tuple[Path, dict]) -> None:
    out, _card = trained
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    base = AutoModelForCausalLM.from_pretrained(str(workdir / "tiny"), dtype=torch.float32).eval()
    inputs = tokenizer(["What is the code of part 3?"], return_tensors="pt")
    with torch.no_grad():
        base_logits = base(**inputs).logits.clone()
        tuned = PeftModel.from_pretrained(base, str(out)).eval()
        tuned_logits = tuned(**inputs).logits
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 8
    assert set(config["target_modules"]) >= {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "down_proj"}
    assert (tuned_logits - base_logits).abs().max() > 1e-3


def test_rerun_with_same_inputs_reuses_the_adapter(workdir: Path, trained: tuple[Path, dict]) -> None:
    out, card = trained
    stamp = (out / "adapter_model.safetensors").stat().st_mtime_ns
    again = finetune(FinetuneInputs(str(workdir / "train.jsonl"), str(out), str(workdir / "tiny"),
                                    eval_uri=str(workdir / "eval.jsonl")), small_config())
    assert again["fingerprint"] == card["fingerprint"]
    assert (out / "adapter_model.safetensors").stat().st_mtime_ns == stamp


def test_a_fine_tune_with_embedding_noise_learns_and_differs_from_one_without(
        workdir: Path, trained: tuple[Path, dict]) -> None:
    out = workdir / "adapter-neftune"
    card = finetune(FinetuneInputs(str(workdir / "train.jsonl"), str(out), str(workdir / "tiny"),
                                   eval_uri=str(workdir / "eval.jsonl")), small_config(neftune_alpha=5.0))
    assert card["hyperparameters"]["neftune_alpha"] == 5.0
    losses = [loss for _step, loss in card["loss_curve"]]
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 0.2
    clean = load_file(str(trained[0] / "adapter_model.safetensors"))
    noisy = load_file(str(out / "adapter_model.safetensors"))
    assert any(not torch.equal(clean[name], noisy[name]) for name in clean)


def test_4bit_path_runs_a_step_on_cpu_through_bitsandbytes(workdir: Path) -> None:
    card = finetune(FinetuneInputs(str(workdir / "train.jsonl"), str(workdir / "adapter4"),
                                   str(workdir / "tiny")), small_config(max_steps=1, force_4bit=True))
    assert "4-bit NF4" in card["precision"]
    assert card["steps"] == 1 and card["final_loss"] > 0


def test_memory_that_cannot_fit_is_refused_before_loading(workdir: Path) -> None:
    config = small_config(max_length=4096, batch_size=64, memory_fraction=0.0001)
    with pytest.raises(LimitExceeded, match=r"max_length=4096 x batch_size=64"):
        finetune(FinetuneInputs(str(workdir / "train.jsonl"), str(workdir / "refused"), str(workdir / "tiny")),
                 config)
    assert not (workdir / "refused").exists()


@pytest.mark.parametrize(("field", "value"), [("lora_rank", 0), ("lora_dropout", 1.0), ("mix_chunks_share", 1.0),
                                              ("device", "tpu"), ("max_length", 8), ("neftune_alpha", -1.0)])
def test_bad_settings_name_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInput, match=field):
        FinetuneConfig(**{field: value}).validate()  # type: ignore[arg-type]


def test_records_without_question_are_refused(workdir: Path, tmp_path: Path) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"answer": "orphan"}])  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="record 0"):
        finetune(FinetuneInputs(str(bad), str(tmp_path / "out"), str(workdir / "tiny")), small_config())


class _Interrupted(Exception):
    pass


def test_checkpoints_and_adapter_in_s3_resume_after_an_interruption(workdir: Path, s3_env: object) -> None:
    import uuid

    from doc2slm_common import storage
    from doc2slm_pipelines.answering import answer_base_and_tuned

    out = f"s3://ft-{uuid.uuid4().hex[:8]}/adapter"
    inputs = FinetuneInputs(str(workdir / "train.jsonl"), out, str(workdir / "tiny"))
    config = small_config(max_steps=4, checkpoint_every=2)

    def stop_at_three(step: int, total: int, loss: float) -> None:
        if step == 3:
            raise _Interrupted

    with pytest.raises(_Interrupted):
        finetune(inputs, config, on_step=stop_at_three)
    assert json.loads(storage.read_text(f"{out}/checkpoints/latest.json"))["step"] == 2
    card = finetune(inputs, config)
    assert card["resumed_from_step"] == 2 and card["steps"] == 4
    assert storage.exists(f"{out}/adapter_model.safetensors") and storage.exists(f"{out}/training_card.json")
    answered = answer_base_and_tuned([{"set": "s", "question": "What is the code of part 1?", "reference": "x"}],
                                     base_model=str(workdir / "tiny"), adapter_uri=out, max_new_tokens=2)
    assert len(answered) == 1 and set(answered[0]) >= {"base_answer", "tuned_answer"}
