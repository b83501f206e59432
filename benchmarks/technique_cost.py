"""Per-iteration cost of each technique (every option of conf/trick/) relative to the plain GAN, same process.

Each technique's run is built from the real config (`train.py`'s composition with trick=NAME), so it times
what a user runs: MLP on the ring (batch 256) and DCGAN on digits (32x32, batch 64). Repeats alternate the
plain GAN and the technique; the table gives median ms per iteration (one D and one G update) and the ratio.

    python benchmarks/technique_cost.py --threads 1
    python benchmarks/technique_cost.py --case mlp-ring --tricks pacgan,unrolled --iters 30
    python benchmarks/technique_cost.py --case pacgan-grid --tricks pacgan4,unrolled --repeats 1   # the protocol
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gankit.run import build_run  # noqa: E402

CASES = {"mlp-ring": ["model=mlp", "dataset=ring", "dataset.batch_size=256"], "dcgan-digits": [],
         "pacgan-grid": ["experiment=pacgan_grid"]}  # PacGAN's Table 1 protocol (batch 100 packs)
ALL = ["mlp-ring", "dcgan-digits"]  # --case all


class IterationTimer(pl.Callback):
    """Seconds from the start of batch `warmup` to the end of training."""

    def __init__(self, warmup: int):
        self.warmup, self.seen, self.start, self.end = warmup, 0, None, None

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if self.seen == self.warmup:
            self.start = time.perf_counter()
        self.seen += 1

    def on_train_end(self, trainer, module):
        self.end = time.perf_counter()


def seconds_per_iteration(overrides: list[str], iters: int, warmup: int) -> float:
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose("train", overrides=["logger=none", "metrics=none", "paths.output_dir=.", *overrides])
    with open_dict(cfg):
        cfg.callbacks = {}
    _, gan, datamodule = build_run(cfg)
    timer = IterationTimer(warmup)
    trainer = pl.Trainer(max_steps=2 * (iters + warmup), logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
                         accelerator="cpu", devices=1, log_every_n_steps=50)
    trainer.fit(gan, datamodule=datamodule)
    return (timer.end - timer.start) / iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    parser.add_argument("--tricks", default="", help="comma-separated options of conf/trick/ (default: all)")
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tricks = args.tricks.split(",") if args.tricks else sorted(
        p.stem for p in (ROOT / "conf" / "trick").glob("*.yaml") if p.stem != "none")
    print(f"torch {torch.__version__}, cpu, {torch.get_num_threads()} threads, {args.iters} timed iterations after "
          f"{args.warmup}, {args.repeats} repeats (median)")
    print(f"{'case':<14} {'trick':<26} {'plain ms/it':>12} {'trick ms/it':>12} {'ratio':>7}")
    for case in ALL if args.case == "all" else [args.case]:
        for trick in tricks:
            if case != "dcgan-digits" and trick == "diffaugment":
                print(f"{case:<14} {trick:<26} {'-':>12} {'-':>12} {'images only':>7}")
                continue
            plain, ours = [], []
            for _ in range(args.repeats):
                plain.append(seconds_per_iteration(CASES[case], args.iters, args.warmup))
                ours.append(seconds_per_iteration([*CASES[case], f"trick={trick}"], args.iters, args.warmup))
            p, o = statistics.median(plain), statistics.median(ours)
            print(f"{case:<14} {trick:<26} {p * 1e3:>12.2f} {o * 1e3:>12.2f} {o / p:>7.2f}")


if __name__ == "__main__":
    import logging
    import warnings

    sys.stdout.reconfigure(line_buffering=True)
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
    main()
