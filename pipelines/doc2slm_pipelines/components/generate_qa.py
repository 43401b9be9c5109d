"""KFP component: chunks.jsonl -> qa.jsonl through QAGenService and the teacher it is pointed at."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Output

from doc2slm_pipelines.components.images import PIPELINES_IMAGE


@dsl.component(base_image=PIPELINES_IMAGE, install_kfp_package=False)
def generate_qa(
    chunks_uri: str,
    work_uri: str,
    qagen_address: str,
    teacher_base_url: str,
    teacher_model: str,
    pairs_per_chunk: int,
    questions_per_answer: int,
    generation_mode: str,
    paraphrase_share: float,
    max_teacher_requests: int,
    qa_dataset: Output[Dataset],
) -> NamedTuple("GenerateOutputs", [("qa_uri", str), ("pairs", int)]):  # type: ignore[valid-type]
    """Ask the teacher, through QAGenService, for grounded QA pairs on every chunk -> `<work_uri>/qa.jsonl`.

    The teacher cache lives under `work_uri`, so a re-run on the same chunks makes no teacher call; a chunk
    that fails is counted in generation_card.json and the run goes on.

    Args:
        chunks_uri: Chunks.jsonl written by the extract step.
        work_uri: The run's prefix; qa.jsonl, generation_card.json and teacher_cache/ are written under it.
        qagen_address: HOST:PORT of QAGenService.
        teacher_base_url: OpenAI-compatible base URL of the teacher; empty: the service's setting.
        teacher_model: Teacher model name; empty: the service's setting.
        pairs_per_chunk: Answers (or QA pairs) asked for per chunk; 0: the service's setting (3).
        questions_per_answer: Answer_first: training questions per answer sentence; 0: the service's
            setting (3).
        generation_mode: Question_answer or answer_first (weak teachers); empty: the service's setting.
        paraphrase_share: Share of chunks whose questions are asked again in other words (held-out
            questions), 0 to 1; negative: the service's setting (0.5).
        max_teacher_requests: Stop after this many teacher requests (a request may lower the service's
            budget, never raise it); 0: the service's setting.

    Returns:
        qa_dataset: Qa.jsonl as a Dataset, with the pair and chunk counts.
        qa_uri: URI of the qa.jsonl written.
        pairs: QA pairs kept.
    """
    from collections import namedtuple

    from doc2slm_pipelines.steps.artifacts import publish_file
    from doc2slm_pipelines.steps.qagen import generate_pairs, generation_options

    options = generation_options(teacher_base_url=teacher_base_url, teacher_model=teacher_model,
                                 pairs_per_chunk=pairs_per_chunk, questions_per_answer=questions_per_answer,
                                 mode=generation_mode,
                                 max_requests=max_teacher_requests, paraphrase_share=paraphrase_share)
    outcome = generate_pairs(chunks_uri, work_uri, qagen_address, options)
    publish_file(outcome.qa_uri, qa_dataset, pairs=outcome.pairs, chunks_with_pair=outcome.chunks_with_pair)
    outputs = namedtuple("outputs", ["qa_uri", "pairs"])
    return outputs(outcome.qa_uri, outcome.pairs)
