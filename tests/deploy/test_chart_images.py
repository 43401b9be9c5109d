"""Issue 14, finding 7 (images by digest for releases): image.digests pins each image of the release to a
digest, image.requireDigest refuses to render a release that leaves one to a tag."""

from __future__ import annotations

import hashlib

import pytest
from doc2slm_pipelines import cluster_policy as policy

from tests.deploy.render import Manifest, by_kind, containers, helm_template, release_config

NAMES = ("extraction", "qagen", "embedding", "scoring", "serving", "pipelines-gpu", "minio", "mc")
DIGESTS = {name: "sha256:" + hashlib.sha256(name.encode()).hexdigest() for name in NAMES}
ALL_DIGESTS = [f"image.digests.{name}={digest}" for name, digest in DIGESTS.items()]


def _images(rendered: list[Manifest]) -> dict[str, str]:
    """Workload name -> the image of its (only) container."""
    found = {}
    for kind in ("Deployment", "StatefulSet", "Job", "InferenceService"):
        for workload in by_kind(rendered, kind):
            (container,) = containers(workload)
            found[workload["metadata"]["name"]] = container["image"]
    return found


def test_without_digests_images_are_referenced_by_tag(chart_renders: dict[str, list[Manifest]]) -> None:
    images = _images(chart_renders["generic"])
    assert images["doc2slm-qagen"] == "ghcr.io/doc2slm/doc2slm-qagen:0.1.0"
    assert images["doc2slm-minio"] == "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"
    assert not any("@" in image for image in images.values())


def test_every_image_of_a_release_is_referenced_by_its_digest() -> None:
    rendered = helm_template(sets=[*ALL_DIGESTS, "image.requireDigest=true"])
    images = _images(rendered)
    assert images == {
        **{f"doc2slm-{svc}": f"ghcr.io/doc2slm/doc2slm-{svc}@{DIGESTS[svc]}"
           for svc in ("extraction", "qagen", "embedding", "scoring")},
        "doc2slm": f"ghcr.io/doc2slm/doc2slm-serving@{DIGESTS['serving']}",
        "doc2slm-minio": f"quay.io/minio/minio@{DIGESTS['minio']}",
        "doc2slm-minio-provisioning": f"quay.io/minio/mc@{DIGESTS['mc']}",
    }
    data = release_config(rendered)["data"]
    assert data["DOC2SLM_TRAINER_IMAGE"] == f"ghcr.io/doc2slm/doc2slm-pipelines-gpu@{DIGESTS['pipelines-gpu']}"
    assert data["DOC2SLM_PREDICTOR_IMAGE"] == images["doc2slm"]
    # The fine-tune and deploy steps accept these references under the release's allowed registry.
    prefixes = policy.allowed_image_prefixes(data["DOC2SLM_ALLOWED_IMAGE_PREFIXES"])
    for image in (data["DOC2SLM_TRAINER_IMAGE"], data["DOC2SLM_PREDICTOR_IMAGE"]):
        assert policy.check_image(image, prefixes) == image


def test_require_digest_names_every_image_without_one() -> None:
    with pytest.raises(ValueError) as error:
        helm_template(sets=["image.requireDigest=true"])
    assert ("image.requireDigest is set but image.digests has no digest for: extraction, qagen, embedding, "
            "scoring, serving, pipelines-gpu, minio, mc") in str(error.value)
    with pytest.raises(ValueError, match="has no digest for: mc \\("):
        helm_template(sets=[*[s for s in ALL_DIGESTS if not s.startswith("image.digests.mc=")],
                            "image.requireDigest=true"])


def test_require_digest_asks_only_for_the_images_the_release_uses() -> None:
    external = ["minio.enabled=false", "objectStore.endpoint=s3.eu-west-1.amazonaws.com:443",
                "services.embedding.create=false"]
    used = [s for s in ALL_DIGESTS if s.split("=")[0].rsplit(".", 1)[1] not in {"minio", "mc", "embedding"}]
    rendered = helm_template(sets=[*external, *used, "image.requireDigest=true"])
    assert all("@sha256:" in image for image in _images(rendered).values())
