"""Waiting for submitted jobs, and one line for each that ended without a result.

submitit learns a job's state from `sacct`; a cluster without accounting (the local one of scripts/slurm-local)
has none, and submitit would wait forever for a job that died before writing its result. `squeue --states=all`
knows every recent job on every cluster (for MinJobAge after it ended), so the wait asks it.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

ACTIVE = {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED", "CONFIGURING", "COMPLETING"}
UNKNOWN = "gone from slurmctld"
GRACE_S = 10  # a job that ended may still be writing its result file (shared file systems lag too)


def states(job_ids: list[str]) -> dict[str, str] | None:
    """SLURM's state of each job (RUNNING, PENDING, COMPLETED, FAILED, ...; UNKNOWN once slurmctld forgot it),
    from one squeue call; None when SLURM could not be asked (try again later)."""
    try:
        shown = subprocess.run(["squeue", f"--jobs={','.join(job_ids)}", "--states=all", "--noheader",
                                "--format=%i %T"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if shown.returncode != 0 and "Invalid job id" not in shown.stderr:
        return None
    found = dict(line.split(maxsplit=1) for line in shown.stdout.splitlines() if " " in line.strip())
    return {job_id: found.get(job_id, UNKNOWN).strip() for job_id in job_ids}


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


def wait(jobs: list, poll_s: float = 2.0, max_poll_s: float = 30.0) -> dict[str, str]:
    """Block until every submitit job has a result or SLURM says it ended; {job_id: state} of those that ended
    without one. Polls every `poll_s`, slowing down to `max_poll_s` for long sweeps (one squeue call a poll)."""
    pending = {job.job_id: job for job in jobs}
    ended_at: dict[str, float] = {}
    lost: dict[str, str] = {}
    while pending:
        now = states(list(pending))
        for job_id, job in list(pending.items()):
            current = None if now is None else now[job_id].split("+")[0]
            if job.paths.result_pickle.exists() and current not in ACTIVE:
                del pending[job_id]  # final: a requeued attempt that wrote a result runs again and rewrites it
            elif current is not None and current not in ACTIVE:
                first = ended_at.setdefault(job_id, time.monotonic())
                if time.monotonic() - first > GRACE_S:
                    lost[job_id] = current
                    del pending[job_id]
            elif current is not None:
                ended_at.pop(job_id, None)  # requeued: running again
        if pending:
            time.sleep(poll_s)
            poll_s = min(max_poll_s, poll_s * 1.05)
    return lost
