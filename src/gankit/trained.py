"""Using what was trained: a run rebuilt from its checkpoint alone (the config it saved), evaluated under any metric
option and protocol, sampled, and its generator exported for plain PyTorch. evaluate.py and sample.py call these.

A checkpoint written by gankit holds `config` (the run's config as composed, see gankit.run.run_config) and
`gankit_version`; an older one is rebuilt from the `.hydra/config.yaml` of the run directory that holds it.
"""

from __future__ import annotations

import json
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import lightning.pytorch as pl
import torch
import yaml
from omegaconf import DictConfig, OmegaConf
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from gankit.callbacks.evaluation import Evaluation
from gankit.checkpoint_io import writing
from gankit.checks import check_config
from gankit.errors import ConfigError, first_line
from gankit.gan import GAN
from gankit.resume import checkpoint as resume
from gankit.run import build, build_data, build_gan, cluster, configured_by

REBUILT = ("model", "loss", "trick", "gan", "dataset", "metrics", "trainer")  # what evaluate and sample build


def load_run(path: Path, conf_dir: Path, overrides: list[str]) -> tuple[DictConfig, dict]:
    """(the run's config with `overrides` applied, the checkpoint). An override is `group=option` for a config group
    (`metrics=image`: conf/<group>/<option>.yaml replaces the run's) or `key=value` for a key the run has."""
    checkpoint = resume.read(path)
    config = checkpoint.get("config")
    if config is None:
        record = path.parent.parent / ".hydra" / "config.yaml"
        if not record.is_file():
            raise ConfigError(f"ckpt_path={path} holds no config (written by another program or by gankit "
                              "before checkpoints held one) and no run's .hydra/config.yaml is beside it: it cannot "
                              "be rebuilt")
        config = OmegaConf.to_container(OmegaConf.load(record), resolve=False)
        config["paths"]["output_dir"] = str(path.parent.parent)
    cfg = OmegaConf.create(config)
    for override in overrides:
        apply(cfg, conf_dir, override)
    check_config(cfg, REBUILT)  # checked, then built (rebuild, evaluate); the run's callbacks and logger are not
    return cfg, checkpoint


def apply(cfg: DictConfig, conf_dir: Path, override: str) -> None:
    key, equals, value = override.partition("=")
    if not equals:
        raise ConfigError(f"{override}: give key=value or group=option")
    group = conf_dir / key
    if group.is_dir():
        options = sorted(p.stem for p in group.glob("*.yaml"))
        if value not in options:
            raise ConfigError(f"unknown option {key}={value}; choose one of: {', '.join(options)}")
        cfg[key] = group_option(conf_dir, key, value)
        return
    if OmegaConf.select(cfg, key, default=KeyError) is KeyError:
        raise ConfigError(f"{key} is not a key of this run's config (python train.py --cfg job lists them)")
    OmegaConf.update(cfg, key, yaml.safe_load(value), merge=True)


def group_option(conf_dir: Path, group: str, option: str) -> DictConfig:
    """conf/<group>/<option>.yaml as Hydra composes it (with the defaults list it has: trainer=ddp extends
    trainer/default), its interpolations left to resolve against the run's config."""
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
            composed = compose("train", overrides=[f"{group}={option}"])
    except Exception as error:
        raise ConfigError(f"{group}={option} cannot be applied to a trained run: {first_line(error)}") from None
    if group not in composed:  # a preset (`experiment`, `hparams_search`) sets keys all over the config
        raise ConfigError(f"{group}={option} sets keys across the config; give the keys it sets as key=value")
    return OmegaConf.to_container(composed, resolve=False)[group]


def rebuild(cfg: DictConfig, checkpoint: dict, path: Path, to_device: bool = True) -> tuple[GAN, object]:
    """The run's GAN with the checkpoint's weights (and every technique's state) and its datamodule, set up; on the
    first GPU (or the CPU) with `to_device`, else on the CPU for a Trainer to place."""
    gan = build_gan(cfg)
    resume.check_fits(checkpoint, gan, path)  # loads the weights; refuses another model's in one line
    datamodule = build_data(cfg)
    device = torch.device("cuda" if to_device and torch.cuda.is_available() else "cpu")
    return gan.to(device).eval(), datamodule


@dataclass
class Standalone:
    """What an evaluation reads of a Trainer, outside fit: the data, the checkpoint's step and the processes of the
    Trainer it runs in (`strategy`: its barrier; torchmetrics syncs through the process group that Trainer set up)."""

    datamodule: object
    global_step: int
    global_rank: int = 0
    world_size: int = 1
    is_global_zero: bool = True
    strategy: object = None
    loggers: list = field(default_factory=list)
    max_steps: int = -1


class Evaluating(pl.LightningModule):
    """The run's final evaluation inside `trainer.predict`: on the Trainer the run's config builds (trainer=ddp with
    trainer.devices=N: N processes, each generating its share of the samples, the metric states synced), as the
    run's own end evaluates. One placeholder batch a process; nothing is predicted."""

    def __init__(self, gan: GAN, evaluation: Evaluation, data, step: int):
        super().__init__()
        self.gan, self.evaluation, self.data, self.step = gan, evaluation, data, step
        self.record: dict | None = None

    def on_predict_start(self) -> None:
        trainer = self.trainer
        stand_in = Standalone(self.data, self.step, trainer.global_rank, trainer.world_size, trainer.is_global_zero,
                              trainer.strategy)
        self.gan.trainer = stand_in  # techniques that measure themselves read the data through it
        with torch.inference_mode(False), torch.enable_grad():  # as in fit (a classifier may train on first use)
            self.evaluation.on_fit_start(stand_in, self.gan)
            self.evaluation.on_train_end(stand_in, self.gan)
        self.record = {**self.evaluation.final_record(), "step": self.step}

    def predict_step(self, batch, batch_idx: int) -> None:
        return None


@contextmanager
def quiet_lightning():
    """Without Lightning's start-up lines (accelerators found) and its note that predict returned nothing: the
    command's own line is its output."""
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch.utilities.rank_zero",
                                                    "lightning.fabric.utilities.distributed")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="predict returned None")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def evaluate(cfg: DictConfig, checkpoint: dict, path: Path) -> dict | None:
    """The final evaluation of the run's metrics option as the run's own end runs it (same seed, same samples, the
    same processes): {eval/<metric>: value, ..., "protocol": {...}, "step": N, "checkpoint": path} on the first
    process, None on the others."""
    if not (cfg.get("metrics") or {}).get("callback"):
        raise ConfigError("this run's metrics option evaluates nothing (metrics=none); choose one, e.g. "
                          "metrics=classifier, metrics=toy or metrics=image")
    gan, datamodule = rebuild(cfg, checkpoint, path, to_device=False)  # the Trainer puts it on each process's device
    with configured_by(cfg.metrics.callback):
        evaluation: Evaluation = build(cfg.metrics.callback, history_path=None)
    with quiet_lightning():
        trainer = build(cfg.trainer, logger=False, callbacks=[], plugins=cluster(), enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False)
        module = Evaluating(gan, evaluation, datamodule, int(checkpoint.get("global_step", 0)))
        placeholders = DataLoader(TensorDataset(torch.zeros(trainer.world_size)), batch_size=1)
        with configured_by(cfg.metrics.callback):
            trainer.predict(module, dataloaders=placeholders, return_predictions=False)
    return {**module.record, "checkpoint": str(path)} if trainer.is_global_zero else None


def free_path(path: Path) -> Path:
    """`path`, or path_1, path_2, ... (before the suffix) when it exists: nothing is overwritten."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
    return candidate


def write_json(record: dict, path: Path) -> Path:
    path = free_path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2, sort_keys=True))
    return path


def fixed_noise(num: int, latent_dim: int, seed: int) -> Tensor:
    """z ~ N(0, I) [num, latent_dim] from its own seeded generator (the same for the same seed)."""
    return torch.randn(num, latent_dim, generator=torch.Generator().manual_seed(seed))


class EvaluationGenerator(torch.nn.Module):
    """The network the run samples with (G, or a technique's average of it) in eval mode: z [B, latent] -> x."""

    def __init__(self, gan: GAN):
        super().__init__()
        self.network = gan.generator_for_evaluation.eval()

    def forward(self, z: Tensor) -> Tensor:
        return self.network(z)


def export(gan: GAN, path: Path, example: Tensor) -> Path:
    """The evaluation generator as a torch.export program (`torch.export.load(path).module()(z)` runs it with
    plain PyTorch, no gankit), with a dynamic batch size."""
    module = EvaluationGenerator(gan).cpu()
    batch = torch.export.Dim("batch", min=2)
    program = torch.export.export(module, (example.cpu(),), dynamic_shapes={"z": {0: batch}})
    path = free_path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.export.save(program, str(path))
    return path
