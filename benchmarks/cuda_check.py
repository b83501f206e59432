"""Every technique, precision and metric path on a GPU, in one process: what only a GPU machine shows.

For each trick option (conf/trick/, PacGAN's other packs aside) on the MLP/ring and the DCGAN/digits jobs, and for the
default job in bf16-mixed, 16-mixed, channels-last with fused Adam, and with its evaluation: a short
`train.py` run on CUDA (the same config and code path; in-process, so CUDA and the imports start once). Each row:
whether it finished, its parameters stayed on the GPU and its last losses are finite; the device syncs inside its
training batches (benchmarks/sync_watch.py: plain batches should have none but the divergence guard's read every
`callbacks.divergence.every_n_batches`); its wall time.

    python benchmarks/cuda_check.py --batches 30 > cuda_check.txt
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")
from benchmarks.end_to_end import compose  # noqa: E402  (the same config composition as the benchmark's)

FAMILIES = {
    "mlp": ["dataset=ring", "model=mlp"],
    "dcgan": [],  # the default job: DCGAN on digits 32x32
}
VARIANTS = {  # the default job with one GPU option each
    "bf16-mixed": ["trainer.precision=bf16-mixed"],
    "16-mixed": ["trainer.precision=16-mixed"],
    "channels_last+fused": ["channels_last=true", "gan.optimizer_g.fused=true", "gan.optimizer_d.fused=true"],
}  # compile=true: benchmarks/end_to_end.py --device cuda --variants compile trains with it
QUIET = ["~callbacks.progress_bar", "+trainer.enable_progress_bar=false", "callbacks.samples.every_n_steps=0",
         "+callbacks.sync_watch._target_=benchmarks.sync_watch.SyncWatch"]


def check(name: str, overrides: list[str], batches: int, scratch: Path, logger: str, evaluate: bool,
          device: str) -> str:
    import torch

    from gankit.errors import ConfigError
    from gankit.run import build_run, fit

    run_dir = scratch / name.replace("/", "-").replace("+", "-")
    metrics_off = [] if evaluate else ["metrics=none"]
    cfg = compose([f"paths.output_dir={run_dir}", *overrides, *metrics_off, *QUIET, f"logger={logger}",
                   f"trainer.accelerator={device}", f"trainer.max_steps={2 * batches}"])
    start = time.perf_counter()
    try:
        trainer, gan, datamodule = build_run(cfg, load_data=True)
        metrics = fit(trainer, gan, datamodule, cfg)
    except ConfigError as error:
        return f"{name:<34} refused: {error}"
    except Exception as error:  # a row, not the end of the check
        return f"{name:<34} FAILED {type(error).__name__}: {error}\n{traceback.format_exc(limit=-4)}"
    wall = time.perf_counter() - start
    (watch,) = (c for c in trainer.callbacks if type(c).__name__ == "SyncWatch")
    on_gpu = watch.devices == {"cuda" if device == "gpu" else "cpu"}  # during training
    losses = {k: v for k, v in metrics.items() if k.startswith("train/") and k.endswith("loss")}
    finite = bool(losses) and all(math.isfinite(v) for v in losses.values())
    evaluated = {k: round(v, 4) for k, v in metrics.items() if k.startswith("eval/") and isinstance(v, float)
                 and k != "eval/seconds"}
    ok = "ok" if on_gpu and finite else "WRONG"
    if device == "gpu":
        torch.cuda.empty_cache()
    return (f"{name:<34} {ok:<5} step {metrics.get('step')} on_gpu={on_gpu} finite={finite} {wall:6.1f} s  "
            f"{', '.join(f'{k}={v:.3g}' for k, v in sorted(losses.items()))}"
            + (f"\n{'':<34} {evaluated}" if evaluated else "") + "\n" + watch.summary())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30, help="training batches a run")
    parser.add_argument("--only", default="", help="comma-separated row names to run (default: all)")
    parser.add_argument("--device", default="gpu", help="gpu, or cpu to try the check itself on a machine without")
    args = parser.parse_args()
    import torch

    from gankit.checks import group_options

    if args.device == "gpu" and not torch.cuda.is_available():
        sys.exit("no CUDA device: this check is for a GPU machine")
    try:
        import wandb  # noqa: F401

        logger = "wandb"
    except ImportError:  # a GPU machine without W&B installed: the CSV logger (W&B's cost is not under test here)
        logger = "csv"
    packs = {"pacgan2", "pacgan3", "pacgan4"}  # trick=pacgan with other packs
    tricks = [t for t in group_options(ROOT / "conf", "trick") if t != "none" and t not in packs]
    rows = [(f"{family}/{trick}", [*overrides, f"trick={trick}"], False)
            for family, overrides in FAMILIES.items() for trick in ["none", *tricks]]
    rows += [(f"dcgan/{name}", overrides, False) for name, overrides in VARIANTS.items()]
    rows += [("dcgan/evaluation", [], True), ("mlp/evaluation", FAMILIES["mlp"], True)]
    only = set(filter(None, args.only.split(",")))
    where = torch.cuda.get_device_name() if args.device == "gpu" else "cpu"
    print(f"torch {torch.__version__}, {where}, logger {logger}, {args.batches} batches a run",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="gankit-cuda-") as scratch:
        for name, overrides, evaluate in rows:
            if not only or name in only:
                print(check(name, overrides, args.batches, Path(scratch), logger, evaluate, args.device), flush=True)


if __name__ == "__main__":
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    main()
