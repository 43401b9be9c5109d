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
) -> NamedTuple("DeployOutputs", [("endpoint", str), ("openai_base_url", str)]):  # type: ignore[valid-type]
    from collections import namedtuple

    from doc2slm_pipelines.steps.deploy import DeploySettings, deploy_adapter

    # report_uri is taken so that publishing waits for the evaluation (and names what was measured).
    print(f"publishing {adapter_uri} (evaluated in {report_uri})")
    settings = DeploySettings(mode=deploy_mode, model_name=model_name, adapter_name=adapter_name,
                              base_model=base_model, namespace=namespace, predictor_image=predictor_image,
                              predictor_gpus=predictor_gpus, local_http_port=local_http_port)
    card = deploy_adapter(adapter_uri, work_uri, settings)
    outputs = namedtuple("outputs", ["endpoint", "openai_base_url"])
    return outputs(card.get("endpoint", ""), card.get("openai_base_url", ""))
