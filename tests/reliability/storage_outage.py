"""Storage outage: the real S3 server dies in the middle of an upload through doc2slm_common.storage.

Expected: the write fails with UpstreamUnavailable (a clear message, not a hang), readers see the
previous version of the object whole or nothing (never a partial upload), and after the server is back
the same write, retried, leaves the new version whole (sha256 compared).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from doc2slm_common import storage
from doc2slm_common.errors import DomainError, UpstreamUnavailable

from tests.reliability.profile import Profile
from tests.reliability.results import ScenarioResult
from tests.support.s3_server import S3Server

OBJECT_MIB = 32  # big enough that minio uploads it in parts, so the kill lands between parts
KILL_AFTER_S = 0.15
RESTART_TIMEOUT_S = 180.0  # SeaweedFS takes ~6 s to come up on an idle machine, far longer on a busy one


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """These environment variables set for the block (storage reads MINIO_* and the prefixes per call)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def s3_environment(server: S3Server) -> contextlib.AbstractContextManager[None]:
    return environment(server.env())


def hard_stop(server: S3Server) -> None:
    """SIGKILL, as a crashed node: a graceful stop could let the running upload finish first."""
    if server.process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    server.process = None


def payload(version: int) -> bytes:
    block = hashlib.sha256(f"version-{version}".encode()).digest() * 32768  # 1 MiB, distinct per version
    return block * OBJECT_MIB


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_during_outage(server: S3Server, uri: str, data: bytes, kill_after_s: float) -> BaseException | None:
    """Start the upload, kill the server mid-way; returns what the write raised (None: it finished first)."""
    outcome: list[BaseException | None] = [None]

    def write() -> None:
        try:
            storage.write_bytes(uri, data)
        except BaseException as error:
            outcome[0] = error

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(kill_after_s)
    hard_stop(server)
    writer.join(timeout=120)
    if writer.is_alive():
        return TimeoutError("the write hung for 120 s after the object store died")
    return outcome[0]


def run(profile: Profile, workdir: Path) -> ScenarioResult:
    started = time.monotonic()
    server = S3Server(workdir / "s3")
    server.start(RESTART_TIMEOUT_S)
    notes: list[str] = []
    lost = interrupted = 0
    ok = True
    try:
        with s3_environment(server):
            uri = "s3://reliability/outage/artifact.bin"
            previous = payload(0)
            storage.write_bytes(uri, previous)
            for round_number in range(1, profile.storage_outages + 1):
                new = payload(round_number)
                error = _write_during_outage(server, uri, new, KILL_AFTER_S)
                if error is None:  # the upload beat the kill (a fast moment): kill sooner, on the same data
                    server.start(RESTART_TIMEOUT_S)
                    previous = new
                    new = payload(round_number + 1000)
                    error = _write_during_outage(server, uri, new, KILL_AFTER_S / 5)
                if error is None:
                    notes.append(f"round {round_number}: upload finished before the kill")
                elif isinstance(error, UpstreamUnavailable):
                    interrupted += 1
                else:
                    ok = False
                    notes.append(f"round {round_number}: write raised {type(error).__name__}: {error}")
                try:  # readers during the outage: a clear error, not a partial object
                    storage.read_bytes(uri)
                    ok = False
                    notes.append("a read succeeded while the server was down")
                except UpstreamUnavailable:
                    pass
                server.start(RESTART_TIMEOUT_S)
                seen = storage.read_bytes(uri)
                expected = sha(new) if error is None else sha(previous)
                if sha(seen) != expected:
                    ok = False
                    lost += 1
                    notes.append(f"round {round_number}: readers saw {len(seen)} bytes that are neither "
                                 "version whole")
                storage.write_bytes(uri, new)  # the retried step
                if sha(storage.read_bytes(uri)) != sha(new):
                    lost += 1
                    notes.append(f"round {round_number}: the retried write did not leave the object whole")
                leftovers = [u for u in storage.list_uris("s3://reliability/outage/") if u != uri]
                if leftovers:
                    ok = False
                    notes.append(f"stray objects after the outage: {leftovers}")
                previous = new
    except DomainError as error:
        ok = False
        notes.append(f"unexpected {error.code_name}: {error.message}")
    finally:
        hard_stop(server)
    behaviour = (f"write failed with UNAVAILABLE in {interrupted} of {profile.storage_outages} outages; readers "
                 f"saw the previous version whole; retried write whole (sha256 of {OBJECT_MIB} MiB)")
    if notes:
        behaviour += "; " + "; ".join(notes)
    return ScenarioResult(fault="S3 server SIGKILLed during an upload", injected=profile.storage_outages,
                          behaviour=behaviour, lost=lost, ok=ok and interrupted > 0,
                          seconds=time.monotonic() - started,
                          details={"interrupted": interrupted, "object_mib": OBJECT_MIB})
