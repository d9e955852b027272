"""Removes the stored files of jobs whose records have expired, on every API replica (each job's
files are one replica's to remove at a time), and now and then finds files nobody indexed."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from anyio import to_thread

from api.redis_outage import OutageLog, redis_unreachable
from api.runtime import ApiRuntime
from sdq import metrics
from sdq.store.job_files import (
    due_files,
    files_removed,
    note_orphan,
    orphan_due_at,
    unknown_job,
)

log = logging.getLogger(__name__)

# Jobs whose files one pass removes at most (the next pass takes the rest).
SWEEP_BATCH = 100
# Every this many passes, storage is listed for files neither indexed nor recorded.
ORPHAN_SCAN_EVERY = 60
# Job folders one orphan scan looks at, at most; the next scan goes on after the last of them.
ORPHAN_SCAN_MOST = 10_000


async def sweep_once(runtime: ApiRuntime, now: float) -> int:
    """Remove the files of the jobs now due; how many files went."""
    removed = 0
    for job_id in await runtime.store.run(due_files(now, SWEEP_BATCH)):
        removed += await to_thread.run_sync(runtime.storage.delete_job, job_id)
        await runtime.store.run(files_removed(job_id))
    if removed:
        metrics.files_swept(removed)
        log.info("removed %d files of expired jobs", removed)
    return removed


@dataclass(frozen=True)
class OrphanScan:
    """What one scan found, and where the next one starts ("": from the beginning again)."""

    noted: int
    next_after: str


async def find_orphans(
    runtime: ApiRuntime, now: float, after: str = "", most: int = ORPHAN_SCAN_MOST
) -> OrphanScan:
    """Index the job folders in storage that no record and no index entry knows (left by a crash
    or written before the index existed), due as late as their records would have expired: a
    bucket shared with another deployment, or a Redis that lost its data, gives its files the
    whole retention before they go. One scan looks at the `most` folders after `after`; nothing
    is scanned on a bucket without a prefix."""
    settings = runtime.settings
    if settings.storage == "s3" and not settings.s3_prefix:
        log.warning("SDQ_S3_PREFIX is empty: not looking for orphaned files in the whole bucket")
        return OrphanScan(0, "")
    job_ids = await to_thread.run_sync(runtime.storage.job_ids, most, after)
    noted = 0
    for job_id in job_ids:
        if not await runtime.store.run(unknown_job(job_id)):
            continue
        written = await to_thread.run_sync(runtime.storage.job_written_at, job_id)
        if written is None:
            continue
        due = orphan_due_at(written, now, settings.job_retention_s)
        noted += await runtime.store.run(note_orphan(job_id, due))
    if noted:
        log.info("found the files of %d jobs without a record; they go once due", noted)
    return OrphanScan(noted, job_ids[-1] if len(job_ids) >= most else "")


async def sweeping_loop(runtime: ApiRuntime) -> None:
    """Sweep every `file_sweep_interval_s`; look for orphans every `ORPHAN_SCAN_EVERY` passes
    (the first pass included, so that a restart finds them)."""
    failing = OutageLog()
    passes = 0
    after = ""
    while True:
        try:
            if passes % ORPHAN_SCAN_EVERY == 0:
                after = (await find_orphans(runtime, time.time(), after)).next_after
            await sweep_once(runtime, time.time())
        except Exception as error:
            if not redis_unreachable(error) and failing.failed(time.time(), error):
                log.exception("removing expired files failed; trying again each interval")
        else:
            failing.succeeded(time.time())
        passes += 1
        await asyncio.sleep(runtime.settings.file_sweep_interval_s)
