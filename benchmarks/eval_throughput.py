"""Evaluation cost: images embedded per second, and the time periodic evaluation adds to training.

1. Throughput of each feature extractor on generated-size images (after a warm-up batch): the digits
   classifier, and torch-fidelity's InceptionV3 (its speed does not depend on the weights, so random
   weights stand in unless --inception-weights gives the real file); plus the whole periodic digits
   evaluation path (generate with the default DCGAN, embed, update FID/IS states, compute).
2. Two training runs of the default digits job, metrics=none and metrics=classifier with eval_every; the
   callback's own timing of each evaluation (eval/seconds) against the seconds per training step.

    python benchmarks/eval_throughput.py
    python benchmarks/eval_throughput.py --steps 400 --eval-every 100 --inception-images 32
    python benchmarks/eval_throughput.py --threads 1   # on a shared CPU one thread can beat two
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("MPLBACKEND", "Agg")

from hydra import compose, initialize_config_dir  # noqa: E402

from gankit.data.digits import DigitsDataModule  # noqa: E402
from gankit.metrics.inception import InceptionFeatures, to_uint8_rgb  # noqa: E402
from gankit.metrics.labelled import ClassifierEvaluator  # noqa: E402


def per_second(fn, images: torch.Tensor, batch_size: int) -> float:
    fn(images[:batch_size])  # warm-up
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            fn(images[i:i + batch_size])
    return len(images) / (time.perf_counter() - start)


def random_inception() -> str:
    from tests.inception_weights import random_inception_weights

    return str(random_inception_weights())


def config(output_dir: Path, cache_dir: Path, *overrides: str):
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        return compose("train", overrides=[f"paths.output_dir={output_dir}", f"paths.cache_dir={cache_dir}",
                                           "logger=csv", "~callbacks.progress_bar", "callbacks.samples.every_n_steps=0",
                                           "+trainer.enable_progress_bar=false", *overrides])


def eval_seconds(run_dir: Path) -> list[tuple[int, float]]:
    with open(run_dir / "csv" / "metrics.csv") as f:
        return [(int(r["step"]), float(r["eval/seconds"])) for r in csv.DictReader(f) if r.get("eval/seconds")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits-images", type=int, default=10000)
    parser.add_argument("--inception-images", type=int, default=32)
    parser.add_argument("--inception-weights", default=None, help="the real weights file (default: random)")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from gankit.run import train

    work = Path(tempfile.mkdtemp(prefix="gankit-eval-bench-"))
    cache = work / "cache"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cache {cache}")

    datamodule = DigitsDataModule(image_size=32)
    datamodule.setup()
    start = time.perf_counter()
    evaluator = ClassifierEvaluator(str(cache))
    evaluator.setup(datamodule)
    record = evaluator.protocol()
    print(f"digits classifier: trained and reference embedded on first use in {time.perf_counter() - start:.1f} s; "
          f"test accuracy {record['classifier_test_accuracy']:.4f}; FID floor {evaluator.reference['fid_floor']:.3f}")

    images = datamodule.train_images.repeat(-(-args.digits_images // len(datamodule.train_images)), 1, 1, 1)
    images = images[:args.digits_images]  # [N, 1, 32, 32]
    rate = per_second(evaluator.classifier, images, 500)
    print(f"digits classifier: {rate:,.0f} images/s embedded (32x32, batch 500)")

    cfg = config(work / "probe", cache, "trainer.max_steps=1")
    from gankit.run import build_run

    _, gan, _ = build_run(cfg)
    start = time.perf_counter()
    with torch.no_grad():
        evaluator.reset()
        for _ in range(args.digits_images // 500):
            evaluator.update(gan.sample(500))
        evaluator.compute()
    seconds = time.perf_counter() - start
    print(f"digits evaluation of {args.digits_images} samples (generate + embed + FID/IS/classes): {seconds:.2f} s, "
          f"{args.digits_images / seconds:,.0f} samples/s")

    weights = args.inception_weights or random_inception()
    inception = InceptionFeatures(weights, feature_layer=2048, antialias=False)
    rgb = to_uint8_rgb(images[:args.inception_images])
    rate = per_second(inception, rgb, 16)
    print(f"InceptionV3 ({'given' if args.inception_weights else 'random'} weights): {rate:.1f} images/s embedded "
          f"(32x32 -> 299x299, batch 16); 10,000 images: {10000 / rate / 60:.1f} min")

    results = {}
    for name, overrides in (("metrics=none", ["metrics=none"]),
                            ("metrics=classifier", [f"metrics.eval_every={args.eval_every}"])):
        run_dir = work / name.replace("=", "-")
        start = time.perf_counter()
        train(config(run_dir, cache, f"trainer.max_steps={args.steps}", *overrides))
        results[name] = (time.perf_counter() - start, run_dir)
    plain, _ = results["metrics=none"]
    total, run_dir = results["metrics=classifier"]
    timings = eval_seconds(run_dir)
    periodic = [s for step, s in timings[:-1]]
    step_time = plain / args.steps
    print(f"\ntraining {args.steps} steps: metrics=none {plain:.1f} s ({1000 * step_time:.1f} ms/step); "
          f"metrics=classifier eval_every={args.eval_every}: {total:.1f} s ({total - plain:+.1f} s; whole-run wall "
          "times on a shared CPU are noisier than the evaluations' own timings below)")
    if periodic:
        mean = sum(periodic) / len(periodic)
        print(f"periodic evaluation ({len(periodic)} x 2000 samples): {mean:.2f} s each = "
              f"{100 * mean / (args.eval_every * step_time):.1f}% of the {args.eval_every} steps between them; "
              f"at the default eval_every=1000: {100 * mean / (1000 * step_time):.1f}%")
    print(f"final evaluation (10000 samples): {timings[-1][1]:.2f} s")


if __name__ == "__main__":
    main()
