"""Question contrast: wrong-question partners, the packed copy kept apart, the losses, and a run that uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from doc2slm_common.basemodel import resolve_base_model
from doc2slm_common.errors import InvalidInput
from doc2slm_pipelines.finetune import FinetuneConfig, FinetuneInputs, finetune
from doc2slm_pipelines.finetune.batching import collate
from doc2slm_pipelines.finetune.contrast import (
    SLOTS,
    answer_log_likelihoods,
    contrast_losses,
    with_wrong_questions,
    wrong_question_partners,
)
from doc2slm_pipelines.finetune.data import IGNORE_INDEX, DataCard, build_examples, tokenize_pair
from doc2slm_pipelines.finetune.synthetic import qa_records, write_jsonl
from doc2slm_pipelines.steps.records import ADAPTER_DIR
from doc2slm_pipelines.summary import format_summary, load_summary
from transformers import AutoModelForCausalLM, AutoTokenizer

STEPS = 8  # the effect is clear by then (16 steps: 3.4 against 0.8 nats/token)


@pytest.fixture(scope="module")
def tiny(tiny_base_model: Path) -> tuple[object, object]:
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_base_model))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_base_model)).eval()
    return tokenizer, model


def test_partners_have_another_answer_from_the_same_document_when_there_is_one() -> None:
    answers = ["a1", "a1", "a1", "a2", "b1", "b2", "c1"]
    docs = ["A", "A", "A", "A", "B", "B", "C"]
    partners = wrong_question_partners(answers, docs, seed=3)
    assert partners == wrong_question_partners(answers, docs, seed=3)  # seeded
    for index, partner in enumerate(partners):
        assert partner is not None and answers[partner] != answers[index], (index, partner)
        if docs[index] != "C":
            assert docs[partner] == docs[index]
    # The last document has one answer only: its partner comes from elsewhere. One answer for all: none.
    assert docs[partners[6]] != "C"  # type: ignore[index]
    assert wrong_question_partners(["same", " Same "], ["A", "B"], seed=0) == [None, None]


def _contrast_example(tokenizer: object, records: list[dict[str, str]], max_length: int = 128) -> tuple:
    examples, card = build_examples(tokenizer, records, max_length)
    return with_wrong_questions(tokenizer, examples, records, max_length, seed=0, card=card), card


def test_the_wrong_question_copy_is_the_same_answer_and_is_not_trained(tiny: tuple) -> None:
    tokenizer, _model = tiny
    records = qa_records(4)
    examples, card = _contrast_example(tokenizer, records)
    assert card.contrast_pairs == 4 and card.tokens == sum(len(e.input_ids) for e in examples)
    for example in examples:
        plain = tokenize_pair(tokenizer, records[example.record]["question"], records[example.record]["answer"],
                              128, DataCard())
        assert plain is not None and example.input_ids[:example.contrast_start] == plain.input_ids
        answer = [t for t in plain.labels if t != IGNORE_INDEX]
        assert example.input_ids[-len(answer):] == answer
        assert all(label == IGNORE_INDEX for label in example.labels[example.contrast_start:])
    # The plain examples are left as they are (the validation slice's loss stream keeps them).
    plain_examples, plain_card = build_examples(tokenizer, records, 128)
    with_wrong_questions(tokenizer, plain_examples, records, 128, seed=0, card=plain_card)
    assert all(e.contrast_start == 0 and e.labels[-1] != IGNORE_INDEX for e in plain_examples)
    # No room for the copy: the example stays plain.
    short, short_card = _contrast_example(tokenizer, records, max_length=40)
    assert short_card.contrast_pairs == 0 and all(e.contrast_start == 0 for e in short)


def test_packed_copy_sees_only_its_own_question(tiny: tuple) -> None:
    """The copy's log-likelihoods equal those of the wrong-question pair scored alone, and the right copy's
    those of the plain pair: position ids restart, so packing's block-diagonal mask keeps them apart."""
    tokenizer, model = tiny
    records = qa_records(3)
    examples, _card = _contrast_example(tokenizer, records)
    batch = collate(examples, [[0, 1, 2]], tokenizer.pad_token_id, packing=True)
    assert batch.contrast_pairs == 3
    inputs = {k: v for k, v in batch.tensors.items() if k not in (SLOTS, "labels")}
    with torch.no_grad():
        # use_cache=False as in training: only then does transformers build the block mask from position ids.
        logits = model(**inputs, use_cache=False).logits
        right, wrong = answer_log_likelihoods(logits, inputs["input_ids"], batch.tensors[SLOTS], 3)
    for k, example in enumerate(examples):
        prompt_end = example.contrast_start
        wrong_ids = example.input_ids[prompt_end:]
        n = sum(1 for t in example.labels if t != IGNORE_INDEX)
        for ids, expected in ((example.input_ids[:prompt_end], right[k]), (wrong_ids, wrong[k])):
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0]
            lp = torch.log_softmax(logits[:-1].float(), -1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
            assert float(lp[-n:].mean()) == pytest.approx(float(expected), abs=1e-4)


def test_answer_loss_is_the_models_own_and_the_penalty_follows_the_margin(tiny: tuple) -> None:
    tokenizer, model = tiny
    examples, _card = _contrast_example(tokenizer, qa_records(4))
    batch = collate(examples, [[0, 1], [2, 3]], tokenizer.pad_token_id, packing=True)
    plain = {k: v for k, v in batch.tensors.items() if k != SLOTS}
    with torch.no_grad():
        own = model(**plain, num_items_in_batch=batch.label_tokens, use_cache=False).loss
        answer, penalty = contrast_losses(model, dict(batch.tensors), 4, batch.label_tokens, 4, 1.0, 1.0)
        _a, bigger = contrast_losses(model, dict(batch.tensors), 4, batch.label_tokens, 4, 1.0, 3.0)
        _a, doubled = contrast_losses(model, dict(batch.tensors), 4, batch.label_tokens, 4, 2.0, 1.0)
    assert float(answer) == pytest.approx(float(own), rel=1e-5)
    assert 0 < float(penalty) < float(bigger)
    assert float(doubled) == pytest.approx(2 * float(penalty), rel=1e-5)


def test_contrast_needs_packing() -> None:
    with pytest.raises(InvalidInput, match="packing"):
        FinetuneConfig(contrast_weight=1.0, packing=False).validate()
    with pytest.raises(InvalidInput, match="contrast_margin"):
        FinetuneConfig(contrast_margin=0.0).validate()


def test_training_with_contrast_makes_answers_lean_on_the_question(tmp_path: Path) -> None:
    """The bundled SmolLM2 (a tiny random model cannot learn to copy from the question, with or without
    the term), against the same run without the term: the validation answers depend more on their question,
    and the card records the term's curve and the question's value from the base model on."""
    base = str(resolve_base_model(None))
    write_jsonl(tmp_path / "train.jsonl", qa_records(32))
    write_jsonl(tmp_path / "eval.jsonl", qa_records(8, doc_id="doc-b", offset=40))
    cards = {}
    for weight in (0.0, 1.0):
        config = FinetuneConfig(max_steps=STEPS, batch_size=4, max_length=128, learning_rate=1e-3, lora_rank=8,
                                checkpoint_every=0, eval_every=STEPS // 2, validation_metric="loss",
                                early_stopping_patience=0, mix_chunks_share=0.0, contrast_weight=weight,
                                contrast_margin=3.0).validate()
        cards[weight] = finetune(FinetuneInputs(str(tmp_path / "train.jsonl"), str(tmp_path / f"out-{weight}"),
                                                base, eval_uri=str(tmp_path / "eval.jsonl")), config)
    plain, contrasted = cards[0.0], cards[1.0]
    assert plain["data"]["contrast_pairs"] == 0 and plain["contrast_curve"] == []
    assert contrasted["data"]["contrast_pairs"] == 32 and len(contrasted["contrast_curve"]) == STEPS
    value, value_plain = contrasted["validation"]["question_value"], plain["validation"]["question_value"]
    assert value["base"] == value_plain["base"] is not None  # the same untrained model
    assert [s for s, _v in value["curve"]] == [STEPS // 2, STEPS]
    assert value["at_best_step"] == dict(value["curve"])[contrasted["validation"]["best_step"]]
    assert value["curve"][-1][1] > value_plain["curve"][-1][1] + 0.5
    # The run summary reads it back from the card the trainer wrote.
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / ADAPTER_DIR).symlink_to(tmp_path / "out-1.0", target_is_directory=True)
    text = format_summary(load_summary(str(tmp_path / "work")))
    line = next(line for line in text.splitlines() if "question's value" in line)
    assert f"base {value['base']:.2f} -> {value['at_best_step']:.2f} nats/token" in line
    assert line.endswith("lean on the question more")


def test_the_summary_says_when_answers_lean_on_the_question_less(tmp_path: Path) -> None:
    # bq22's figures: the right question was worth 0.69 nats/token to the base model, 0.59 to the tuned one.
    (tmp_path / ADAPTER_DIR).mkdir()
    card = {"steps": 110, "validation": {"question_value": {"base": 0.69, "curve": [[55, 0.6], [110, 0.59]],
                                                            "at_best_step": 0.59}}}
    (tmp_path / ADAPTER_DIR / "training_card.json").write_text(json.dumps(card))
    text = format_summary(load_summary(str(tmp_path)))
    assert "question's value: base 0.69 -> 0.59" in text and "learnt the documents' text" in text
    (tmp_path / ADAPTER_DIR / "training_card.json").write_text(json.dumps({"steps": 3, "validation": {}}))
    assert "question's value" not in format_summary(load_summary(str(tmp_path)))
