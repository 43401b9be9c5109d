"""Issue 14, findings 3 and 4: storage stays inside its prefixes, reads only regular files within a size
limit (checked before reading), and a download never writes outside its folder or pulls a whole bucket."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from doc2slm_common import s3, storage
from doc2slm_common.errors import InvalidInput, LimitExceeded
from doc2slm_common.uri_access import ENV_NAME, AccessDenied

from tests.support.s3_server import S3Server


@pytest.fixture
def confined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Only tmp_path/allowed may be used."""
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    monkeypatch.setenv(ENV_NAME, allowed.as_uri())
    return allowed


def test_dev_zero_is_refused_without_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    # By default /dev is outside every prefix; with all local files allowed it is still not a regular file.
    with pytest.raises(AccessDenied):
        storage.read_bytes("file:///dev/zero")
    monkeypatch.setenv(ENV_NAME, "file:///")
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="not a regular file"):
        storage.read_bytes("file:///dev/zero")
    assert time.monotonic() - started < 1.0


def test_a_fifo_is_refused_without_blocking(confined: Path) -> None:
    fifo = confined / "pipe"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            storage.read_bytes(fifo.as_uri())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive() and isinstance(outcome[0], InvalidInput)


def test_uris_outside_the_prefixes_are_refused(confined: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "secret.txt").write_text("not yours")
    (confined / "link").symlink_to(other)
    for uri in [(other / "secret.txt").as_uri(), f"{confined.as_uri()}/../other/secret.txt",
                (confined / "link" / "secret.txt").as_uri(), "file:///proc/self/environ"]:
        with pytest.raises(AccessDenied):
            storage.read_bytes(uri)
    with pytest.raises(AccessDenied):
        storage.write_text((other / "overwrite.txt").as_uri(), "x")
    with pytest.raises(AccessDenied):
        storage.list_uris(other.as_uri())
    with pytest.raises(AccessDenied):
        storage.exists((other / "secret.txt").as_uri())
    assert not (other / "overwrite.txt").exists()
    # Inside: as before.
    storage.write_text((confined / "a" / "ok.txt").as_uri(), "fine")
    assert storage.read_text(str(confined / "a" / "ok.txt")) == "fine"


def test_s3_prefixes_confine_buckets_and_keys(s3_env: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_NAME, "s3://team-a/runs/")
    storage.write_text("s3://team-a/runs/1/qa.jsonl", "{}\n")
    for uri in ["s3://team-a/runs2/x", "s3://team-b/runs/x", "s3://team-a/other", "s3://team-a/runs/../x"]:
        with pytest.raises(AccessDenied):
            storage.write_text(uri, "x")
    with pytest.raises(AccessDenied):
        storage.read_bytes("s3://team-a/runs/./1/qa.jsonl")


def test_reads_over_the_limit_are_refused_before_reading(confined: Path, monkeypatch: pytest.MonkeyPatch,
                                                         s3_env: S3Server) -> None:
    path = confined / "big.bin"
    path.write_bytes(b"x" * 11)
    monkeypatch.setenv(storage.MAX_READ_BYTES_ENV, "10")
    with pytest.raises(LimitExceeded):
        storage.read_bytes(path.as_uri())
    assert storage.read_bytes(path.as_uri(), max_bytes=11) == b"x" * 11
    monkeypatch.setenv(ENV_NAME, f"{confined.as_uri()},s3://limits")
    storage.write_bytes("s3://limits/big.bin", b"y" * 11)
    with pytest.raises(LimitExceeded):
        storage.read_bytes("s3://limits/big.bin")


@pytest.mark.parametrize("key", ["../../x", "../x", "/etc/x", "a//b", "./a", "a/./b", "a/../../b", "..\\x", ""])
def test_object_names_that_would_leave_the_folder_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(AccessDenied):
        storage.safe_destination(tmp_path.resolve(), key, f"s3://b/p/{key}")


def test_the_real_s3_server_cannot_even_hold_traversal_keys(s3_env: S3Server) -> None:
    # SeaweedFS cleans dot segments and double slashes; AWS S3 keeps them, so the check above matters there.
    storage.write_text("s3://plant/p/ok.txt", "ok")
    with pytest.raises((ValueError, Exception)):
        s3.client().put_object("plant", "p/../../x", __import__("io").BytesIO(b"evil"), 4)
    assert s3.list_objects("s3://plant/") == ["s3://plant/p/ok.txt"]


def test_download_streams_only_what_is_asked_within_caps(s3_env: S3Server, tmp_path: Path) -> None:
    for name in ["adapter_config.json", "adapter_model.safetensors", "checkpoints/step-1/optimizer.pt"]:
        storage.write_bytes(f"s3://dlx/adapter/{name}", b"z" * 100)
    target = storage.download_prefix("s3://dlx/adapter/", tmp_path / "a", top_level_only=True)
    assert sorted(p.name for p in target.rglob("*") if p.is_file()) == ["adapter_config.json",
                                                                        "adapter_model.safetensors"]
    assert not list(target.rglob(".*.part"))
    with pytest.raises(LimitExceeded):
        storage.download_prefix("s3://dlx/", tmp_path / "b", max_bytes=250)
    with pytest.raises(LimitExceeded):
        storage.download_prefix("s3://dlx/", tmp_path / "c", max_files=2)
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()  # refused before writing
    full = storage.download_prefix("s3://dlx/", tmp_path / "d")
    assert (full / "adapter" / "checkpoints" / "step-1" / "optimizer.pt").read_bytes() == b"z" * 100
