"""The teacher cache: what the teacher said about a chunk, keyed by (chunk_id, teacher model, prompt version,
teacher base URL): a reply from one endpoint is never served as another endpoint's.

Entries hold the parsed pairs before filtering, so a re-run with other filter settings still costs no
teacher call. On file:// each run appends whole lines to its own JSONL file, flushed to the OS at once
(a SIGKILL loses nothing the OS has) and fsynced every FSYNC_EVERY lines and on close (a power cut
loses at most those: they are asked again). After a SIGKILL the last line may be half-written: a line
that does not end in a newline, or does not parse, is ignored, so a chunk only counts as done when its
line is complete. On s3:// (no append) each entry is its own object, written atomically. A later entry
for the same key replaces an earlier one (a chunk that gained paraphrases).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from typing import IO, Any

from doc2slm_common import storage
from doc2slm_common.errors import NotFound

from doc2slm_qagen.teacher import normalize_base_url

log = logging.getLogger("doc2slm.qagen.cache")

Entry = dict[str, Any]
# fsync per line serialised the workers on slow disks (measured: the concurrency-8 benchmark lost a
# fifth of its speed); flushing per line already survives a killed process.
FSYNC_EVERY = 32


def cache_key(chunk_id: str, teacher_model: str, prompt_version: str, base_url: str = "") -> str:
    """Without base_url the key is the one older caches used; every generation run passes its teacher's URL,
    so a fake endpoint of the same model name cannot plant pairs that the real teacher's run would reuse."""
    text = f"{chunk_id}\x00{teacher_model}\x00{prompt_version}"
    if base_url:
        text += f"\x00{normalize_base_url(base_url)}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _valid(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("key"), str) and isinstance(entry.get("pairs"), list)


class TeacherCache:
    def __init__(self, prefix_uri: str) -> None:
        self.prefix = storage.to_uri(prefix_uri).rstrip("/")
        self._per_object = storage.is_s3(self.prefix)
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        # One file per run (pid and time make it unique): appends from two runs never interleave.
        self._run_file = storage.join(self.prefix, f"run-{int(time.time() * 1000)}-{os.getpid()}.jsonl")
        self._handle: IO[str] | None = None
        self._unsynced = 0
        if not self._per_object:
            self._load_local()

    def _load_local(self) -> None:
        try:
            uris = storage.list_uris(self.prefix + "/", ".jsonl")
        except NotFound:
            return
        skipped = 0
        for uri in uris:
            for line in storage.read_text(uri).splitlines(keepends=True):
                if not line.endswith("\n"):
                    skipped += 1  # torn write: the process died mid-line
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    skipped += 1
                    continue
                if _valid(entry):
                    self._entries[entry["key"]] = entry
        if skipped:
            log.warning("ignored incomplete cache lines", extra={"lines": skipped, "prefix": self.prefix})

    def _object_uri(self, key: str) -> str:
        return storage.join(self.prefix, key[:2], f"{key}.json")

    def get(self, key: str) -> Entry | None:
        with self._lock:
            if key in self._entries:
                return self._entries[key]
        if not self._per_object:
            return None
        uri = self._object_uri(key)
        if not storage.exists(uri):
            return None
        try:
            entry = json.loads(storage.read_text(uri))
        except (json.JSONDecodeError, NotFound):
            return None
        if not _valid(entry):
            return None
        with self._lock:
            self._entries[key] = entry
        return entry

    def put(self, entry: Entry) -> None:
        if not _valid(entry):
            raise ValueError("a cache entry needs a key and a pairs list")
        with self._lock:
            self._entries[entry["key"]] = entry
            if not self._per_object:
                self._append(entry)
                return
        storage.write_text(self._object_uri(entry["key"]), json.dumps(entry, ensure_ascii=False))

    def _append(self, entry: Entry) -> None:
        """One whole line per write, flushed; called under the lock so lines never interleave."""
        if self._handle is None:
            path = storage.local_path(self._run_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a", encoding="utf-8")
        self._handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        self._handle.flush()
        self._unsynced += 1
        if self._unsynced >= FSYNC_EVERY:
            os.fsync(self._handle.fileno())
            self._unsynced = 0

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.flush()
                os.fsync(self._handle.fileno())
                self._handle.close()
                self._handle = None

    def __len__(self) -> int:
        return len(self._entries)
