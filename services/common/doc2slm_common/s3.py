"""s3:// objects through the minio client (MinIO, SeaweedFS, AWS S3 or any S3 endpoint).

Endpoint and keys come from MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY (MINIO_SECURE=true for
TLS; an endpoint written as https://host sets it too). Connection failures become UpstreamUnavailable
after the client's own retries, a missing key NotFound.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from doc2slm_common.errors import InvalidInput, LimitExceeded, NotFound, UpstreamUnavailable

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def split_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidInput(f"not an s3://bucket/key URI: {uri!r}")
    if not _BUCKET_NAME.fullmatch(parsed.netloc):
        # Checked here so a bad name is the caller's error, not an "outage" that retry loops repeat.
        raise InvalidInput(f"invalid S3 bucket name {parsed.netloc!r} in {uri!r}: 3-63 characters of "
                           "lowercase letters, digits, '.' and '-', starting and ending with a letter or digit")
    return parsed.netloc, parsed.path.lstrip("/")


@functools.lru_cache(maxsize=8)
def _client(endpoint: str, access_key: str, secret_key: str, secure: bool):  # type: ignore[no-untyped-def]
    import urllib3
    from minio import Minio

    # Bounded retries and timeouts: an unreachable endpoint must fail in seconds, not hang a step.
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=60.0),
        retries=urllib3.Retry(total=3, backoff_factor=0.3, status_forcelist=[500, 502, 503, 504]),
    )
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, http_client=http)


def client():  # type: ignore[no-untyped-def]
    endpoint = os.environ.get("MINIO_ENDPOINT", "")
    if not endpoint:
        raise InvalidInput("s3:// URI used but MINIO_ENDPOINT is not set (host:port of the S3 endpoint)")
    secure = os.environ.get("MINIO_SECURE", "").lower() in {"1", "true", "yes"}
    if "://" in endpoint:
        parsed = urlparse(endpoint)
        secure = parsed.scheme == "https"
        endpoint = parsed.netloc
    return _client(endpoint, os.environ.get("MINIO_ACCESS_KEY", ""),
                   os.environ.get("MINIO_SECRET_KEY", ""), secure)


def _unavailable(uri: str, error: Exception) -> UpstreamUnavailable:
    return UpstreamUnavailable(f"object store unreachable for {uri}: {type(error).__name__}: {error}")


def _is_missing(error: Exception) -> bool:
    return getattr(error, "code", "") in {"NoSuchKey", "NoSuchBucket", "NoSuchObject"}


@contextlib.contextmanager
def _reading(uri: str) -> Iterator[None]:
    """The object store's failures of a read as domain errors: missing NOT_FOUND, others UNAVAILABLE; the
    domain errors raised inside (limits, bad names) pass unchanged."""
    from minio.error import S3Error

    try:
        yield
    except S3Error as error:
        if _is_missing(error):
            raise NotFound(f"no such object: {uri}") from None
        raise _unavailable(uri, error) from None
    except (NotFound, InvalidInput, LimitExceeded):
        raise
    except Exception as error:
        raise _unavailable(uri, error) from None


def get_object(uri: str, max_bytes: int) -> bytes:
    """The object's bytes; LimitExceeded, before the body is fetched, when it is larger than max_bytes."""
    bucket, key = split_uri(uri)
    with _reading(uri):
        c = client()
        size = c.stat_object(bucket, key).size or 0
        if size > max_bytes:
            raise LimitExceeded(f"{uri} is {size} bytes; the limit is {max_bytes}")
        response = c.get_object(bucket, key)
        try:
            data = bytes(response.read(amt=max_bytes + 1))
        finally:
            response.close()
            response.release_conn()
    if len(data) > max_bytes:  # replaced since the stat
        raise LimitExceeded(f"{uri} is over the limit of {max_bytes} bytes")
    return data


def download_object(uri: str, destination: Path, max_bytes: int) -> None:
    """Stream the object to `destination` (a temporary name, renamed when complete); stops and removes the
    partial file as soon as more than max_bytes arrive (an object replaced by a larger one meanwhile)."""
    bucket, key = split_uri(uri)
    partial = destination.with_name(f".{destination.name}.part")
    try:
        with _reading(uri):
            response = client().get_object(bucket, key)
            try:
                received = 0
                with partial.open("wb") as handle:
                    for piece in response.stream(1 << 20):
                        received += len(piece)
                        if received > max_bytes:
                            raise LimitExceeded(f"{uri} is over the limit of {max_bytes} bytes")
                        handle.write(piece)
            finally:
                response.close()
                response.release_conn()
            os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)


def _ensure_bucket(c, bucket: str) -> None:  # type: ignore[no-untyped-def]
    from minio.error import S3Error

    if c.bucket_exists(bucket):
        return
    try:
        c.make_bucket(bucket)
    except S3Error as error:
        # Concurrent first writers race to create the bucket; losing that race is success.
        if error.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise


def put_object(uri: str, data: bytes) -> None:
    from minio.error import S3Error

    bucket, key = split_uri(uri)
    if not key or key.endswith("/"):
        raise InvalidInput(f"an object URI needs a key: {uri!r}")
    try:
        c = client()
        _ensure_bucket(c, bucket)
        c.put_object(bucket, key, io.BytesIO(data), length=len(data))
    except S3Error as error:
        raise _unavailable(uri, error) from None
    except InvalidInput:
        raise
    except Exception as error:
        raise _unavailable(uri, error) from None


def object_exists(uri: str) -> bool:
    from minio.error import S3Error

    bucket, key = split_uri(uri)
    try:
        client().stat_object(bucket, key)
        return True
    except S3Error as error:
        if _is_missing(error):
            return False
        raise _unavailable(uri, error) from None
    except InvalidInput:
        raise
    except Exception as error:
        raise _unavailable(uri, error) from None


@dataclass(frozen=True)
class ObjectInfo:
    uri: str
    size: int
    etag: str


def list_object_infos(prefix_uri: str) -> list[ObjectInfo]:
    """Every object under the prefix with its size and ETag (what a cache keys a download by)."""
    from minio.error import S3Error

    bucket, prefix = split_uri(prefix_uri)
    try:
        c = client()
        if not c.bucket_exists(bucket):
            raise NotFound(f"no such bucket: {bucket}")
        return [ObjectInfo(f"s3://{bucket}/{obj.object_name}", int(obj.size or 0), str(obj.etag or ""))
                for obj in c.list_objects(bucket, prefix=prefix, recursive=True)
                if obj.object_name and not obj.is_dir]
    except S3Error as error:
        raise _unavailable(prefix_uri, error) from None
    except (NotFound, InvalidInput):
        raise
    except Exception as error:
        raise _unavailable(prefix_uri, error) from None


def list_objects(prefix_uri: str) -> list[str]:
    return [info.uri for info in list_object_infos(prefix_uri)]
