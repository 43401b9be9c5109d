"""KFP component: LoRA/QLoRA fine-tune on the train split -> adapter/ (in the pod, or as a Trainer job).

The pipeline gives this task the GPU (accelerator type and limit, node selector, tolerations). With
`trainer_nodes > 0` it instead creates a TrainJob/PyTorchJob over trainer_nodes x trainer_gpus_per_node
and waits for it, with the same node selector and tolerations.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Metrics, Model, Output

from doc2slm_pipelines.components.images import PIPELINES_GPU_IMAGE


@dsl.component(base_image=PIPELINES_GPU_IMAGE, install_kfp_package=False)
def finetune(
    train_uri: str,
    eval_uri: str,
    chunks_uri: str,
    work_uri: str,
    base_model: str,
    finetune_config: str,
    trainer_nodes: int,
    trainer_gpus_per_node: int,
    trainer_image: str,
    trainer_namespace: str,
    trainer_kind: str,
    gpu_node_selector: dict,
    gpu_tolerations: list,
    adapter: Output[Model],
    training_metrics: Output[Metrics],
) -> NamedTuple("FinetuneOutputs", [("adapter_uri", str), ("final_loss", float)]):  # type: ignore[valid-type]
    """Fine-tune a LoRA/QLoRA adapter on the train split, in this pod or as a Trainer job.

    Args:
        train_uri: Train.jsonl from the split step.
        eval_uri: Validation set the best checkpoint is picked on (never the reported held-out set).
        chunks_uri: Chunks.jsonl, mixed into training as plain text when the config's mix_chunks_share > 0.
        work_uri: The run's prefix; the adapter is written under adapter/.
        base_model: "bundled" (SmolLM2-135M-Instruct), a local path, an s3:// prefix or a Hugging Face id.
        finetune_config: JSON object of FinetuneConfig fields (rank, epochs, learning rate, ...); "{}":
            the defaults.
        trainer_nodes: 0: train in this pod; more: a TrainJob/PyTorchJob over this many nodes.
        trainer_gpus_per_node: GPUs per node of the Trainer job.
        trainer_image: Image of the Trainer job's pods.
        trainer_namespace: Namespace the Trainer job is created in.
        trainer_kind: Auto, TrainJob or PyTorchJob (auto: whichever API the cluster serves).
        gpu_node_selector: Node selector of the Trainer job's pods (JSON object).
        gpu_tolerations: Tolerations of the Trainer job's pods (JSON list).

    Returns:
        adapter: The adapter directory as a Model, with the base model and the step count.
        training_metrics: Final and eval loss, steps, tokens per second, wall seconds.
        adapter_uri: Prefix of the adapter (adapter_config.json, adapter_model.safetensors, card).
        final_loss: Training loss at the last step.
    """
    from collections import namedtuple

    from doc2slm_pipelines.steps.artifacts import publish_prefix
    from doc2slm_pipelines.steps.finetune import finetune_as_job, finetune_in_process

    if trainer_nodes > 0:
        job = {"nodes": trainer_nodes, "gpus_per_node": trainer_gpus_per_node, "image": trainer_image,
               "namespace": trainer_namespace, "kind": trainer_kind, "node_selector": gpu_node_selector,
               "tolerations": gpu_tolerations}
        outcome = finetune_as_job(train_uri, work_uri, base_model=base_model, config_json=finetune_config,
                                  eval_uri=eval_uri, chunks_uri=chunks_uri, job=job)
    else:
        outcome = finetune_in_process(train_uri, work_uri, base_model=base_model, config_json=finetune_config,
                                      eval_uri=eval_uri, chunks_uri=chunks_uri)
    publish_prefix(outcome.adapter_uri, adapter, base_model=base_model or "bundled", steps=outcome.steps)
    training_metrics.log_metric("final_loss", outcome.final_loss)
    training_metrics.log_metric("steps", float(outcome.steps))
    for name in ("eval_loss", "tokens_per_s", "wall_seconds"):
        if isinstance(outcome.card.get(name), (int, float)):
            training_metrics.log_metric(name, float(outcome.card[name]))
    outputs = namedtuple("outputs", ["adapter_uri", "final_loss"])
    return outputs(outcome.adapter_uri, outcome.final_loss)
