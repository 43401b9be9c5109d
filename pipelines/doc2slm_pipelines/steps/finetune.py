"""Fine-tune step: train a LoRA adapter in this process, or as a Kubeflow Trainer job over N x M GPUs.

In-process is the local and single-GPU path. With `trainer_nodes > 0` the step renders a TrainJob (or a
PyTorchJob where Trainer v2 is absent), creates it, follows it to the end and surfaces its logs; the
job writes the adapter to the same `adapter_uri`, so the steps after this one do not care which ran.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput

from doc2slm_pipelines.steps.records import ADAPTER_DIR

log = logging.getLogger("doc2slm.pipeline.finetune")

CARD_NAME = "training_card.json"


@dataclass
class FinetuneOutcome:
    adapter_uri: str
    final_loss: float
    steps: int
    card: dict[str, Any]


def parse_config(config_json: str) -> dict[str, Any]:
    """The pipeline passes FinetuneConfig overrides as one JSON object (KFP parameters are flat)."""
    try:
        values = json.loads(config_json or "{}")
    except json.JSONDecodeError as error:
        raise InvalidInput(f"finetune_config is not JSON: {error.msg}") from None
    if not isinstance(values, dict):
        raise InvalidInput("finetune_config must be a JSON object of FinetuneConfig fields")
    return values


def adapter_location(work_uri: str) -> str:
    return storage.join(storage.to_uri(work_uri), ADAPTER_DIR)


def outcome_from_card(adapter_uri: str, card: dict[str, Any]) -> FinetuneOutcome:
    return FinetuneOutcome(adapter_uri=adapter_uri, final_loss=float(card.get("final_loss") or 0.0),
                           steps=int(card.get("steps") or 0), card=card)


def finetune_in_process(train_uri: str, work_uri: str, *, base_model: str, config_json: str,
                        eval_uri: str = "", chunks_uri: str = "") -> FinetuneOutcome:
    # Imported here: torch and transformers take seconds to import and only this path needs them.
    from doc2slm_pipelines.finetune import FinetuneConfig, FinetuneInputs, finetune

    config = FinetuneConfig.from_dict(parse_config(config_json))
    adapter_uri = adapter_location(work_uri)
    inputs = FinetuneInputs(train_uri=train_uri, output_uri=adapter_uri,
                            base_model=None if base_model in ("", "bundled") else base_model,
                            eval_uri=eval_uri or None, chunks_uri=chunks_uri or None)
    card = finetune(inputs, config)
    return outcome_from_card(adapter_uri, card)


def finetune_as_job(train_uri: str, work_uri: str, *, base_model: str, config_json: str, eval_uri: str,
                    chunks_uri: str, job: dict[str, Any]) -> FinetuneOutcome:
    """Run the same training as a Kubeflow Trainer job and wait for it; see trainjob.py."""
    from doc2slm_pipelines.trainjob import TrainJobSpec
    from doc2slm_pipelines.trainjob_run import run_training_job

    parse_config(config_json)  # a bad value fails here, before a GPU job is queued
    adapter_uri = adapter_location(work_uri)
    spec = TrainJobSpec(train_uri=train_uri, output_uri=adapter_uri, base_model=base_model,
                        config_json=config_json, eval_uri=eval_uri, chunks_uri=chunks_uri, **job)
    run_training_job(spec)
    card: dict[str, Any] = json.loads(storage.read_text(storage.join(adapter_uri, CARD_NAME)))
    return outcome_from_card(adapter_uri, card)
