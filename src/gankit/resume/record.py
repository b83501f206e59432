"""Inside a run that continues a run directory: what it may change there.

- A resume that fails before training leaves the run as it was: its own resume record (`.hydra/resume_<N>/`,
  written by Hydra for this command) is taken away again and `train.log` cut back to its length before it.
- Continuing a finished run (a larger `trainer.max_steps`) keeps what its end wrote: every file the end of a run
  rewrites (the final pictures, last.ckpt, ...) is copied to `continued_from_step_<N>/` first, and metrics.json
  moved there (while it continues the run has not finished: sweeps and resumes read it so). Logs (csv/, wandb/,
  train.log) are appended to, the step figures are new files, `.hydra/` gets a record of its own.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from gankit.checkpoint_io import writing
from gankit.errors import ConfigError
from gankit.resume.command_line import RECORD, finished_at, finished_message

APPENDED = ("csv", "wandb", "train.log", RECORD)  # logs and records a continued run adds to, never rewrites
ARCHIVE = "continued_from_step_"  # continued_from_step_<N>/: the end of the run as it finished at step N


class RunFinished(ConfigError):
    """The checkpoint resumed is at or past `trainer.max_steps`: there is nothing to train."""


def check_not_finished(checkpoint: dict | None, max_steps: int, run_dir: Path, steps_key: str) -> None:
    """RunFinished when the checkpoint's step is already at `max_steps` (-1: no limit; `steps_key` is its key)."""
    message = finished_message(run_dir, (checkpoint or {}).get("global_step"), max_steps, steps_key)
    if message:
        raise RunFinished(message)


@contextmanager
def unchanged_on_failure(run_dir: Path, resume_record: Path | None, log_length: int | None):
    """A ConfigError inside (the resume was refused before training) undoes what this command wrote into the run:
    its resume record and the lines it added to train.log (`log_length`: its size when the command started; None:
    it did not exist)."""
    log_file, length = run_dir / "train.log", log_length
    try:
        yield
    except ConfigError:
        if resume_record is not None:
            shutil.rmtree(resume_record, ignore_errors=True)
        if length is not None and log_file.is_file():
            with open(log_file, "r+b") as f:
                f.truncate(length)
        elif length is None:  # the run had none: this command's lines only
            log_file.unlink(missing_ok=True)
        raise


def keep_the_end(run_dir: Path) -> Path | None:
    """Before a finished run continues: its end-of-run files copied to continued_from_step_<N>/ (their paths kept
    relative to the run; a file already there is left as it is), metrics.json moved there; None when the run had
    not finished."""
    step = finished_at(run_dir)
    if step is None:
        return None
    archive = run_dir / f"{ARCHIVE}{step}"
    for path in sorted(run_dir.rglob("*")):
        relative = path.relative_to(run_dir)
        if not path.is_file() or relative.parts[0] in APPENDED or relative.parts[0].startswith(ARCHIVE):
            continue
        if relative.parts[0] == "samples" and path.name.startswith("step_"):
            continue  # the step figures: a continued run adds new ones
        kept = archive / relative
        if kept.exists():
            continue
        with writing(kept):
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, kept)
    (run_dir / "metrics.json").replace(archive / "metrics.json")
    return archive
