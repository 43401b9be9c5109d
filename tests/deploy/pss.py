"""The restricted Pod Security Standard plus a read-only root, as one check for every pod the release
runs: the chart's workloads and the training pods the pipeline creates (tests/deploy)."""

from __future__ import annotations

from typing import Any


def assert_restricted(spec: dict[str, Any], container: dict[str, Any], where: str) -> None:
    """`spec` is the pod spec (or the patch that carries its security fields), `container` one container."""
    pod_sc = spec.get("securityContext", {})
    assert not any(spec.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), where
    assert not any("hostPath" in v for v in spec.get("volumes", [])), where
    sc = container.get("securityContext", {})
    assert sc.get("allowPrivilegeEscalation") is False, where
    assert sc.get("privileged", False) is False, where
    assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
    assert set(sc.get("capabilities", {}).get("add", [])) <= {"NET_BIND_SERVICE"}, where
    assert True in (sc.get("runAsNonRoot"), pod_sc.get("runAsNonRoot")), where
    assert sc.get("runAsUser", pod_sc.get("runAsUser")) not in (0, None), where
    seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
    assert seccomp.get("type") in ("RuntimeDefault", "Localhost"), where
    assert sc.get("readOnlyRootFilesystem") is True, where
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    assert "/tmp" in mounts, f"{where}: a read-only root needs a writable /tmp"
