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
