"""Deploy step: publish the adapter where it will be served, and record how to reach it.

`kserve` updates (or creates) the InferenceService on the cluster; `local` starts doc2slm's predictor
on this machine; `none` only records the adapter (a run that is judged by its report alone). Before any of
them the quality gate (steps/quality_gate.py) reads the report: an adapter that answers held-out questions
worse than its base is not published, whatever served before keeps serving, and the card says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput

from doc2slm_pipelines.steps.records import DEPLOY_CARD, write_card

DEPLOY_MODES = ("local", "kserve", "none")


@dataclass
class DeploySettings:
    mode: str
    model_name: str = "doc2slm"
    adapter_name: str = "doc2slm-adapter"
    base_model: str = "bundled"
    namespace: str = "doc2slm"
    predictor_image: str = ""
    predictor_gpus: int = 0
    local_http_port: int = 8090
    quality_gate_min_gain: float = 0.0
    enforce_quality_gate: bool = True

    def validate(self) -> DeploySettings:
        if self.mode not in DEPLOY_MODES:
            raise InvalidInput(f"deploy mode {self.mode!r} is not one of {', '.join(DEPLOY_MODES)}")
        if not (1 <= self.local_http_port <= 65534):
            raise InvalidInput(f"serving port {self.local_http_port} is not in 1..65534")
        return self


def verify_adapter(adapter_uri: str, base_model: str) -> None:
    """Refuse an adapter that doc2slm's predictor or vLLM could not load (rank, target modules, shapes,
    base model), before anything serves it. The base model's shapes are checked when it is local
    (bundled or a path): fetching a remote base only for its config is left to the predictor."""
    import json
    import tempfile
    from pathlib import Path

    from doc2slm_serving.adapter_check import AdapterRejected, check_adapter

    base_config = None
    if base_model in ("", "bundled") or Path(base_model).is_dir():
        from doc2slm_common.basemodel import resolve_base_model

        base_config = json.loads((Path(resolve_base_model(base_model or None)) / "config.json").read_text())
    with tempfile.TemporaryDirectory(prefix="doc2slm-adapter-check-") as tmp:
        local = Path(tmp)
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            uri = storage.join(adapter_uri, name)
            if storage.exists(uri):
                (local / name).write_bytes(storage.read_bytes(uri))
        try:
            check_adapter(local, base_config)
        except AdapterRejected as error:
            raise InvalidInput(f"adapter {adapter_uri} is not servable: {'; '.join(error.problems)}") from None


def deploy_adapter(adapter_uri: str, work_uri: str, settings: DeploySettings, report_uri: str = ""
                   ) -> dict[str, Any]:
    """Check the adapter, pass it through the quality gate (when a report is given), publish it and write
    `<work_uri>/deploy_card.json`; returns the card (`published` False when the gate refused)."""
    settings.validate()
    verify_adapter(adapter_uri, settings.base_model)
    card_uri = storage.join(storage.to_uri(work_uri), DEPLOY_CARD)
    gate = None
    if report_uri:
        from doc2slm_pipelines.steps.quality_gate import judge_report

        gate = judge_report(report_uri, settings.quality_gate_min_gain, settings.enforce_quality_gate)
        if not gate.passed:
            card: dict[str, Any] = {"mode": settings.mode, "adapter_uri": adapter_uri, "endpoint": "",
                                    "openai_base_url": "", "published": False, "reason": gate.reason,
                                    "quality_gate": gate.to_dict()}
            write_card(card_uri, card)
            return card
    if settings.mode == "local":
        from doc2slm_pipelines.steps.deploy_local import start_local_serving

        card = start_local_serving(adapter_uri, work_uri, model_name=settings.model_name,
                                   adapter_name=settings.adapter_name, base_model=settings.base_model,
                                   http_port=settings.local_http_port)
    elif settings.mode == "kserve":
        from doc2slm_pipelines.steps.deploy_kserve import deploy_to_kserve

        card = deploy_to_kserve(adapter_uri, name=settings.model_name, namespace=settings.namespace,
                                adapter_name=settings.adapter_name, base_model=settings.base_model,
                                image=settings.predictor_image, gpus=settings.predictor_gpus)
    else:
        card = {"mode": "none", "adapter_uri": adapter_uri, "endpoint": ""}
    card["published"] = settings.mode != "none"
    card["quality_gate"] = gate.to_dict() if gate is not None else None
    write_card(card_uri, card)
    return card
