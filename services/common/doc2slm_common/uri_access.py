"""Which URIs a process may read and write: every storage call is checked here first.

gRPC carries no identity, so a service must not read or write wherever a request points (another
run's data, /proc/self/environ, /dev/zero). DOC2SLM_ALLOWED_URI_PREFIXES lists the roots, comma-
separated: `s3://bucket/prefix/`, `s3://bucket`, `s3://` (any bucket the credentials reach),
`file:///srv/data` or a plain path, `file:///` (everything local). Unset, a process may use file://
under its working directory (unless that is /), the temporary directory and the doc2slm cache, and s3:// wherever its
credentials reach (the chart sets the prefixes of each service; docs/security.md).

Local paths are compared after resolving symlinks and `..`, so a link or a dotted path cannot step out;
s3 keys with `.`, `..` or empty segments are refused outright (S3 treats them as plain names, but a
copy to disk would not).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from grpc import StatusCode

from doc2slm_common.errors import DomainError, InvalidInput

ENV_NAME = "DOC2SLM_ALLOWED_URI_PREFIXES"


class AccessDenied(DomainError):
    """A URI outside the roots this process may use (PERMISSION_DENIED)."""

    code = StatusCode.PERMISSION_DENIED


def _cache_dirs() -> list[str]:
    configured = os.environ.get("DOC2SLM_CACHE_DIR", "").strip()
    dirs = [str(Path.home() / ".cache" / "doc2slm")]
    return dirs + ([str(Path(configured).expanduser())] if configured else [])


def default_prefixes() -> tuple[str, ...]:
    cwd = os.getcwd()
    # A process started in / (a container without WORKDIR) would otherwise be allowed everything.
    local = [cwd] if Path(cwd).resolve() != Path("/") else []
    return (*local, tempfile.gettempdir(), *_cache_dirs(), "s3://")


@functools.lru_cache(maxsize=16)
def _parse(prefixes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(scheme, root): root is a resolved directory for file, 'bucket/key-prefix' for s3."""
    parsed = []
    for raw in (p.strip() for p in prefixes):
        if not raw:
            continue
        if raw.startswith("s3://"):
            parsed.append(("s3", raw[len("s3://"):].strip("/")))
        elif raw.startswith("file://") or "://" not in raw:
            path = unquote(urlparse(raw).path) if raw.startswith("file://") else raw
            parsed.append(("file", os.path.realpath(Path(path).expanduser())))
        else:
            raise InvalidInput(f"{ENV_NAME}: {raw!r} is neither s3://, file:// nor a path")
    return tuple(parsed)


def allowed_prefixes() -> tuple[str, ...]:
    configured = os.environ.get(ENV_NAME, "").strip()
    return tuple(configured.split(",")) if configured else default_prefixes()


def resolved_path(uri: str) -> Path:
    """The real path of a file:// URI: symlinks and `..` resolved (the file need not exist)."""
    return Path(os.path.realpath(unquote(urlparse(uri).path)))


def _s3_key_is_plain(key: str) -> bool:
    segments = key.rstrip("/").split("/")
    return key == "" or all(s not in ("", ".", "..") for s in segments)


def check(uri: str, prefixes: Sequence[str] | None = None) -> None:
    """Raise AccessDenied unless `uri` (file:// or s3://) lies under one of the prefixes (default: the
    process's, from DOC2SLM_ALLOWED_URI_PREFIXES)."""
    roots = _parse(tuple(prefixes) if prefixes is not None else allowed_prefixes())
    if uri.startswith("s3://"):
        target = uri[len("s3://"):]
        key = target.partition("/")[2]
        if not _s3_key_is_plain(key):
            raise AccessDenied(f"{uri}: object keys with '.', '..' or empty segments are refused")
        target = target.rstrip("/")
        for scheme, root in roots:
            if scheme == "s3" and (not root or target == root or target.startswith(root.rstrip("/") + "/")):
                return
    elif uri.startswith("file://"):
        path = resolved_path(uri)
        for scheme, root in roots:
            if scheme == "file" and path.is_relative_to(root):
                return
    else:
        raise InvalidInput(f"unsupported URI {uri!r}: use file:// or s3://")
    raise AccessDenied(f"{uri} is outside the prefixes this service may use; an operator allows more in "
                       f"{ENV_NAME} (docs/security.md)")
