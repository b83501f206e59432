"""What a run asks SLURM for, derived from its trainer and data: one task a device, GPUs only for GPU runs.

`hydra.launcher.gpus_per_node|cpus_per_task|mem_gb=auto` (the defaults of conf/hydra/launcher/slurm.yaml) are
filled in per run; a number (or null) given instead is used as it is.
"""

from __future__ import annotations

import subprocess

from omegaconf import DictConfig, OmegaConf

from gankit.errors import ConfigError

AUTO = "auto"
DEVICES, LAUNCHER = "trainer.devices", "hydra.launcher"  # the keys this module reads (devices decides the tasks)
FILE_WORKERS = 4  # dataset.num_workers=null: the usable cores, at most 4 (gankit.data.folder.default_workers)
GB_PER_TASK = 4  # a training process: torch, Lightning, the data held on the device, evaluation
GB_PER_WORKER = 1  # each DataLoader worker decoding image files


def devices(cfg: DictConfig) -> int:
    """trainer.devices as the number of tasks a node runs (Lightning's SLURMEnvironment: one task a device)."""
    value = OmegaConf.select(cfg, DEVICES, default=1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{DEVICES}={value} under hydra/launcher=slurm: give a number of devices per node "
                          "(SLURM starts one task per device)")
    return value


def workers(cfg: DictConfig) -> int:
    """DataLoader workers per process: 0 for data held as a tensor (no dataset.num_workers key)."""
    if "num_workers" not in (cfg.get("dataset") or {}):
        return 0
    value = cfg.dataset.num_workers
    return FILE_WORKERS if value is None else int(value)


def partition_has_gpus(partition: str | None) -> bool:
    """True if the nodes of `partition` (None: the cluster's default one) list GPUs in their gres (sinfo)."""
    command = ["sinfo", "--noheader", "--format=%P %G"]
    try:
        lines = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()
    except (OSError, subprocess.SubprocessError) as error:
        raise ConfigError(f"sinfo failed ({error}): hydra/launcher=slurm needs SLURM's commands on this machine, "
                          f"or set {LAUNCHER}.gpus_per_node") from None
    for line in lines:
        name, _, gres = line.partition(" ")
        if (partition is None and name.endswith("*")) or name.rstrip("*") == partition:
            if "gpu" in gres:
                return True
    return False


def gpus_per_node(cfg: DictConfig, partition: str | None) -> int | None:
    """trainer.devices GPUs when the trainer runs on GPUs, None (no gres) when it runs on CPUs."""
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="auto"))
    if accelerator in ("gpu", "cuda"):
        return devices(cfg)
    if accelerator == "auto" and partition_has_gpus(partition):
        return devices(cfg)
    return None


def resolve(params: dict, cfg: DictConfig) -> dict:
    """The launcher's parameters for the run composed as `cfg`, with every `auto` request filled in."""
    params = dict(params)
    tasks = params.get("tasks_per_node") or 1
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise ConfigError(f"{LAUNCHER}.tasks_per_node={tasks} (from {DEVICES}): give {DEVICES}=N, "
                          "the number of devices (SLURM tasks) per node")
    if params.get("gpus_per_node") == AUTO:
        params["gpus_per_node"] = gpus_per_node(cfg, params.get("partition"))
    if params.get("cpus_per_task") == AUTO:
        params["cpus_per_task"] = 1 + workers(cfg)
    if params.get("mem_gb") == AUTO:
        params["mem_gb"] = tasks * (GB_PER_TASK + GB_PER_WORKER * workers(cfg))
    return params
