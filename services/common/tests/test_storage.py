"""Storage by URI against the local filesystem and a real S3 server (SeaweedFS on loopback)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from doc2slm_common import storage
from doc2slm_common.errors import InvalidInput, NotFound, UpstreamUnavailable


def test_plain_path_becomes_file_uri(tmp_path: Path) -> None:
    uri = storage.to_uri(tmp_path / "a.txt")
    assert uri.startswith("file:///") and storage.local_path(uri) == tmp_path / "a.txt"
    with pytest.raises(InvalidInput, match="unsupported URI scheme"):
        storage.to_uri("gs://bucket/x")


def test_local_write_is_atomic_and_listable(tmp_path: Path) -> None:
    target = storage.to_uri(tmp_path / "sub" / "data.jsonl")
    storage.write_jsonl(target, [{"a": 1}, {"b": "é"}])
    assert storage.read_jsonl(target) == [{"a": 1}, {"b": "é"}]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["data.jsonl"]  # no temp file left
    assert (tmp_path / "sub" / "data.jsonl").stat().st_mode & 0o777 == 0o644
    storage.write_text(storage.join(storage.to_uri(tmp_path), "sub", "b.txt"), "x")
    assert [u.rsplit("/", 1)[1] for u in storage.list_uris(storage.to_uri(tmp_path), ".txt")] == ["b.txt"]
    with pytest.raises(NotFound):
        storage.read_bytes(storage.to_uri(tmp_path / "missing"))


def test_local_readers_never_see_partial_content(tmp_path: Path) -> None:
    uri = storage.to_uri(tmp_path / "big.bin")
    old, new = b"a" * 4_000_000, b"b" * 4_000_000
    storage.write_bytes(uri, old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            data = storage.read_bytes(uri)
            seen.add(data[:1] + data[-1:] + bytes([len(data) == 4_000_000]))

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(10):
        storage.write_bytes(uri, new)
        storage.write_bytes(uri, old)
    stop.set()
    thread.join()
    assert seen <= {b"aa\x01", b"bb\x01"}


def test_jsonl_reports_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"ok": 1}\nnot json\n')
    with pytest.raises(InvalidInput, match="line 2"):
        storage.read_jsonl(str(path))


def test_s3_put_get_list_overwrite_missing(s3_env: object) -> None:
    prefix = "s3://doc2slm-tests/storage"
    storage.write_bytes(f"{prefix}/one.bin", b"first")
    storage.write_jsonl(f"{prefix}/nested/two.jsonl", [{"k": 2}])
    assert storage.read_bytes(f"{prefix}/one.bin") == b"first"
    storage.write_bytes(f"{prefix}/one.bin", b"second")  # overwrite replaces the whole object
    assert storage.read_bytes(f"{prefix}/one.bin") == b"second"
    assert storage.read_jsonl(f"{prefix}/nested/two.jsonl") == [{"k": 2}]
    assert storage.list_uris(prefix) == [f"{prefix}/nested/two.jsonl", f"{prefix}/one.bin"]
    assert storage.list_uris(prefix, ".jsonl") == [f"{prefix}/nested/two.jsonl"]
    assert storage.exists(f"{prefix}/one.bin") and not storage.exists(f"{prefix}/nope")
    with pytest.raises(NotFound):
        storage.read_bytes(f"{prefix}/nope")


def test_s3_prefix_round_trip(s3_env: object, tmp_path: Path) -> None:
    source = tmp_path / "adapter"
    (source / "sub").mkdir(parents=True)
    (source / "a.json").write_text("{}")
    (source / "sub" / "w.bin").write_bytes(b"\x00\x01")
    storage.upload_dir(source, "s3://doc2slm-tests/adapters/x")
    back = storage.download_prefix("s3://doc2slm-tests/adapters/x", tmp_path / "back")
    assert (back / "a.json").read_text() == "{}" and (back / "sub" / "w.bin").read_bytes() == b"\x00\x01"


def test_s3_unreachable_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.s3_server import free_port

    monkeypatch.setenv("MINIO_ENDPOINT", f"127.0.0.1:{free_port()}")
    with pytest.raises(UpstreamUnavailable, match="object store unreachable"):
        storage.write_bytes("s3://bucket/k", b"x")
    with pytest.raises(InvalidInput, match="invalid S3 bucket name"):
        storage.write_bytes("s3://b/k", b"x")
    monkeypatch.delenv("MINIO_ENDPOINT")
    with pytest.raises(InvalidInput, match="MINIO_ENDPOINT"):
        storage.read_bytes("s3://bucket/k")


def test_s3_concurrent_first_writes_to_a_new_bucket(s3_env: object) -> None:
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    bucket = f"race-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: storage.write_bytes(f"s3://{bucket}/k{i}", b"x"), range(8)))
    assert len(storage.list_uris(f"s3://{bucket}/")) == 8
