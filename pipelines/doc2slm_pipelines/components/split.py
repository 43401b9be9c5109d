"""KFP component: qa.jsonl -> train / held-out question / held-out document / seen / validation sets."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Output

from doc2slm_pipelines.components.images import PIPELINES_IMAGE


@dsl.component(base_image=PIPELINES_IMAGE, install_kfp_package=False)
def split(
    qa_uri: str,
    work_uri: str,
    qagen_address: str,
    split_seed: int,
    heldout_docs_share: float,
    seen_share: float,
    validation_share: float,
    train_dataset: Output[Dataset],
) -> NamedTuple("SplitOutputs", [("train_uri", str), ("eval_heldout_questions_uri", str),  # type: ignore[valid-type]
                                 ("eval_heldout_docs_uri", str), ("eval_seen_uri", str),
                                 ("eval_validation_uri", str), ("train_pairs", int)]):
    from collections import namedtuple

    from doc2slm_pipelines.steps.artifacts import publish_file
    from doc2slm_pipelines.steps.qagen import split_dataset

    outcome = split_dataset(qa_uri, work_uri, qagen_address, seed=split_seed,
                            heldout_docs_share=heldout_docs_share, seen_share=seen_share,
                            validation_share=validation_share)
    publish_file(outcome.train_uri, train_dataset, **outcome.counts)
    outputs = namedtuple("outputs", ["train_uri", "eval_heldout_questions_uri", "eval_heldout_docs_uri",
                                          "eval_seen_uri", "eval_validation_uri", "train_pairs"])
    return outputs(outcome.train_uri, outcome.eval_heldout_questions_uri, outcome.eval_heldout_docs_uri,
                   outcome.eval_seen_uri, outcome.eval_validation_uri, outcome.counts.get("train", 0))
