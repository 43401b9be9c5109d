"""Benchmark (`make bench-engines`, also run by `make bench-serve`): the local workloads on each engine.

The two CPU jobs the onnx engine exists for, timed on both engines in one run on a real manual:
- the local teacher: `doc2slm qagen` with the run's defaults on 60 chunks of the R FAQ (every k-th of its
  content chunks), against the local teacher as `doc2slm run` starts it, once per engine (DOC2SLM_ENGINE);
- the evaluation's answering step: 75 people's questions from the FAQs (their own headings), answered by the
  base and the tuned model.
Reported: wall time, ratio to transformers (target 5x), teacher calls and pairs, and for answering how many
answers equal transformers' and, apart, the onnx export of base and adapter (once per adapter, then cached).
The adapter is the last `make bench-quality` run's when there is one (answers of
a real length), else a random LoRA of the fine-tuning step's shape (its answers run longer). About 20 minutes
on 2 cores, most of it the transformers teacher.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from doc2slm_pipelines.bench_quality import MANUALS_DIR, OUT_DIR, faq_questions
from doc2slm_pipelines.local_stack import TEACHER_MODEL, LocalStack

ENGINES = ("transformers", "onnx")
TARGET_RATIO = 5.0
TEACHER_CHUNKS = 60
QUESTIONS = 75
TEACHER_PORT = 18280


def spread(rows: list[Any], count: int) -> list[Any]:
    """`count` rows spread evenly from the first to the last of `rows` (all of them when there are fewer)."""
    if len(rows) <= count:
        return rows
    return [rows[index * len(rows) // count] for index in range(count)]


def extract(manuals: list[Path], out: Path) -> list[dict[str, Any]]:
    doctool = Path(sys.executable).parent / "doc2slm"
    subprocess.run([str(doctool), "extract", *map(str, manuals), "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return [json.loads(line) for line in out.read_text().splitlines() if line]


def time_teacher(engine: str, chunks: Path, work: Path) -> dict[str, Any]:
    """qagen against a local teacher on `engine`, started and stopped here."""
    stack = LocalStack(log_dir=work, teacher_port=TEACHER_PORT, teacher_engine=engine)
    stack.supervisor.start(stack.teacher_spec())
    try:
        stack.supervisor.wait_ready(timeout_s=600)
        env = {**os.environ, **stack.service_env()}
        started = time.monotonic()
        subprocess.run([str(Path(sys.executable).parent / "doc2slm"), "qagen", str(chunks), "--out",
                        str(work / "qa.jsonl"), "--teacher-base-url", stack.teacher_base_url, "--teacher-model",
                        TEACHER_MODEL, "--concurrency", str(stack.teacher_concurrency),
                        "--max-teacher-requests", "100000", "--cache", str(work / "cache")],
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - started
    finally:
        stack.stop()
    card = json.loads((work / "generation_card.json").read_text())
    pairs = sum(1 for line in (work / "qa.jsonl").read_text().splitlines() if line)
    return {"engine": engine, "wall_s": round(wall, 1), "pairs": pairs, "teacher_calls": card["teacher_calls"]}


def time_answers(engine: str, records: list[dict[str, Any]], adapter: Path) -> dict[str, Any]:
    """Answering time; for onnx the export of base and adapter (once per adapter, then cached) apart."""
    from doc2slm_pipelines.answering import answer_base_and_tuned

    export_s = 0.0
    if engine == "onnx":
        from doc2slm_common.basemodel import resolve_base_model
        from doc2slm_serving.onnx_export import exported_model

        from doc2slm_pipelines.answering_onnx import answering_precision

        started = time.monotonic()
        for adapter_dir in (None, adapter):
            exported_model(resolve_base_model(None), answering_precision(), adapter_dir=adapter_dir)
        export_s = time.monotonic() - started
    started = time.monotonic()
    answered = answer_base_and_tuned(records, base_model=None, adapter_uri=str(adapter), engine=engine)
    return {"engine": engine, "questions": len(records), "wall_s": round(time.monotonic() - started, 1),
            "export_s": round(export_s, 1),
            "answers": [a["base_answer"] for a in answered] + [a["tuned_answer"] for a in answered]}


def adapter_for(work: Path, chosen: Path | None) -> tuple[Path, str]:
    if chosen is not None:
        return chosen, str(chosen)
    trained = OUT_DIR / "adapter"
    if (trained / "adapter_config.json").is_file():
        return trained, f"{trained} (the last bench-quality run's)"
    from doc2slm_common.basemodel import resolve_base_model
    from doc2slm_serving.bench import make_adapter

    return make_adapter(resolve_base_model(None), work / "random-adapter"), "a random LoRA (r=16, all projections)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manuals", type=Path, default=MANUALS_DIR)
    parser.add_argument("--adapter", type=Path, default=None, help="the tuned model's adapter for answering")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--only", choices=["teacher", "answering"], default="", help="time one workload only")
    args = parser.parse_args(argv)
    if subprocess.run(["bash", "scripts/fetch_manuals.sh", str(args.manuals), "quality"]).returncode != 0:
        print("bench-engines: the real manuals could not be fetched; nothing to measure", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as temp:
        work = Path(temp)
        chunks = extract(sorted(args.manuals.glob("*.pdf")), work / "chunks.jsonl")
        faq = spread([c for c in chunks if c["source"] == "R-FAQ.pdf"], TEACHER_CHUNKS)
        (work / "teacher_chunks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in faq))
        result: dict[str, Any] = {}
        if args.only in ("", "teacher"):
            result["teacher"] = []
            for engine in ENGINES:
                (work / engine).mkdir()
                result["teacher"].append(time_teacher(engine, work / "teacher_chunks.jsonl", work / engine))
                print(f"teacher on {len(faq)} R FAQ chunks, {engine}: {result['teacher'][-1]}", flush=True)
            result["teacher_ratio"] = result["teacher"][0]["wall_s"] / max(result["teacher"][1]["wall_s"], 1e-9)
        if args.only in ("", "answering"):
            questions = spread(faq_questions(chunks), QUESTIONS)
            records = [{"set": "faq", "question": q["question"], "reference": q["answer"]} for q in questions]
            adapter, result["adapter"] = adapter_for(work, args.adapter)
            answering = [time_answers(engine, records, adapter) for engine in ENGINES]
            reference = answering[0].pop("answers")
            onnx_answers = answering[1].pop("answers")
            answering[1]["answers_equal_to_transformers"] = (
                f"{sum(a == b for a, b in zip(onnx_answers, reference, strict=True))}/{len(reference)}")
            result["answering"] = answering
            result["answer_ratio"] = answering[0]["wall_s"] / max(answering[1]["wall_s"], 1e-9)
    print(json.dumps(result, indent=2))
    for name, key in (("local teacher", "teacher_ratio"), ("answering (exports cached)", "answer_ratio")):
        if key in result:
            verdict = "meets" if result[key] >= TARGET_RATIO else "BELOW"
            print(f"{name}: onnx {result[key]:.2f}x transformers' speed ({verdict} the {TARGET_RATIO:.0f}x target)")
    if args.json is not None:
        args.json.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
