"""Read, write and list by URI: file:// (and plain paths) locally, s3:// through the minio client.

Writes are atomic: a local file is written under a temporary name and renamed; an S3 object only
becomes visible when its (multipart) upload completes. Readers never see a partial artifact.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from doc2slm_common import s3
from doc2slm_common.errors import InvalidInput, NotFound


def to_uri(path_or_uri: str | os.PathLike[str]) -> str:
    """A plain path becomes an absolute file:// URI; URIs pass through."""
    text = os.fspath(path_or_uri)
    if text.startswith(("file://", "s3://")):
        return text
    if "://" in text:
        raise InvalidInput(f"unsupported URI scheme in {text!r}: use file:// or s3://")
    trailing = "/" if text.endswith("/") else ""
    return Path(text).expanduser().resolve().as_uri() + trailing


def local_path(uri: str) -> Path:
    """The filesystem path of a file:// URI (or plain path)."""
    uri = to_uri(uri)
    if not uri.startswith("file://"):
        raise InvalidInput(f"{uri} is not a local file URI")
    return Path(unquote(urlparse(uri).path))


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def join(prefix: str, *parts: str) -> str:
    base = prefix.rstrip("/")
    return "/".join([base, *(p.strip("/") for p in parts)])


def read_bytes(uri: str) -> bytes:
    uri = to_uri(uri)
    if is_s3(uri):
        return s3.get_object(uri)
    path = local_path(uri)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory, not a file") from None


def write_bytes(uri: str, data: bytes) -> str:
    uri = to_uri(uri)
    if is_s3(uri):
        s3.put_object(uri, data)
        return uri
    path = local_path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; artifacts are read by other users (a serving container, a shared cache).
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return uri


def read_text(uri: str) -> str:
    return read_bytes(uri).decode("utf-8")


def write_text(uri: str, text: str) -> str:
    return write_bytes(uri, text.encode("utf-8"))


def read_jsonl(uri: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(read_text(uri).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise InvalidInput(f"{uri} line {number} is not JSON: {error.msg}") from None
    return records


def encode_jsonl(records: Iterable[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    for record in records:
        buffer.write(json.dumps(record, ensure_ascii=False, sort_keys=True))
        buffer.write("\n")
    return buffer.getvalue().encode("utf-8")


def write_jsonl(uri: str, records: Iterable[dict[str, Any]]) -> str:
    return write_bytes(uri, encode_jsonl(records))


def append_jsonl(uri: str, records: Iterable[dict[str, Any]]) -> None:
    """Append whole lines to a local JSONL file (caches, resumable logs); one write, then fsync."""
    path = local_path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = encode_jsonl(records)
    with path.open("ab") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def exists(uri: str) -> bool:
    uri = to_uri(uri)
    if is_s3(uri):
        return s3.object_exists(uri)
    return local_path(uri).exists()


def list_uris(prefix: str, suffix: str = "") -> list[str]:
    """Every object/file under `prefix` whose name ends in `suffix`, sorted."""
    prefix = to_uri(prefix)
    if is_s3(prefix):
        return sorted(u for u in s3.list_objects(prefix) if u.endswith(suffix))
    root = local_path(prefix)
    if root.is_file():
        return [root.as_uri()] if root.name.endswith(suffix) else []
    if not root.exists():
        raise NotFound(f"no such directory: {root}")
    return sorted(p.as_uri() for p in root.rglob("*")
                  if p.is_file() and p.name.endswith(suffix) and not p.name.startswith("."))


def download_prefix(uri: str, local_dir: str | os.PathLike[str]) -> Path:
    """Copy every object under `uri` into `local_dir`, keeping relative names."""
    target = Path(local_dir)
    base = to_uri(uri).rstrip("/") + "/"
    for item in list_uris(base):
        relative = item[len(base):]
        write_bytes(to_uri(target / relative), read_bytes(item))
    return target


def upload_dir(local_dir: str | os.PathLike[str], uri: str) -> list[str]:
    """Copy every file under `local_dir` to `uri/<relative name>`."""
    root = Path(local_dir)
    written = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        written.append(write_bytes(join(uri, path.relative_to(root).as_posix()), path.read_bytes()))
    return written
