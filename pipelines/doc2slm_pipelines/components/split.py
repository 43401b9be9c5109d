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
    """Split qa.jsonl, through QAGenService, into train and the held-out sets under `<work_uri>/split/`.

    The same input and seed give the same files; a split that leaves nothing to train on fails the step.

    Args:
        qa_uri: Qa.jsonl written by the generate step.
        work_uri: The run's prefix; split/ and split_card.json are written under it.
        qagen_address: HOST:PORT of QAGenService.
        split_seed: Seed of the split; 0: the service's setting (13).
        heldout_docs_share: Share of documents held back whole (with 3 documents or more), 0 to 1;
            negative: the service's setting.
        seen_share: Share of train pairs copied into eval_seen, 0 to 1; negative: the service's setting.
        validation_share: Share of held-out questions set aside to pick the checkpoint, 0 to 1; negative:
            the service's setting.

    Returns:
        train_dataset: Train.jsonl as a Dataset, with the count of every set.
        train_uri: Train.jsonl.
        eval_heldout_questions_uri: Trained facts asked in words never trained on (the main measure).
        eval_heldout_docs_uri: Questions about documents held back whole.
        eval_seen_uri: A sample of train pairs (the memorisation ceiling).
        eval_validation_uri: Held-out questions the fine-tune step picks its checkpoint on.
        train_pairs: Pairs in train.jsonl.
    """
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
