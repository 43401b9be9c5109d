"""The names this server answers to (the base model and every adapter) and where adapters come from.

Adapters arrive as local paths, file:// or s3:// URIs (downloaded once into the cache), or through
KServe's storage initializer, which copies an InferenceService's storageUri to /mnt/models: there an
adapter is either the directory itself (adapter_config.json at the top) or one sub-directory per
adapter, named after the directory.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from doc2slm_common import s3
from doc2slm_common.basemodel import cache_dir, publish_directory, remove_stale_temp_dirs
from doc2slm_common.errors import InvalidInput, LimitExceeded, NotFound
from doc2slm_common.storage import download_prefix, local_path

from doc2slm_serving.adapter_check import ADAPTER_CONFIG
from doc2slm_serving.params import InvalidRequest, UnknownModel

if TYPE_CHECKING:  # the engine pulls in torch; the CLI imports this module only to parse specs
    from doc2slm_serving.engine_base import EngineBase

log = logging.getLogger(__name__)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise InvalidRequest(f"model name {name!r} must be 1-64 letters, digits, '.', '_' or '-'", "name")
    return name


def fetch_adapter(uri: str, cache: Path | None = None) -> Path:
    """A local directory holding the adapter at `uri` (s3:// is downloaded once per content).

    An s3 adapter is cached under its URI *and* the size and ETag of each of its files, so an adapter
    republished under the same URI is fetched again instead of being served stale forever. Only its
    top-level files are fetched (not checkpoints), within storage's download caps.
    """
    uri = uri.strip()
    if not uri.startswith("s3://"):
        path = local_path(uri) if uri.startswith("file://") else Path(uri).expanduser()
        if not path.is_dir():
            raise NotFound(f"adapter directory {path} does not exist")
        return path
    prefix = uri.rstrip("/") + "/"
    listing = sorted((info.uri, info.size, info.etag) for info in s3.list_object_infos(prefix)
                     if "/" not in info.uri[len(prefix):])
    fingerprint = hashlib.sha256(repr((prefix, listing)).encode()).hexdigest()[:16]
    root = (cache or cache_dir()) / "adapters"
    target = root / fingerprint
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_dirs(root)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=root))
    try:
        download_prefix(uri, staging, top_level_only=True)
        if not (staging / ADAPTER_CONFIG).is_file():
            raise NotFound(f"no adapter under {uri} (no {ADAPTER_CONFIG} there)")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return publish_directory(staging, target)


def discover_adapters(models_dir: Path, default_name: str) -> dict[str, Path]:
    """Adapters in a KServe storage-initializer directory (/mnt/models)."""
    if not models_dir.is_dir():
        return {}
    if (models_dir / ADAPTER_CONFIG).is_file():
        return {default_name: models_dir}
    return {child.name: child for child in sorted(models_dir.iterdir())
            if child.is_dir() and (child / ADAPTER_CONFIG).is_file()}


def parse_adapter_spec(spec: str) -> tuple[str, str]:
    """'NAME=PATH_OR_URI' from the command line or DOC2SLM_ADAPTERS."""
    name, separator, uri = spec.partition("=")
    if not separator or not uri.strip():
        raise InvalidInput(f"adapter {spec!r} must be written NAME=PATH (or NAME=s3://bucket/prefix)")
    return check_name(name.strip()), uri.strip()


class ServedModels:
    """Maps request model names to adapters; adding one notifies the protocol layers."""

    def __init__(self, engine: EngineBase, base_name: str, cache: Path | None = None,
                 max_adapters: int = 16) -> None:
        self.engine = engine
        self.max_adapters = max_adapters
        self.base_name = check_name(base_name)
        self.cache = cache
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return [self.base_name, *sorted(self.engine.adapters)]

    def adapter_for(self, name: str) -> str | None:
        """None for the base model, the adapter name otherwise; UnknownModel for anything else."""
        if name == self.base_name:
            return None
        if name in self.engine.adapters:
            return name
        raise UnknownModel(name, self.names())

    def on_added(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def add_adapter(self, name: str, uri: str) -> Path:
        """Fetch, check and load an adapter; blocking (call it from a worker thread when serving)."""
        check_name(name)
        if name == self.base_name:
            raise InvalidRequest(f"{name!r} is the base model's name", "name")
        with self._lock:
            if name not in self.engine.adapters and len(self.engine.adapters) >= self.max_adapters:
                raise LimitExceeded(f"{len(self.engine.adapters)} adapters are served; the limit is "
                                    f"{self.max_adapters} (max_adapters)")
            path = fetch_adapter(uri, self.cache)
            self.engine.load_adapter(name, path)
        for listener in self._listeners:
            listener(name)
        log.info("serving adapter %s from %s", name, uri)
        return path
