"""Train a GAN: `python train.py [group=option ...] [key=value ...]` (see README.md)."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import nullcontext
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from gankit.checks import preflight
from gankit.errors import ConfigError
from gankit.keys import MAX_STEPS
from gankit.resume import LAST
from gankit.resume.command_line import RESUME_RECORD
from gankit.sweeps.study import label_run

CONF_DIR = Path(__file__).resolve().parent / "conf"
log = logging.getLogger(__name__)


def resume_record(run_dir: Path) -> Path | None:
    """This command's own `.hydra/resume_<N>/` record when it continues a run (command_line.py chose it)."""
    subdir = HydraConfig.get().output_subdir
    return run_dir / subdir if subdir and Path(subdir).name.startswith(RESUME_RECORD) else None


def finished_earlier(cfg: DictConfig, error: ConfigError) -> float | None:
    """A multirun's job that had finished before (a resumed sweep): its main metric from its metrics.json."""
    from gankit.run import main_metric

    log.info("%s", error)
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    return main_metric(cfg, metrics)


def refuse(cfg: DictConfig, error: ConfigError) -> None:
    """One line on stderr; a single run exits with the error's status, a multirun's other runs go on
    (gankit.sweeps.failures.ReportFailedRuns exits 1 at the end)."""
    print(f"error: {error}", file=sys.stderr)
    if HydraConfig.get().mode != RunMode.MULTIRUN:
        sys.exit(error.exit_status)


def lightning_through_hydra() -> None:
    """Lightning's messages once each, through the handlers Hydra gave the root logger (the console and the run's
    train.log): `import lightning` adds a console handler of its own ("INFO: ..." twice on the
    console, and the run file got its lines twice), and its subpackages stop propagating when imported before
    Hydra's logging (a process that imported them earlier)."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
            logger.removeHandler(handler)
        logger.propagate = True


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    run_dir = Path(cfg.paths.output_dir)
    log_file = run_dir / "train.log"
    log_length = log_file.stat().st_size if log_file.is_file() else None  # before the imports log anything
    # torch, Lightning and the rest only now: --help, --cfg and command-line errors come back without them
    from gankit.resume import record
    from gankit.run import build_run, fit, main_metric, record_failure

    label_run(cfg)
    lightning_through_hydra()
    continued = (run_dir / LAST).is_file()  # the directory holds a run: a failure leaves it as it was
    try:
        with record.unchanged_on_failure(run_dir, resume_record(run_dir), log_length) if continued else nullcontext():
            built = build_run(cfg, load_data=True)
    except record.RunFinished as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN and (run_dir / "metrics.json").is_file():
            return finished_earlier(cfg, error)
        return refuse(cfg, error)
    except Exception as error:
        if not continued:  # a new run's directory records why it failed; a continued run is left as it was
            record_failure(cfg, error)
        if not isinstance(error, ConfigError):
            raise
        return refuse(cfg, error)
    resuming = built[0].ckpt_path is not None
    if resuming:
        record.keep_the_end(run_dir)  # a finished run continued: its end is kept
    (run_dir / "error.txt").unlink(missing_ok=True)
    log.info("%s: %s in %s", "resuming" if resuming else "training", " ".join(HydraConfig.get().overrides.task),
             run_dir)
    try:
        metrics = fit(*built, cfg)
        log.info("finished at step %s: %s", metrics.get("step"), ", ".join(
            f"{k}={v:.4g}" for k, v in sorted(metrics.items()) if k.startswith("eval/") and isinstance(v, float)))
        return main_metric(cfg, metrics)
    except Exception as error:
        record_failure(cfg, error)
        if not isinstance(error, ConfigError):
            raise
        return refuse(cfg, error)


if __name__ == "__main__":
    try:
        sys.argv[1:] = preflight(CONF_DIR, sys.argv[1:], MAX_STEPS)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    main()
