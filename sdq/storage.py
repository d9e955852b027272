"""Output storage: where generated files go and how they are read back (local folder here;
S3-compatible object storage in `sdq.s3_storage`)."""

from __future__ import annotations

import contextlib
import heapq
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sdq.disk_space import free_bytes, is_full_error, no_space_message
from sdq.signed_links import LinkSigner

_KEY = re.compile(r"^[a-z0-9]{8,64}/[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_JOB_ID = re.compile(r"^[a-z0-9]{8,64}$")


class OutputNotFound(Exception):
    """No output is stored under that key."""


class StorageFull(Exception):
    """The output storage has no room for a file (a full disk, a used-up quota): the job fails
    with this one-line message; trying again on the same storage cannot help."""


class OutputStorage(Protocol):
    """Stores output files under keys `job_id/name`; the API turns keys into URLs."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """A file the API can stream directly, when the backend is a local folder."""
        ...

    def url(self, key: str) -> str | None:
        """A URL clients fetch the file from directly (presigned), or None: the API serves it."""
        ...

    def job_keys(self, job_id: str) -> list[str]:
        """The keys of every file stored for the job."""
        ...

    def delete_job(self, job_id: str) -> int:
        """Remove every file of the job; how many there were."""
        ...

    def job_ids(self, most: int, after: str = "") -> list[str]:
        """The first `most` ids, in order, of jobs that have files stored and sort after `after`
        (for finding orphans a page at a time)."""
        ...

    def job_written_at(self, job_id: str) -> float | None:
        """When the job's newest file was written (unix seconds); None when it has none."""
        ...


def output_key(job_id: str, name: str) -> str:
    key = f"{job_id}/{name}"
    if not _KEY.match(key):
        raise ValueError(f"invalid output key {key!r}")
    return key


def is_valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


def is_job_folder(name: str) -> bool:
    """Whether a top-level name in storage is a job's (its files' common prefix)."""
    return bool(_JOB_ID.match(name))


class LocalOutputStorage:
    """Outputs as files under one folder; writes are atomic (temp file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not is_valid_key(key):
            raise OutputNotFound(key)
        return self.root / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write the file whole or not at all: on any failure neither the temp file nor an empty
        job folder is left behind; a full disk raises `StorageFull`."""
        path = self._path(key)
        try:
            _write_atomic(path, data)
        except OSError as error:
            _remove_if_empty(path.parent)
            if is_full_error(error):
                raise StorageFull(no_space_message(self.root, free_bytes(self.root))) from error
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise OutputNotFound(key) from None

    def delete(self, key: str) -> None:
        """Remove the file, and its job's folder with the last one."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        _remove_if_empty(path.parent)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def url(self, key: str) -> str | None:
        return None

    def _folder(self, job_id: str) -> Path:
        if not is_job_folder(job_id):
            raise ValueError(f"invalid job id {job_id!r}")
        return self.root / job_id

    def job_keys(self, job_id: str) -> list[str]:
        folder = self._folder(job_id)
        if not folder.is_dir():
            return []
        return sorted(
            f"{job_id}/{path.name}"
            for path in folder.iterdir()
            if is_valid_key(f"{job_id}/{path.name}")
        )

    def delete_job(self, job_id: str) -> int:
        folder = self._folder(job_id)
        if not folder.is_dir():
            return 0
        removed = 0
        for path in folder.iterdir():  # leftover temp files of a crashed write too
            path.unlink(missing_ok=True)
            removed += 1
        with contextlib.suppress(FileNotFoundError, OSError):  # a file written meanwhile stays
            folder.rmdir()
        return removed

    def job_written_at(self, job_id: str) -> float | None:
        folder = self._folder(job_id)
        times = [path.stat().st_mtime for path in folder.iterdir()] if folder.is_dir() else []
        return max(times, default=None)

    def job_ids(self, most: int, after: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        with os.scandir(self.root) as entries:  # is_dir() from the listing: no stat per folder
            names = (
                e.name
                for e in entries
                if e.name > after and is_job_folder(e.name) and e.is_dir(follow_symlinks=False)
            )
            return heapq.nsmallest(most, names)


def _write_atomic(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename: readers see the whole file or none; the temp file is removed
    when any step fails (on a full disk, the write, flush, fsync or close may be the one)."""
    fd, tmp = _temp_file(path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _temp_file(folder: Path) -> tuple[int, str]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=folder, prefix=".tmp-")
    except FileNotFoundError:  # emptied and removed meanwhile (its last file deleted): once more
        folder.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=folder, prefix=".tmp-")


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (or already gone): it stays
        folder.rmdir()


def output_links(
    storage: OutputStorage, base_url: str, signer: LinkSigner, now: float
) -> Callable[[str], str]:
    """Key -> the link handed out at `now`: the storage's own (presigned) URL, else the API's
    `/v1/files` URL, signed to expire."""

    def link(key: str) -> str:
        return storage.url(key) or f"{base_url}/v1/files/{key}?{signer.query(key, now)}"

    return link
