"""A run composed from its config, for every entry point (train.py, evaluate.py, sample.py) and the tests: the
objects built from the config with their arguments checked (one line naming the key for a value a constructor
refuses), the run fitted, its final metrics. The command line's own checks are gankit.checks.preflight."""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from pathlib import Path

import lightning.pytorch as pl
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, OmegaConf
from torch import nn

from gankit import arguments
from gankit.callbacks.final import FinalRecord
from gankit.checkpoint_io import AtomicCheckpointIO
from gankit.checks import check_config, full_key, located, origin_of, remember_origin, root_of
from gankit.errors import BadArgument, ConfigError, first_line
from gankit.gan import GAN
from gankit.keys import MAIN_METRIC, MAX_STEPS
from gankit.known_warnings import silence_known_warnings
from gankit.loggers import without_anonymous
from gankit.resume import checkpoint as resume
from gankit.resume import record

log = logging.getLogger(__name__)


def build(node: DictConfig, **kwargs):
    """hydra.utils.instantiate of a node of a checked config (gankit.checks.check_config); a value a constructor
    refuses stops the run with one line naming the config key the value came from."""
    with configured_by(node):
        try:
            built = instantiate(node, **kwargs)
            remember_origin(built, node)
            return built
        except InstantiationException as error:
            where = re.search(r"^full_key: (\S+)$", str(error), re.MULTILINE)
            where = where.group(1) if where else full_key(node)
            cause = error.__cause__
            if isinstance(cause, BadArgument):
                raise locate(cause, root_of(node), where) from None
            if isinstance(cause, ConfigError):
                raise cause from None
            raise ConfigError(f"{where}: {first_line(error)} {first_line(cause) if cause else ''}".rstrip()) from None


@contextmanager
def configured_by(node: DictConfig):
    """BadArgument raised inside -> ConfigError naming the key below `node` (the object built from it)."""
    try:
        yield
    except BadArgument as error:
        raise locate(error, root_of(node), full_key(node)) from None


def locate(error: BadArgument, root: DictConfig, where: str) -> ConfigError:
    """The error naming its config key: below `where`, or below the node its owner was built from."""
    origin = origin_of(error.owner) if error.owner is not None else None
    return located(error, root, full_key(origin)) if origin is not None else located(error, root, where)


def build_tricks(cfg: DictConfig) -> nn.ModuleDict:
    """The techniques selected with trick=..., keyed by name (absent when none is)."""
    return nn.ModuleDict({name: build(node) for name, node in (cfg.get("trick") or {}).items()})


def build_data(cfg: DictConfig, load: bool = True) -> pl.LightningDataModule:
    """The datamodule of `cfg`; with `load`, its files read now (missing files and batches larger than the data
    stop with one line naming the key)."""
    datamodule = build(cfg.dataset.datamodule)
    if load:
        with configured_by(cfg.dataset.datamodule):
            datamodule.prepare_data()
            datamodule.setup("fit")
    return datamodule


def build_gan(cfg: DictConfig) -> GAN:
    """The GAN of `cfg`: both networks, the loss and the techniques; it records `cfg` (saved in its checkpoints)."""
    gan = build(
        cfg.gan,
        generator=build(cfg.model.generator),
        discriminator=build(cfg.model.discriminator),
        loss=build(cfg.loss),
        tricks=build_tricks(cfg),
    )
    gan.config = run_config(cfg)
    return gan


def run_config(cfg: DictConfig) -> dict:
    """What a checkpoint keeps of the config: every key as composed (interpolations kept, so an option changed
    later, e.g. metrics.num_samples, reaches the keys that follow it), with the run's directory as a value
    (Hydra's ${hydra:...} cannot be resolved outside the run)."""
    config = OmegaConf.to_container(cfg, resolve=False)
    config["paths"]["output_dir"] = str(cfg.paths.output_dir)
    return config


def build_run(cfg: DictConfig, load_data: bool = False) -> tuple[pl.Trainer, GAN, pl.LightningDataModule]:
    """Every object of a run, composed from `cfg`; nothing is trained yet (a checkpoint to resume is checked
    against the model and set as `trainer.ckpt_path`). `load_data`: read the data now, so missing files and
    batches larger than the data stop the run with one line before the trainer and logger print anything."""
    check_config(cfg)  # checked, then built
    with configured_by(cfg):
        arguments.writable_folder("paths.output_dir", cfg.paths.output_dir)
        seed = arguments.integer("seed", cfg.seed, at_least=0, at_most=2**32 - 1)  # numpy's seeds
        if OmegaConf.select(cfg, "metrics.callback") is not None:  # what sweeps compare and searches optimise
            arguments.optional(arguments.text, MAIN_METRIC, OmegaConf.select(cfg, MAIN_METRIC))
            arguments.text("metrics.goal", OmegaConf.select(cfg, "metrics.goal", default="minimize"),
                           choices=("minimize", "maximize"))
    silence_known_warnings()
    ckpt_path = resume.checkpoint_path(cfg)
    checkpoint = resume.read(ckpt_path) if ckpt_path else None
    pl.seed_everything(seed, workers=True, verbose=False)
    datamodule = build_data(cfg, load_data and os.environ.get("LOCAL_RANK", "0") == "0")  # other ranks: in fit
    gan = build_gan(cfg)
    with configured_by(cfg.dataset.datamodule):
        check_batch_norm(gan, datamodule)
    if checkpoint is not None:
        resume.check_fits(checkpoint, gan, ckpt_path)
        record.check_not_finished(checkpoint, OmegaConf.select(cfg, MAX_STEPS), Path(cfg.paths.output_dir), MAX_STEPS)
    chosen = cfg.get("callbacks") or {}
    callbacks = [build(node) for node in chosen.values()]
    if (cfg.get("metrics") or {}).get("callback"):  # metrics=none leaves it empty (a preset may still set main)
        # right after the divergence guard: the callbacks that read its values (the mode-collapse guard, the
        # curves) see them at the step they were measured
        callbacks.insert(list(chosen).index("divergence") + 1 if "divergence" in chosen else 0,
                         build(cfg.metrics.callback))
    callbacks.append(FinalRecord(Path(cfg.paths.output_dir) / "metrics.json"))  # last: after the evaluation
    logger = build(cfg.logger, **resume.logger_overrides(cfg.logger, checkpoint)) if cfg.get("logger") else False
    logger = without_anonymous(logger) if isinstance(logger, WandbLogger) else logger
    # without a bar among the callbacks (~callbacks.progress_bar) Lightning would add its own: none, unless asked
    bar = {} if "enable_progress_bar" in cfg.trainer else {
        "enable_progress_bar": any(isinstance(c, ProgressBar) for c in callbacks)}
    trainer = build(cfg.trainer, logger=logger, callbacks=callbacks, plugins=[AtomicCheckpointIO(), *cluster()],
                    **bar)
    if trainer.world_size > 1:  # built alike everywhere; then each process draws its own noise
        pl.seed_everything(seed + trainer.global_rank, workers=True, verbose=False)
    if ckpt_path is not None:
        trainer.ckpt_path = str(ckpt_path)
    return trainer, gan, datamodule


def check_batch_norm(gan: GAN, datamodule: pl.LightningDataModule) -> None:
    """BatchNorm1d cannot train on one sample a batch: refused before training, not by torch inside the first step."""
    if getattr(datamodule, "batch_size", 2) != 1:
        return
    for player, network in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        if any(isinstance(m, nn.BatchNorm1d) for m in network.modules()):
            raise BadArgument("batch_size", f"must be at least 2 with this model: the {player}'s BatchNorm1d "
                                            "layers need 2 samples a batch to train", value=1, show_value=True)


def cluster() -> list:
    """In a SLURM job: Lightning's SLURM environment (ranks from SLURM) without its auto-requeue, so preemption has
    one path, gankit's (resume/preemption.py saves last.ckpt, resume/checkpoint.py resumes it)."""
    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def finish_wandb(trainer: pl.Trainer, interrupted: bool = False) -> None:
    """Close the W&B run (each run of a multirun is its own). When the run was interrupted, a failure to close
    is only logged: a preemption signals every process of the job, W&B's service too, and the interruption
    (SIGTERM: exit 143 after saving) is what the caller must see."""
    if not isinstance(trainer.logger, WandbLogger):
        return
    try:
        trainer.logger.experiment.finish()
    except Exception as error:
        if not interrupted:
            raise
        log.warning("W&B run not closed cleanly after the interruption: %s: %s", type(error).__name__, error)


def train(cfg: DictConfig) -> dict[str, float]:
    """Build the run and fit it (its callbacks write the run directory: last.ckpt, metrics.json, ...); return
    the final metrics (and their `protocol`), as metrics.json holds them."""
    return fit(*build_run(cfg, load_data=True), cfg)


def fit(trainer: pl.Trainer, gan: GAN, datamodule: pl.LightningDataModule, cfg: DictConfig) -> dict[str, float]:
    """Fit a built run; the final metrics, as metrics.json holds them."""
    if trainer.logger:
        trainer.logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    try:
        with configured_by(cfg):  # a technique's argument checked when fit starts names its key
            trainer.fit(gan, datamodule=datamodule)  # resumes from trainer.ckpt_path when build_run set it
    except BaseException:
        finish_wandb(trainer, interrupted=True)
        raise
    finish_wandb(trainer)
    (final,) = (c for c in trainer.callbacks if isinstance(c, FinalRecord))
    return final.metrics


def main_metric(cfg: DictConfig, metrics: dict) -> float | None:
    """The value of `metrics.main` (what sweeps compare and Optuna optimises); None without metrics."""
    name = OmegaConf.select(cfg, MAIN_METRIC, default=None)
    if name is None or OmegaConf.select(cfg, "metrics.callback", default=None) is None:  # no evaluation
        return None
    if name not in metrics:
        raise ConfigError(f"{MAIN_METRIC}={name} is not among the run's metrics: {', '.join(sorted(metrics))}")
    return float(metrics[name])


def record_failure(cfg: DictConfig, error: BaseException) -> None:
    """error.txt in the run directory: one line, so a sweep lists the run as failed and why."""
    output_dir = Path(cfg.paths.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "error.txt").write_text(first_line(f"{type(error).__name__}: {error}") + "\n")
    except OSError as failure:  # the folder itself cannot be written: the error is still printed
        log.warning("could not write %s: %s", output_dir / "error.txt", failure.strerror or failure)


