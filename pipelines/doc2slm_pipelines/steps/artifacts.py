"""Publish object-storage results as KFP artifacts too, so the KFP UI shows and lineage-tracks them.

The URI in object storage stays the source of truth that later steps read (the services on a cluster
cannot see a pod's artifact path); the artifact is a copy plus `metadata["uri"]` pointing back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from doc2slm_common import storage


class ArtifactLike(Protocol):
    """The part of kfp.dsl.Artifact the steps use (kept structural so steps need no kfp import)."""

    path: str
    metadata: dict[str, Any]


def publish_file(uri: str, artifact: ArtifactLike, **metadata: Any) -> None:
    target = Path(artifact.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(storage.read_bytes(uri))
    artifact.metadata.update({"uri": uri, **metadata})


def publish_prefix(prefix_uri: str, artifact: ArtifactLike, skip: tuple[str, ...] = ("checkpoints/",),
                   **metadata: Any) -> None:
    """Copy the files under `prefix_uri` into the artifact's directory, except those under `skip`
    (training checkpoints are many times the adapter's size and only matter to a resumed run)."""
    target = Path(artifact.path)
    target.mkdir(parents=True, exist_ok=True)
    base = storage.to_uri(prefix_uri).rstrip("/") + "/"
    for uri in storage.list_uris(base):
        relative = uri[len(base):]
        if relative.startswith(skip):
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(storage.read_bytes(uri))
    artifact.metadata.update({"uri": prefix_uri, **metadata})
