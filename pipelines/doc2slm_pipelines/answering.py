"""Answers of the base model and of the tuned adapter to every evaluation question.

Both answer with the same prompt (the training chat template, `finetune.data.format_prompt`) and the same
generation settings (greedy, same max_new_tokens), so the only difference between the two columns is the
adapter. One model in memory serves both: the base answers come from the PeftModel with its adapter
disabled. Prompts are sorted by length and batched with left padding, which keeps padded positions (wasted
CPU time) few. Output records, one per question, are what the scoring report reads:
{set, question, reference, base_answer, tuned_answer, doc_id, chunk_id}.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput

from doc2slm_pipelines.engine_choice import checked_engine, configured_engine

log = logging.getLogger(__name__)
ANSWER_FIELDS = ("set", "question", "reference", "base_answer", "tuned_answer", "doc_id", "chunk_id")
# Called after each generated batch with (questions answered, questions in all) for both passes together.
ProgressCallback = Callable[[int, int], None]


def records_from_eval_files(set_uris: dict[str, str] | Sequence[str]) -> list[dict[str, Any]]:
    """Eval JSONL files of {question, answer, ...} -> records to answer; a list names each set by its
    file stem (eval_heldout_questions.jsonl -> "eval_heldout_questions")."""
    named = (set_uris if isinstance(set_uris, dict)
             else {Path(storage.to_uri(u)).stem: u for u in set_uris})
    records: list[dict[str, Any]] = []
    for name, uri in named.items():
        for number, row in enumerate(storage.read_jsonl(uri), start=1):
            if not isinstance(row.get("question"), str) or not isinstance(row.get("answer"), str):
                raise InvalidInput(f"{uri} record {number} lacks string 'question' and 'answer' fields")
            records.append({"set": name, "question": row["question"], "reference": row["answer"],
                            "doc_id": row.get("doc_id", ""), "chunk_id": row.get("chunk_id", "")})
    return records


@contextlib.contextmanager
def local_adapter_dir(adapter_uri: str) -> Iterator[Path]:
    """The adapter as a local directory (downloaded to a temporary one when it lives in s3://)."""
    uri = storage.to_uri(adapter_uri)
    if not storage.is_s3(uri):
        path = storage.local_path(uri)
        if not (path / "adapter_config.json").is_file():
            raise InvalidInput(f"{path} is not an adapter directory (no adapter_config.json)")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="doc2slm-adapter-") as tmp:
        yield storage.download_prefix(uri, tmp)


def load_base_and_adapter(base_model: str | None, adapter_dir: Path, device: torch.device) -> tuple[Any, Any]:
    from doc2slm_common.basemodel import resolve_base_model
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir = resolve_base_model(base_model or None)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    tokenizer.padding_side = "left"  # generation appends on the right, so pads go on the left
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    base = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=dtype).to(device)  # type: ignore[arg-type]
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    return model, tokenizer


@torch.inference_mode()
def generate_answers(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int,
                     batch_size: int, on_batch: Callable[[int], None] | None = None) -> list[str]:
    """Greedy answers to `prompts`, in their order; batches hold prompts of similar length."""
    device = next(model.parameters()).device
    eos = {tokenizer.eos_token_id, *_as_list(model.generation_config.eos_token_id)} - {None}
    settings = {"max_new_tokens": max_new_tokens, "do_sample": False, "num_beams": 1,
                "pad_token_id": tokenizer.pad_token_id, "eos_token_id": sorted(eos),
                "temperature": None, "top_p": None, "top_k": None}
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    answers: list[str] = [""] * len(prompts)
    for start in range(0, len(order), batch_size):
        chosen = order[start: start + batch_size]
        batch = tokenizer([prompts[i] for i in chosen], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(device)
        output = model.generate(**batch, **settings)
        new_tokens = output[:, batch["input_ids"].shape[1]:]
        for i, text in zip(chosen, tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True):
            answers[i] = text.strip()
        if on_batch is not None:
            on_batch(len(chosen))
    return answers


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def answer_base_and_tuned(records: Sequence[dict[str, Any]], *, base_model: str | None, adapter_uri: str,
                          max_new_tokens: int = 64, batch_size: int = 8, device: str = "auto",
                          on_progress: ProgressCallback | None = None,
                          engine: str | None = None) -> list[dict[str, Any]]:
    """Records {set, question, reference, doc_id, chunk_id} -> the same with base_answer, tuned_answer.

    `engine` (default: DOC2SLM_ENGINE, else transformers): "onnx" answers through the serving component's
    onnx engine on the CPU (answering_onnx.py), transformers is the reference and GPU path.
    """
    from doc2slm_pipelines.finetune.data import format_prompt

    if max_new_tokens < 1 or batch_size < 1:
        raise InvalidInput("max_new_tokens and batch_size must be >= 1")
    chosen = checked_engine(engine) if engine else configured_engine()
    if not records:
        return []
    target = torch.device("cuda" if device == "auto" and torch.cuda.is_available()
                          else "cpu" if device == "auto" else device)
    done, total = 0, 2 * len(records)

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if on_progress is not None:
            on_progress(done, total)

    with local_adapter_dir(adapter_uri) as adapter_dir:
        if chosen == "onnx" and target.type == "cpu":
            from doc2slm_pipelines.answering_onnx import onnx_answers

            base, tuned = onnx_answers(base_model, adapter_dir, [str(r["question"]) for r in records],
                                       max_new_tokens=max_new_tokens, batch_size=batch_size, on_batch=advance)
            return _with_answers(records, base, tuned)
        model, tokenizer = load_base_and_adapter(base_model, adapter_dir, target)
        prompts = [format_prompt(tokenizer, str(r["question"])) for r in records]
        with model.disable_adapter():
            base = generate_answers(model, tokenizer, prompts, max_new_tokens=max_new_tokens,
                                    batch_size=batch_size, on_batch=advance)
        tuned = generate_answers(model, tokenizer, prompts, max_new_tokens=max_new_tokens,
                                 batch_size=batch_size, on_batch=advance)
    log.info("answered %d questions with the base and the tuned model", len(records))
    return _with_answers(records, base, tuned)


def _with_answers(records: Sequence[dict[str, Any]], base: list[str], tuned: list[str]) -> list[dict[str, Any]]:
    return [{"set": r.get("set", ""), "question": r["question"], "reference": r.get("reference", ""),
             "base_answer": b, "tuned_answer": t, "doc_id": r.get("doc_id", ""),
             "chunk_id": r.get("chunk_id", "")} for r, b, t in zip(records, base, tuned, strict=True)]


def answer_eval_files(set_uris: dict[str, str] | Sequence[str], *, base_model: str | None, adapter_uri: str,
                      out_uri: str, max_new_tokens: int = 64, batch_size: int = 8,
                      on_progress: ProgressCallback | None = None, engine: str | None = None) -> list[dict[str, Any]]:
    """Answer every question of the eval files and write them to `out_uri` (answers.jsonl)."""
    answered = answer_base_and_tuned(records_from_eval_files(set_uris), base_model=base_model,
                                     adapter_uri=adapter_uri, max_new_tokens=max_new_tokens,
                                     batch_size=batch_size, on_progress=on_progress, engine=engine)
    storage.write_jsonl(out_uri, answered)
    return answered
