"""Issue 14, finding 5, on the rendered chart and the training job trainjob.py renders from its ConfigMap:
the pipeline Role has its own identity, the training pods are restricted, tokenless, under the release's
NetworkPolicies, and run only images from the allowed registries."""

from __future__ import annotations

from typing import Any

import pytest
from doc2slm_pipelines.cluster_policy import ImageNotAllowed
from doc2slm_pipelines.trainjob import TrainJobSpec, render

from tests.deploy.netpol import Pod, connection_allowed
from tests.deploy.pss import assert_restricted
from tests.deploy.render import Manifest, by_kind, helm_template, release_config

STRANGER = Pod({"app": "something-else"}, ip="10.0.1.6")
PIPELINE_STEP = Pod({"pipelines.kubeflow.org/v2_component": "true"}, ip="10.0.1.5")
SOMEONE_ELSES_JOB = Pod({"jobset.sigs.k8s.io/jobset-name": "other-team-job"}, ip="10.0.1.9")
INTERNET = Pod({}, namespace="", ip="203.0.113.7")
KUBE_DNS = Pod({"k8s-app": "kube-dns"}, namespace="kube-system", ip="10.0.9.10")
RELEASE = {"app.kubernetes.io/name": "doc2slm", "app.kubernetes.io/instance": "doc2slm"}


def _config(rendered: list[Manifest]) -> dict[str, str]:
    config = release_config(rendered)
    return dict(config["data"])


def _job(monkeypatch: pytest.MonkeyPatch, rendered: list[Manifest], kind: str, **overrides: Any) -> Manifest:
    """The job the fine-tune step would create, with the step's environment taken from the chart's ConfigMap."""
    for key, value in _config(rendered).items():
        monkeypatch.setenv(key, value)
    values: dict[str, Any] = dict(
        train_uri="s3://doc2slm/runs/r1/split/train.jsonl", output_uri="s3://doc2slm/runs/r1/adapter",
        base_model="bundled", config_json="{}", nodes=2, gpus_per_node=2, namespace="doc2slm",
        image="ghcr.io/doc2slm/doc2slm-pipelines-gpu:0.1.0")
    values.update(overrides)
    return render(TrainJobSpec(**values), kind)


def _pod_templates(job: Manifest) -> list[tuple[dict[str, str], Manifest, Manifest]]:
    if job["kind"] == "PyTorchJob":
        return [(r["template"]["metadata"]["labels"], r["template"]["spec"], r["template"]["spec"]["containers"][0])
                for r in job["spec"]["pytorchReplicaSpecs"].values()]
    (patch,) = job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = patch["template"]["spec"]["template"]
    return [(pod["metadata"]["labels"], pod["spec"], pod["spec"]["containers"][0])]


@pytest.mark.parametrize("kind", ["TrainJob", "PyTorchJob"])
def test_training_pods_meet_the_restricted_standard_as_the_chart_pods_do(
        chart_renders: dict[str, list[Manifest]], monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    rendered = chart_renders["generic"]
    accounts = {a["metadata"]["name"]: a for a in by_kind(rendered, "ServiceAccount")}
    for _, spec, container in _pod_templates(_job(monkeypatch, rendered, kind)):
        assert_restricted(spec, container, f"{kind} pod")
        account = accounts[spec["serviceAccountName"]]  # the chart's training account...
        assert account["automountServiceAccountToken"] is False  # ...mounts no token
    (binding,) = by_kind(rendered, "RoleBinding")
    assert _config(rendered)["DOC2SLM_TRAINING_SERVICE_ACCOUNT"] not in {s["name"] for s in binding["subjects"]}


@pytest.mark.parametrize("kind", ["TrainJob", "PyTorchJob"])
def test_training_pods_are_under_the_release_network_policies(
        chart_renders: dict[str, list[Manifest]], monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    rendered = chart_renders["generic"]
    policies = by_kind(rendered, "NetworkPolicy")
    labels = _pod_templates(_job(monkeypatch, rendered, kind))[0][0]
    rank0, rank1 = Pod(labels, ip="10.0.4.1"), Pod(labels, ip="10.0.4.2")
    (deny,) = [p for p in policies if p["metadata"]["name"] == "doc2slm-default-deny"]
    assert all(labels.get(k) == v for k, v in deny["spec"]["podSelector"]["matchLabels"].items())
    minio = Pod({**RELEASE, "app.kubernetes.io/component": "minio"}, ip="10.0.0.30")
    assert connection_allowed(policies, rank0, minio, 9000)  # data in, checkpoints out
    assert connection_allowed(policies, rank0, KUBE_DNS, 53)
    for port in (29500, 41234):  # torchrun's rendezvous, a port NCCL picks
        assert connection_allowed(policies, rank1, rank0, port)
        assert not connection_allowed(policies, STRANGER, rank0, port)
        assert not connection_allowed(policies, PIPELINE_STEP, rank0, port)
    assert not connection_allowed(policies, rank0, INTERNET, 443)
    for component, port in (("qagen", 50052), ("predictor", 8080)):
        assert not connection_allowed(policies, rank0, Pod({**RELEASE, "app.kubernetes.io/component": component}),
                                      port)
    # Another job's pods (no release labels) no longer reach the release's object store.
    assert not connection_allowed(policies, SOMEONE_ELSES_JOB, minio, 9000)


def test_the_pipeline_role_is_bound_to_the_dedicated_account_only() -> None:
    with pytest.raises(ValueError, match="shared account pipeline-runner"):
        helm_template(sets=["pipeline.extraSubjects[0].kind=ServiceAccount",
                            "pipeline.extraSubjects[0].name=pipeline-runner",
                            "pipeline.extraSubjects[0].namespace=kubeflow"])
    with pytest.raises(ValueError, match="shared account default-editor"):
        helm_template(sets=["pipeline.extraSubjects[0].kind=ServiceAccount",
                            "pipeline.extraSubjects[0].name=default-editor"])
    acknowledged = helm_template(sets=["pipeline.extraSubjects[0].kind=ServiceAccount",
                                       "pipeline.extraSubjects[0].name=pipeline-runner",
                                       "pipeline.allowSharedSubjects=true"])
    (binding,) = by_kind(acknowledged, "RoleBinding")
    assert "pipeline-runner" in {s["name"] for s in binding["subjects"]}
    # Standalone KFP runs steps in "kubeflow": the dedicated account can live there instead.
    standalone = helm_template(sets=["pipeline.serviceAccount.namespace=kubeflow"])
    (binding,) = by_kind(standalone, "RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "doc2slm-pipeline", "namespace": "kubeflow"}]
    assert binding["metadata"]["namespace"] == "doc2slm"
    (account,) = [a for a in by_kind(standalone, "ServiceAccount") if a["metadata"]["name"] == "doc2slm-pipeline"]
    assert account["metadata"]["namespace"] == "kubeflow"


def test_training_images_come_only_from_the_configured_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = helm_template(sets=["image.registry=registry.corp.example/ml"])
    assert _config(rendered)["DOC2SLM_ALLOWED_IMAGE_PREFIXES"] == "registry.corp.example/ml/"
    corp = "registry.corp.example/ml/doc2slm-pipelines-gpu:0.1.0"
    assert _job(monkeypatch, rendered, "PyTorchJob", image=corp)["kind"] == "PyTorchJob"
    for image in ("ghcr.io/doc2slm/doc2slm-pipelines-gpu:0.1.0", "registry.corp.example/ml-other/x:1"):
        with pytest.raises(ImageNotAllowed):
            _job(monkeypatch, rendered, "TrainJob", image=image)
    listed = helm_template(sets=["pipeline.allowedImagePrefixes={registry.corp.example/ml,ghcr.io/doc2slm/}"])
    assert _config(listed)["DOC2SLM_ALLOWED_IMAGE_PREFIXES"] == "registry.corp.example/ml,ghcr.io/doc2slm/"


def test_the_pipeline_identity_travels_as_a_token_secret_the_steps_mount(
        chart_renders: dict[str, list[Manifest]]) -> None:
    from doc2slm_pipelines.trainjob_run import DEFAULT_TOKEN_FILE

    rendered = chart_renders["generic"]
    (token,) = [s for s in by_kind(rendered, "Secret") if s["type"] == "kubernetes.io/service-account-token"]
    assert token["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "doc2slm-pipeline"
    assert "data" not in token and "stringData" not in token  # Kubernetes fills it in
    (account,) = [a for a in by_kind(rendered, "ServiceAccount") if a["metadata"]["name"] == "doc2slm-pipeline"]
    assert account["automountServiceAccountToken"] is False  # no pod holds it unless it mounts the Secret
    assert DEFAULT_TOKEN_FILE == "/var/run/secrets/doc2slm-pipeline/token"


def _trainer_env(job: Manifest) -> dict[str, Any]:
    containers = ([job["spec"]["trainer"]] if job["kind"] == "TrainJob" else
                  [r["template"]["spec"]["containers"][0] for r in job["spec"]["pytorchReplicaSpecs"].values()])
    envs = [{e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]} for c in containers]
    assert all(env == envs[0] for env in envs)
    return envs[0]


@pytest.mark.parametrize("kind", ["TrainJob", "PyTorchJob"])
def test_training_pods_reach_the_store_with_the_secret_the_chart_names(
        chart_renders: dict[str, list[Manifest]], monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """The job's pods read train.jsonl and write the adapter on s3://: they get the chart's endpoint and the
    training identity's own Secret by reference (objectStore.identities.training, the chart's key names),
    never MinIO's root Secret nor the pipeline steps' Secret."""
    env = _trainer_env(_job(monkeypatch, chart_renders["generic"], kind))
    assert env["MINIO_ENDPOINT"] == "doc2slm-minio:9000"
    assert env["MINIO_ACCESS_KEY"] == {"secretKeyRef": {"name": "doc2slm-store-training", "key": "MINIO_ACCESS_KEY"}}
    own = helm_template(sets=["objectStore.identities.training.secret=team-a-training-store",
                              "objectStore.accessKeyKey=accesskey", "objectStore.secretKeyKey=secretkey"])
    env = _trainer_env(_job(monkeypatch, own, kind))
    assert env["MINIO_ACCESS_KEY"] == {"secretKeyRef": {"name": "team-a-training-store", "key": "accesskey"}}
    assert env["MINIO_SECRET_KEY"] == {"secretKeyRef": {"name": "team-a-training-store", "key": "secretkey"}}
