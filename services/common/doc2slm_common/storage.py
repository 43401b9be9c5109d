"""Read, write and list by URI: file:// (and plain paths) locally, s3:// through the minio client.

Writes are atomic: a local file is written under a temporary name and renamed; an S3 object only
becomes visible when its (multipart) upload completes. Readers never see a partial artifact.

Every read, write and listing is first checked against the URI prefixes this process may use
(doc2slm_common.uri_access: PERMISSION_DENIED outside them), and a read checks that the target is a
regular file within the size limit before reading a byte (file:///dev/zero is refused, not read).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from doc2slm_common import s3, uri_access
from doc2slm_common.errors import InvalidInput, LimitExceeded, NotFound

# A backstop for every read into memory; callers with a tighter limit pass max_bytes.
MAX_READ_BYTES_ENV = "DOC2SLM_MAX_READ_BYTES"
DEFAULT_MAX_READ_BYTES = 1 << 30
# An adapter or a base model folder: a 13B model in bf16 is ~26 GB; a whole bucket is not.
DEFAULT_MAX_DOWNLOAD_BYTES = 64 << 30
DEFAULT_MAX_DOWNLOAD_FILES = 10_000


def max_read_bytes() -> int:
    value = os.environ.get(MAX_READ_BYTES_ENV, "").strip()
    try:
        return int(value) if value else DEFAULT_MAX_READ_BYTES
    except ValueError:
        raise InvalidInput(f"{MAX_READ_BYTES_ENV}={value!r} is not a whole number of bytes") from None


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


def checked(uri: str) -> str:
    """The URI as file:// or s3://, once it is known to lie under this process's allowed prefixes."""
    uri = to_uri(uri)
    uri_access.check(uri)
    return uri


def _read_regular_file(path: Path, limit: int) -> bytes:
    try:
        info = os.stat(path)  # stat, not open: opening a FIFO would block
    except FileNotFoundError:
        raise NotFound(f"no such file: {path}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInput(f"{path} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"{path} is not a regular file (a device, pipe or socket is never read)")
    if info.st_size > limit:
        raise LimitExceeded(f"{path} is {info.st_size} bytes; the limit is {limit}")
    with path.open("rb") as handle:
        data = handle.read(limit + 1)  # a file that grew since stat still stops at the limit
    if len(data) > limit:
        raise LimitExceeded(f"{path} is over the limit of {limit} bytes")
    return data


def _copy_regular_file(source: Path, destination: Path) -> None:
    if not stat.S_ISREG(os.stat(source).st_mode):
        raise InvalidInput(f"{source} is not a regular file")
    shutil.copyfile(source, destination)


def read_bytes(uri: str, max_bytes: int | None = None) -> bytes:
    """The whole object; LimitExceeded (before reading) when it is larger than max_bytes (default:
    DOC2SLM_MAX_READ_BYTES, 1 GiB)."""
    uri = checked(uri)
    limit = max_bytes if max_bytes is not None else max_read_bytes()
    if is_s3(uri):
        return s3.get_object(uri, limit)
    return _read_regular_file(uri_access.resolved_path(uri), limit)


def write_bytes(uri: str, data: bytes) -> str:
    uri = checked(uri)
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
    path = local_path(checked(uri))
    path.parent.mkdir(parents=True, exist_ok=True)
    data = encode_jsonl(records)
    with path.open("ab") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def exists(uri: str) -> bool:
    uri = checked(uri)
    if is_s3(uri):
        return s3.object_exists(uri)
    return local_path(uri).exists()


def list_uris(prefix: str, suffix: str = "") -> list[str]:
    """Every object/file under `prefix` whose name ends in `suffix`, sorted."""
    prefix = checked(prefix)
    if is_s3(prefix):
        return sorted(u for u in s3.list_objects(prefix) if u.endswith(suffix))
    root = local_path(prefix)
    if root.is_file():
        return [root.as_uri()] if root.name.endswith(suffix) else []
    if not root.exists():
        raise NotFound(f"no such directory: {root}")
    return sorted(p.as_uri() for p in root.rglob("*")
                  if p.is_file() and p.name.endswith(suffix) and not p.name.startswith("."))


def download_prefix(uri: str, local_dir: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
                    max_files: int = DEFAULT_MAX_DOWNLOAD_FILES, top_level_only: bool = False) -> Path:
    """Copy every object under `uri` into `local_dir`, keeping relative names, streamed to disk.

    Refused before anything is written: a name that would land outside `local_dir` (`p/../../x`,
    `p//etc/x`), more than max_files objects, more than max_bytes in all. top_level_only skips objects
    in sub-folders (an adapter's files, not its checkpoints).
    """
    target = Path(local_dir).resolve()
    plan = plan_download(checked(uri), target, max_bytes, max_files, top_level_only)
    for source, destination, size in plan:
        destination.parent.mkdir(parents=True, exist_ok=True)
        if is_s3(source):
            s3.download_object(source, destination, size)
        else:
            _copy_regular_file(uri_access.resolved_path(checked(source)), destination)
    return target


def safe_destination(target: Path, relative: str, source: str) -> Path:
    """target/relative, refused unless it is a plain relative name inside target. S3 keys are opaque
    strings (AWS stores `p/../../x` and `p//etc/x` as such); joined onto a path they would step out."""
    parts = relative.replace("\\", "/").split("/")
    destination = (target / relative).resolve()
    if any(p in ("", ".", "..") for p in parts) or not destination.is_relative_to(target) or destination == target:
        raise uri_access.AccessDenied(f"object {source} would be written outside {target}; refused")
    return destination


def plan_download(base_uri: str, target: Path, max_bytes: int, max_files: int, top_level_only: bool
                  ) -> list[tuple[str, Path, int]]:
    """(source URI, destination path, size) for each object, every name and limit checked first."""
    base = base_uri.rstrip("/") + "/"
    if is_s3(base):
        listed = [(info.uri, info.size) for info in s3.list_object_infos(base)]
    else:
        listed = [(u, uri_access.resolved_path(u).stat().st_size) for u in list_uris(base)]
    plan: list[tuple[str, Path, int]] = []
    total = 0
    for item, size in listed:
        relative = item[len(base):]
        if top_level_only and "/" in relative:
            continue
        destination = safe_destination(target, relative, item)
        total += size
        if len(plan) >= max_files or total > max_bytes:
            raise LimitExceeded(f"{base} holds more than {max_files} files or {max_bytes} bytes; refused")
        plan.append((item, destination, size))
    return plan


def upload_dir(local_dir: str | os.PathLike[str], uri: str) -> list[str]:
    """Copy every file under `local_dir` to `uri/<relative name>`."""
    root = Path(local_dir)
    written = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        uri_access.check(path.resolve().as_uri())  # a link inside the folder must not lead out of it
        written.append(write_bytes(join(uri, path.relative_to(root).as_posix()), path.read_bytes()))
    return written
