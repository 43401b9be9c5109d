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
