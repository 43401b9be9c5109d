"""Issue 14, finding 3, on the rendered chart: every storage identity (extraction, qagen, scoring, the
predictor, the pipeline's steps, the training pods) holds its own key pair, limited by its policy to its
prefixes and actions; the embedding service holds none; MinIO's root keys are mounted by MinIO and the Job
that creates the users, nowhere else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.netpol import Pod, connection_allowed
from tests.deploy.render import (
    CLOUDS,
    ROOT,
    Manifest,
    by_kind,
    containers,
    helm_notes,
    helm_template,
    release_config,
)
from tests.deploy.s3policy import allowed

ALL = ["generic", *CLOUDS]
IDENTITIES = ("extraction", "qagen", "scoring", "serving", "pipeline", "training")
COMPILED_PIPELINE = ROOT / "pipelines" / "doc2slm_pipelines" / "compiled" / "doc2slm_pipeline.yaml"
RELEASE = {"app.kubernetes.io/name": "doc2slm", "app.kubernetes.io/instance": "doc2slm"}


def _secret_names(node: Any) -> set[str]:
    """Every Secret a manifest references anywhere: env secretKeyRef, envFrom secretRef, secret volumes,
    a ServiceAccount's secrets list."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key in ("secretKeyRef", "secretRef"):
            if isinstance(node.get(key), dict):
                found.add(node[key]["name"])
        if isinstance(node.get("secret"), dict):
            found.add(node["secret"]["secretName"])
        for value in node.values():
            found |= _secret_names(value)
    elif isinstance(node, list):
        for value in node:
            found |= _secret_names(value)
    return found


def _env(container: Manifest) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _minio_root_secret(rendered: list[Manifest]) -> str:
    """Whatever Secret MinIO takes its root user from (on any version of the chart)."""
    (minio,) = by_kind(rendered, "StatefulSet")
    return str(_env(containers(minio)[0])["MINIO_ROOT_USER"]["secretKeyRef"]["name"])


def _named(rendered: list[Manifest], kind: str, name: str) -> Manifest:
    (found,) = [m for m in by_kind(rendered, kind) if m["metadata"]["name"] == name]
    return found


def _policies(rendered: list[Manifest]) -> dict[str, Any]:
    data = _named(rendered, "ConfigMap", "doc2slm-storage-policies")["data"]
    return {name.removesuffix(".json"): json.loads(text) for name, text in data.items() if name.endswith(".json")}


def _pipeline_storage_secret_default() -> str:
    spec = next(yaml.safe_load_all(COMPILED_PIPELINE.read_text()))
    return str(spec["root"]["inputDefinitions"]["parameters"]["pipeline_storage_secret"]["defaultValue"])


@pytest.mark.parametrize("cloud", ALL)
def test_only_minio_and_the_users_job_mount_minio_root_secret(
        chart_renders: dict[str, list[Manifest]], cloud: str) -> None:
    rendered = chart_renders[cloud]
    root = _minio_root_secret(rendered)
    holders = {(m["kind"], m["metadata"]["name"]) for m in rendered if root in _secret_names(m)}
    assert holders == {("StatefulSet", "doc2slm-minio"), ("Job", "doc2slm-minio-provisioning")}
    # Nor do the pods the pipeline starts: its steps (the compiled pipeline's Secret parameter) and the
    # training job (the ConfigMap names its Secret).
    assert release_config(rendered)["data"]["DOC2SLM_TRAINING_STORE_KEYS_FROM"] != root
    assert _pipeline_storage_secret_default() != root


def test_each_identity_has_its_own_secret_and_embedding_none(chart_renders: dict[str, list[Manifest]]) -> None:
    rendered = chart_renders["generic"]
    store_keys = {"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"}
    held: dict[str, str] = {}
    for service in ("extraction", "qagen", "scoring"):
        (container,) = containers(_named(rendered, "Deployment", f"doc2slm-{service}"))
        env = _env(container)
        (held[service],) = {env[k]["secretKeyRef"]["name"] for k in store_keys}
    (embedding,) = containers(_named(rendered, "Deployment", "doc2slm-embedding"))
    assert not store_keys & set(_env(embedding)) and not _secret_names(embedding)
    (predictor,) = containers(_named(rendered, "InferenceService", "doc2slm"))
    env = _env(predictor)
    (held["serving"],) = {env[k]["secretKeyRef"]["name"] for k in store_keys}
    # KServe's storage initializer downloads the adapter with the same (serving) identity.
    assert _named(rendered, "ServiceAccount", "doc2slm-predictor")["secrets"] == [{"name": held["serving"]}]
    held["pipeline"] = _pipeline_storage_secret_default()
    held["training"] = release_config(rendered)["data"]["DOC2SLM_TRAINING_STORE_KEYS_FROM"]
    assert len(set(held.values())) == len(IDENTITIES), held
    # The users Job creates exactly these users, each from its own Secret.
    (job,) = containers(_named(rendered, "Job", "doc2slm-minio-provisioning"))
    job_env = _env(job)
    for identity, secret in held.items():
        assert job_env[f"ACCESS_KEY_{identity.upper()}"]["secretKeyRef"]["name"] == secret, identity


@pytest.fixture(scope="module")
def policies(chart_renders: dict[str, list[Manifest]]) -> dict[str, Any]:
    return _policies(chart_renders["generic"])


def test_one_policy_per_identity_and_none_grants_more_than_the_six_actions(policies: dict[str, Any]) -> None:
    assert set(policies) == set(IDENTITIES)  # embedding has none
    granted = {a for p in policies.values() for s in p["Statement"] for a in s["Action"]}
    assert granted <= {"s3:GetBucketLocation", "s3:HeadBucket", "s3:ListBucket", "s3:GetObject", "s3:PutObject",
                       "s3:AbortMultipartUpload"}
    for identity, policy in policies.items():
        resources = {r for s in policy["Statement"] for r in s["Resource"]}
        assert all(r == "arn:aws:s3:::doc2slm" or r.startswith("arn:aws:s3:::doc2slm/") for r in resources), identity
        assert "arn:aws:s3:::doc2slm/*" not in resources, identity  # never the whole bucket
        for action in ("s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPolicy", "s3:ListAllMyBuckets"):
            assert not allowed(policy, action, "doc2slm"), (identity, action)
        assert not allowed(policy, "s3:ListBucket", "doc2slm", prefix=""), identity  # no whole-bucket listing
        assert not allowed(policy, "s3:ListBucket", "doc2slm"), identity
        assert allowed(policy, "s3:HeadBucket", "doc2slm") and allowed(policy, "s3:GetBucketLocation", "doc2slm")


# (identity, action, key or listed prefix, allowed?) with the default prefixes: docs/ is the corpus,
# runs/<run>/ a run's data, runs/<run>/adapter/ its adapter, published/ what the predictor serves.
CASES = [
    ("extraction", "s3:GetObject", "docs/manual.pdf", True),
    ("extraction", "s3:ListBucket", "docs/", True),
    ("extraction", "s3:GetObject", "runs/r1/qa.jsonl", False),
    ("extraction", "s3:PutObject", "docs/manual.pdf", False),
    ("extraction", "s3:PutObject", "runs/r1/chunks.jsonl", False),
    ("extraction", "s3:ListBucket", "runs/", False),
    ("qagen", "s3:GetObject", "runs/r1/chunks.jsonl", True),
    ("qagen", "s3:PutObject", "runs/r1/split/train.jsonl", True),
    ("qagen", "s3:ListBucket", "runs/r1/teacher-cache/", True),
    ("qagen", "s3:GetObject", "docs/manual.pdf", False),
    ("qagen", "s3:PutObject", "published/adapter/adapter_model.safetensors", False),
    ("qagen", "s3:DeleteObject", "runs/r1/qa.jsonl", False),
    ("scoring", "s3:GetObject", "runs/r1/answers.jsonl", True),
    ("scoring", "s3:PutObject", "runs/r1/report/report.md", True),
    ("scoring", "s3:GetObject", "docs/manual.pdf", False),
    ("scoring", "s3:PutObject", "published/adapter/adapter_config.json", False),
    ("serving", "s3:GetObject", "runs/r1/adapter/adapter_model.safetensors", True),
    ("serving", "s3:GetObject", "published/adapter/adapter_config.json", True),
    ("serving", "s3:ListBucket", "runs/r1/adapter", True),  # KServe lists the storageUri as given
    ("serving", "s3:ListBucket", "published/adapter/", True),
    ("serving", "s3:GetObject", "runs/r1/qa.jsonl", False),
    ("serving", "s3:GetObject", "docs/manual.pdf", False),
    ("serving", "s3:ListBucket", "runs/r1/", False),
    ("serving", "s3:PutObject", "runs/r1/adapter/adapter_model.safetensors", False),
    ("serving", "s3:PutObject", "published/adapter/adapter_model.safetensors", False),
    ("pipeline", "s3:GetObject", "runs/r1/adapter/adapter_config.json", True),
    ("pipeline", "s3:PutObject", "runs/r1/deploy_card.json", True),
    ("pipeline", "s3:GetObject", "docs/manual.pdf", False),
    ("pipeline", "s3:PutObject", "published/adapter/adapter_model.safetensors", False),
    ("training", "s3:GetObject", "runs/r1/split/train.jsonl", True),
    ("training", "s3:PutObject", "runs/r1/adapter/checkpoints/step-10/model.safetensors", True),
    ("training", "s3:PutObject", "published/adapter/adapter_model.safetensors", False),
    ("training", "s3:GetObject", "docs/manual.pdf", False),
]


@pytest.mark.parametrize(("identity", "action", "target", "expected"), CASES)
def test_each_policy_allows_its_own_prefixes_and_actions_only(
        policies: dict[str, Any], identity: str, action: str, target: str, expected: bool) -> None:
    if action == "s3:ListBucket":
        result = allowed(policies[identity], action, "doc2slm", prefix=target)
    else:
        result = allowed(policies[identity], action, "doc2slm", key=target)
    assert result is expected


def test_policies_follow_the_values_bucket_and_prefixes() -> None:
    rendered = helm_template(sets=["objectStore.bucket=team-a", "objectStore.identities.extraction.read={corpora/hr/}",
                                   "objectStore.identities.scoring.write={reports/}"])
    policies = _policies(rendered)
    assert allowed(policies["extraction"], "s3:GetObject", "team-a", key="corpora/hr/handbook.pdf")
    assert not allowed(policies["extraction"], "s3:GetObject", "team-a", key="docs/handbook.pdf")
    assert not allowed(policies["extraction"], "s3:GetObject", "doc2slm", key="corpora/hr/handbook.pdf")
    assert allowed(policies["scoring"], "s3:PutObject", "team-a", key="reports/r1/report.md")
    assert not allowed(policies["scoring"], "s3:PutObject", "team-a", key="runs/r1/report/report.md")


def test_the_old_shared_secret_works_only_when_named_and_warns() -> None:
    """objectStore.existingSecret is the way back to one key pair for everything (MinIO's root included):
    explicit, without the users Job, and NOTES says what it costs."""
    rendered = helm_template(sets=["objectStore.existingSecret=doc2slm-object-store"])
    assert _minio_root_secret(rendered) == "doc2slm-object-store"
    for name in ("extraction", "qagen", "scoring"):
        (container,) = containers(_named(rendered, "Deployment", f"doc2slm-{name}"))
        assert _env(container)["MINIO_ACCESS_KEY"]["secretKeyRef"]["name"] == "doc2slm-object-store"
    assert release_config(rendered)["data"]["DOC2SLM_TRAINING_STORE_KEYS_FROM"] == "doc2slm-object-store"
    assert not by_kind(rendered, "Job")
    assert "doc2slm-storage-policies" not in {c["metadata"]["name"] for c in by_kind(rendered, "ConfigMap")}
    assert "WARNING: objectStore.existingSecret gives one key pair to every service" in helm_notes(
        ["objectStore.existingSecret=doc2slm-object-store"])
    assert "WARNING" not in helm_notes()


def test_the_users_job_is_a_hook_without_a_token_that_reaches_minio_only(
        chart_renders: dict[str, list[Manifest]]) -> None:
    rendered = chart_renders["generic"]
    job = _named(rendered, "Job", "doc2slm-minio-provisioning")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    spec = job["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False and "serviceAccountName" not in spec
    (container,) = spec["containers"]
    assert container["image"] == "quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z"
    assert container["command"] == ["/bin/sh", "/etc/doc2slm-storage/provision.sh"]
    assert {v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v} == {"doc2slm-storage-policies"}
    policies = by_kind(rendered, "NetworkPolicy")
    labels = job["spec"]["template"]["metadata"]["labels"]
    provisioner, minio = Pod(labels, ip="10.0.5.1"), Pod({**RELEASE, "app.kubernetes.io/component": "minio"})
    assert connection_allowed(policies, provisioner, minio, 9000)
    assert not connection_allowed(policies, provisioner, Pod({}, namespace="", ip="203.0.113.7"), 443)
    assert not connection_allowed(policies, provisioner, Pod({**RELEASE, "app.kubernetes.io/component": "qagen"}),
                                  50052)
    assert not connection_allowed(policies, Pod({"app": "stranger"}), provisioner, 9000)


def test_with_an_external_store_the_policies_are_rendered_for_the_operator_and_no_job() -> None:
    sets = ["minio.enabled=false", "objectStore.endpoint=s3.eu-west-1.amazonaws.com:443", "objectStore.secure=true"]
    rendered = helm_template(sets=sets)
    assert not by_kind(rendered, "Job") and not by_kind(rendered, "StatefulSet")
    data = _named(rendered, "ConfigMap", "doc2slm-storage-policies")["data"]
    assert set(data) == {f"{identity}.json" for identity in IDENTITIES}  # no script without MinIO
    assert "doc2slm-storage-policies" in helm_notes(sets)


# --- the users Job's script, run with /bin/sh against a fake `mc` that keeps MinIO's user -> policies map

FAKE_MC = r'''#!/usr/bin/env python3
"""Stands in for MinIO's client: records each call, keeps users and their attached policies in a file,
and answers `admin policy attach` of an attached policy the way mc does (an error)."""
import json, os, sys
args = sys.argv[1:]
state_path = os.environ["FAKE_MC_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {}
with open(os.environ["FAKE_MC_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
if args[:3] == ["admin", "user", "add"]:
    state.setdefault(args[4], [])
elif args[:3] == ["admin", "user", "info"]:
    print(json.dumps({"status": "success", "accessKey": args[4], "policyName": ",".join(state.get(args[4], [])),
                      "userStatus": "enabled"}))
elif args[:3] == ["admin", "policy", "attach"]:
    user = args[args.index("--user") + 1]
    if args[4] in state[user]:
        sys.exit("mc: <ERROR> The specified policy change is already in effect.")
    state[user].append(args[4])
elif args[:3] == ["admin", "policy", "detach"]:
    state[args[args.index("--user") + 1]].remove(args[4])
json.dump(state, open(state_path, "w"))
'''


@pytest.fixture
def users_job(chart_renders: dict[str, list[Manifest]], tmp_path: Path) -> dict[str, Any]:
    """The rendered script, an environment like the Job's (keys made up per identity) and a fake mc."""
    rendered = chart_renders["generic"]
    script = tmp_path / "provision.sh"
    script.write_text(_named(rendered, "ConfigMap", "doc2slm-storage-policies")["data"]["provision.sh"])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mc").write_text(FAKE_MC)
    (bin_dir / "mc").chmod(0o755)
    (job,) = containers(_named(rendered, "Job", "doc2slm-minio-provisioning"))
    env = {k: v for k, v in _env(job).items() if isinstance(v, str)}
    env.update(MINIO_ROOT_USER="root-user", MINIO_ROOT_PASSWORD="root-password-123")
    for identity in IDENTITIES:
        env[f"ACCESS_KEY_{identity.upper()}"] = f"{identity}-user"
        env[f"SECRET_KEY_{identity.upper()}"] = f"{identity}-secret-key"
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", FAKE_MC_STATE=str(tmp_path / "state.json"),
               FAKE_MC_LOG=str(tmp_path / "calls.jsonl"))
    return {"script": script, "env": env, "state": tmp_path / "state.json", "log": tmp_path / "calls.jsonl"}


def _run_script(job: dict[str, Any]) -> tuple[int, str, list[list[str]], dict[str, list[str]]]:
    import subprocess

    job["log"].unlink(missing_ok=True)
    result = subprocess.run(["/bin/sh", str(job["script"])], env=job["env"], capture_output=True, text=True,
                            timeout=60)
    calls = [json.loads(line) for line in job["log"].read_text().splitlines()] if job["log"].exists() else []
    state = json.loads(job["state"].read_text()) if job["state"].exists() else {}
    return result.returncode, result.stderr, calls, state


def test_the_users_job_gives_each_identity_its_policy_and_only_it(users_job: dict[str, Any]) -> None:
    code, stderr, calls, state = _run_script(users_job)
    assert code == 0, stderr
    assert calls[0] == ["alias", "set", "doc2slm", "http://doc2slm-minio:9000", "root-user", "root-password-123"]
    assert ["mb", "--ignore-existing", "doc2slm/doc2slm"] in calls
    for identity in IDENTITIES:
        user = f"{identity}-user"
        assert ["admin", "user", "add", "doc2slm", user, f"{identity}-secret-key"] in calls
        assert ["admin", "policy", "create", "doc2slm", f"doc2slm-{identity}",
                f"/etc/doc2slm-storage/{identity}.json"] in calls
    assert state == {f"{i}-user": [f"doc2slm-{i}"] for i in IDENTITIES}
    # Again (every upgrade), after someone attached the built-in readwrite policy to qagen's user: the
    # run detaches it and does not trip over the policy that is already attached.
    state["qagen-user"].append("readwrite")
    users_job["state"].write_text(json.dumps(state))
    code, stderr, calls, state = _run_script(users_job)
    assert code == 0, stderr
    assert ["admin", "policy", "detach", "doc2slm", "readwrite", "--user", "qagen-user"] in calls
    assert not [c for c in calls if c[:3] == ["admin", "policy", "attach"]]
    assert state == {f"{i}-user": [f"doc2slm-{i}"] for i in IDENTITIES}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ACCESS_KEY_QAGEN", "root-user", "identity qagen: its access key is MinIO's root user or another identity's"),
        ("ACCESS_KEY_TRAINING", "pipeline-user",
         "identity training: its access key is MinIO's root user or another identity's"),
        ("SECRET_KEY_SCORING", "", "identity scoring: its Secret has an empty access or secret key"),
    ],
)
def test_the_users_job_refuses_root_shared_or_empty_keys(
        users_job: dict[str, Any], key: str, value: str, message: str) -> None:
    users_job["env"][key] = value
    code, stderr, _, state = _run_script(users_job)
    assert code != 0 and message in stderr
    identity = message.split()[1].rstrip(":")
    assert f"{identity}-user" not in state and "root-user" not in state
