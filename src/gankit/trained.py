"""Using what was trained: a run rebuilt from its checkpoint alone (the config it saved), evaluated under any metric
option and protocol, sampled, and its generator exported for plain PyTorch. evaluate.py and sample.py call these.

A checkpoint written by gankit holds `config` (the run's config as composed, see gankit.run.run_config) and
`gankit_version`; an older one is rebuilt from the `.hydra/config.yaml` of the run directory that holds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from gankit.callbacks.evaluation import Evaluation
from gankit.checkpoint_io import writing
from gankit.errors import ConfigError
from gankit.gan import GAN
from gankit.resume import checkpoint as resume
from gankit.run import build, build_data, build_gan, configured_by


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
        cfg[key] = OmegaConf.load(group / f"{value}.yaml")
        return
    if OmegaConf.select(cfg, key, default=KeyError) is KeyError:
        raise ConfigError(f"{key} is not a key of this run's config (python train.py --cfg job lists them)")
    OmegaConf.update(cfg, key, yaml.safe_load(value), merge=True)


def rebuild(cfg: DictConfig, checkpoint: dict, path: Path) -> tuple[GAN, object]:
    """The run's GAN with the checkpoint's weights (and every technique's state) and its datamodule, set up."""
    gan = build_gan(cfg)
    resume.check_fits(checkpoint, gan, path)  # loads the weights; refuses another model's in one line
    datamodule = build_data(cfg)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return gan.to(device).eval(), datamodule


@dataclass
class Standalone:
    """What an evaluation reads of a Trainer, for one process outside fit (the run's own evaluation runs inside it,
    on every process)."""

    datamodule: object
    global_step: int
    global_rank: int = 0
    world_size: int = 1
    is_global_zero: bool = True
    loggers: list = field(default_factory=list)
    callback_metrics: dict = field(default_factory=dict)
    max_steps: int = -1

    class strategy:  # noqa: N801 (the Trainer attribute's name)
        @staticmethod
        def barrier(name: str | None = None) -> None:
            pass


def evaluate(cfg: DictConfig, checkpoint: dict, path: Path) -> dict:
    """The final evaluation of the run's metrics option as the run's own end runs it (same seed, same samples):
    {eval/<metric>: value, ..., "protocol": {...}, "step": N, "checkpoint": path}."""
    if not (cfg.get("metrics") or {}).get("callback"):
        raise ConfigError("this run's metrics option evaluates nothing (metrics=none); choose one, e.g. "
                          "metrics=classifier, metrics=toy or metrics=image")
    gan, datamodule = rebuild(cfg, checkpoint, path)
    with configured_by(cfg.metrics.callback):
        evaluation: Evaluation = build(cfg.metrics.callback, history_path=None)
    trainer = Standalone(datamodule, int(checkpoint.get("global_step", 0)))
    gan.trainer = trainer  # techniques that measure themselves read the data through it
    with configured_by(cfg.metrics.callback):
        evaluation.on_fit_start(trainer, gan)
        evaluation.on_train_end(trainer, gan)
    return {**evaluation.final_record(), "step": trainer.global_step, "checkpoint": str(path)}


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
