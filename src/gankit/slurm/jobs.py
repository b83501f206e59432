"""Waiting for submitted jobs, and one line for each that ended without a result.

submitit learns a job's state from `sacct`; a cluster without accounting (the local one of scripts/slurm-local)
has none, and submitit would wait forever for a job that died before writing its result. `scontrol show job`
knows every recent job on every cluster, so the wait asks it too.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

ENDED = {"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
         "TIMEOUT", "REVOKED", "SPECIAL_EXIT"}
ACTIVE = {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED", "CONFIGURING", "COMPLETING"}
GRACE_S = 10  # a job that ended may still be writing its result file (shared file systems lag too)


def state(job_id: str) -> str | None:
    """SLURM's state of the job (RUNNING, PENDING, COMPLETED, FAILED, ...), None once slurmctld forgot it."""
    try:
        shown = subprocess.run(["scontrol", "show", "job", "--oneliner", job_id], capture_output=True, text=True,
                               timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\bJobState=(\S+)", shown.stdout)
    return found.group(1) if shown.returncode == 0 and found else None


def last_line(*paths: Path) -> str:
    """The last non-empty line of the first of `paths` that has one ('' if none does)."""
    for path in paths:
        try:
            lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            continue
        if lines:
            return lines[-1]
    return ""


def wait(jobs: list, poll_s: float = 2.0) -> dict[str, str]:
    """Block until every submitit job has a result or SLURM says it ended; {job_id: state} of those that ended
    without one."""
    pending = {job.job_id: job for job in jobs}
    ended_at: dict[str, float] = {}
    lost: dict[str, str] = {}
    while pending:
        for job_id, job in list(pending.items()):
            now = state(job_id)
            if job.paths.result_pickle.exists() and (now is None or now.split("+")[0] not in ACTIVE):
                del pending[job_id]  # final: a requeued attempt that wrote a result runs again and rewrites it
                continue
            if now is None or now.split("+")[0] in ENDED:
                first = ended_at.setdefault(job_id, time.monotonic())
                if time.monotonic() - first > GRACE_S:
                    lost[job_id] = now or "gone from slurmctld"
                    del pending[job_id]
            else:
                ended_at.pop(job_id, None)  # requeued: running again
        if pending:
            time.sleep(poll_s)
    return lost
