"""KFP component: publish the adapter (KServe InferenceService on a cluster, local predictor locally)."""

from typing import NamedTuple

from kfp import dsl

from doc2slm_pipelines.components.images import PIPELINES_IMAGE


@dsl.component(base_image=PIPELINES_IMAGE, install_kfp_package=False)
def deploy(
    adapter_uri: str,
    work_uri: str,
    report_uri: str,
    deploy_mode: str,
    model_name: str,
    adapter_name: str,
    base_model: str,
    namespace: str,
    predictor_image: str,
    predictor_gpus: int,
    local_http_port: int,
    quality_gate_min_gain: float,
    enforce_quality_gate: bool,
) -> NamedTuple("DeployOutputs", [("endpoint", str), ("openai_base_url", str)]):  # type: ignore[valid-type]
    """Publish the adapter if its report passes the quality gate, and write deploy_card.json.

    Args:
        adapter_uri: The fine-tuned adapter.
        work_uri: The run's prefix; deploy_card.json is written under it.
        report_uri: The evaluate step's report, read by the quality gate.
        deploy_mode: Kserve (InferenceService on the cluster), local (a predictor on this machine) or none
            (record the adapter only).
        model_name: Name the tuned model is served under.
        adapter_name: Name of the adapter in the predictor.
        base_model: The base model the adapter was trained on (as in the finetune step).
        namespace: Namespace of the InferenceService (kserve).
        predictor_image: Image of the predictor (kserve) the InferenceService runs.
        predictor_gpus: GPUs of the predictor (kserve); 0: CPU.
        local_http_port: HTTP port of the local predictor (local).
        quality_gate_min_gain: Least mean gain (tuned minus base answer similarity, held-out questions)
            an adapter needs to be published; 0: never worse than its base.
        enforce_quality_gate: False: publish even an adapter that fails the gate (the card still says so).

    Returns:
        endpoint: Where the model is served (empty when not published).
        openai_base_url: OpenAI-compatible base URL of the served model (empty when not published).
    """
    from collections import namedtuple

    from doc2slm_pipelines.steps.deploy import DeploySettings, deploy_adapter

    # The report is the quality gate's input: an adapter worse than its base on held-out questions is not
    # published (the card says why), and whatever served before keeps serving.
    print(f"publishing {adapter_uri} if its report passes the quality gate ({report_uri})")
    settings = DeploySettings(mode=deploy_mode, model_name=model_name, adapter_name=adapter_name,
                              base_model=base_model, namespace=namespace, predictor_image=predictor_image,
                              predictor_gpus=predictor_gpus, local_http_port=local_http_port,
                              quality_gate_min_gain=quality_gate_min_gain, enforce_quality_gate=enforce_quality_gate)
    card = deploy_adapter(adapter_uri, work_uri, settings, report_uri=report_uri)
    if not card.get("published", True):
        print(f"not published: {card['reason']}")
    outputs = namedtuple("outputs", ["endpoint", "openai_base_url"])
    return outputs(card.get("endpoint", ""), card.get("openai_base_url", ""))
