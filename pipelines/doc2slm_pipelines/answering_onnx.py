"""The evaluation's answers through the serving component's onnx engine (DOC2SLM_ENGINE=onnx).

The same prompts and greedy settings as the transformers path in answering.py; the base answers come from
the exported base model, the tuned ones from the adapter merged into the base and exported (both cached,
see doc2slm_serving.onnx_export). Every question is queued at once: the engine decodes up to
`batch_size` rows together, at least ONNX_BATCH_SIZE, each finished row's slot taken by the next question.

Weights: float32 unless DOC2SLM_ONNX_PRECISION says otherwise, because the evaluation's figures must not move
with the engine. Measured on 75 people's questions about the R FAQ: float32 gave transformers' mean cosines
exactly (base/tuned 0.492/0.542 and 0.421/0.467 on two sets), int8 moved the tuned-minus-base gain from
+0.050/+0.046 to +0.033/+0.012.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from doc2slm_common.errors import InvalidInput

log = logging.getLogger(__name__)
TUNED = "tuned"


# Rows decoded together. On 2 cores, 150 answers of up to 64 tokens (fp32): 42.5 s at 8 rows, 32.9 s at 16,
# 33.3 s at 32 with a thread pool per model; with one pool for both models (kv_decoder.shared_thread_pool)
# 26.7 and 29.2 s at 16, 24.8 at 24, 23.0 and 22.2 at 32, 25.6 at 48. The same answers at every size.
ONNX_BATCH_SIZE = 32


def answering_precision() -> str:
    """DOC2SLM_ONNX_PRECISION (the serving component's setting too), float32 when unset."""
    from doc2slm_serving.onnx_export import PRECISIONS

    chosen = os.environ.get("DOC2SLM_ONNX_PRECISION", "").strip() or "fp32"
    if chosen not in PRECISIONS:
        raise InvalidInput(f"DOC2SLM_ONNX_PRECISION must be one of {', '.join(PRECISIONS)}, got {chosen!r}")
    return chosen


def onnx_answers(base_model: str | None, adapter_dir: Path, questions: Sequence[str], *, max_new_tokens: int,
                 batch_size: int, on_batch: Callable[[int], None] | None = None) -> tuple[list[str], list[str]]:
    """(base answers, tuned answers) to `questions`, in their order."""
    from doc2slm_common.basemodel import resolve_base_model
    from doc2slm_serving.engine_base import CollectingSink
    from doc2slm_serving.engine_onnx import OnnxGenerationEngine
    from doc2slm_serving.params import SamplingParams
    from doc2slm_serving.rows import GenerationRequest

    from doc2slm_pipelines.finetune.data import format_prompt

    engine = OnnxGenerationEngine(resolve_base_model(base_model or None), precision=answering_precision(),
                                  max_batch_size=max(batch_size, ONNX_BATCH_SIZE), max_queue=2 * len(questions) + 1,
                                  batch_wait_s=0.0)
    engine.load()
    try:
        # Like the transformers path, any adapter the trainer made is judged; whether vLLM could serve it is
        # the deploy step's question.
        engine.load_adapter(TUNED, adapter_dir, servable_check=False)
        params = SamplingParams(max_new_tokens=max_new_tokens)
        prompts = [engine.encode_text(format_prompt(engine.tokenizer, question)) for question in questions]
        sinks: dict[str | None, list[CollectingSink]] = {}
        for adapter in (None, TUNED):
            sinks[adapter] = [CollectingSink() for _ in prompts]
            for prompt, sink in zip(prompts, sinks[adapter], strict=True):
                engine.submit(GenerationRequest(prompt, adapter, params, sink))
        answers: dict[str | None, list[str]] = {}
        for adapter, group in sinks.items():
            answers[adapter] = []
            for sink in group:
                try:
                    completion = sink.completion()
                except Exception as error:
                    raise InvalidInput(f"the onnx engine failed to answer: {error}") from error
                answers[adapter].append(completion.text.strip())
                if on_batch is not None:
                    on_batch(1)
    finally:
        engine.close()
    log.info("answered %d questions with the base and the tuned model (onnx engine)", len(questions))
    return answers[None], answers[TUNED]
