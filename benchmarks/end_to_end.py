"""`python train.py` end to end against a plain PyTorch loop of the same networks, data, batch and optimisers.

For each protocol both run as a user runs them, each in its own process with the same torch thread count:
train.py with its default callbacks (checkpointing, the guards, the curves, the resume state, the W&B logger
offline), the periodic evaluation and step figures off; the plain loop written below (the PyTorch DCGAN
example's structure, with D frozen during G's update as gankit does, so both do the same arithmetic). Each
process stamps the start of every batch (benchmarks/clock.py: one perf_counter call a batch).

This VM's speed drifts by 10-20% over minutes, and each of its two cores drifts on its own, more than the
differences measured. So the two run at the same time on the same core (a pair): the kernel's fair scheduler gives
each half of it, whatever its speed at the moment, and the ratio of their times a batch over the same stretch of
wall time is the ratio of their CPU cost a batch (two copies of the plain loop measured 0.995-1.002 this way;
side by side on two cores 0.89-1.10; one after the other, one plain loop took 8.9 to 10.1 ms a batch). The
stretch: train.py's batches after its first fifth (warm-up) to its end, while the plain loop, started first, keeps
going until train.py has finished. Pairs alternate the core. The table shows the geometric mean of the pairs' ratios
with a 95% t interval, the same for a train.py run with the evaluation and step figures at their default rhythm
(their cost), and the time from the command to the first training step (a train.py run alone, median of three). Then
one profiled train.py run alone (Lightning's simple profiler) lists each callback's share of the training loop. What
a shared core hides: train.py's helper processes (W&B's service) take their CPU from both runs alike.

    python benchmarks/end_to_end.py                                   # the four protocols, 4 pairs each
    python benchmarks/end_to_end.py --protocols ring --pairs 2 --scale 0.5
    python benchmarks/end_to_end.py --plain ring --batches 200 --stamps F   # the plain loop alone
    python benchmarks/end_to_end.py --device cuda --variants fp32,bf16,compile   # on a GPU: runs one after the other

Protocols: pacgan_grid (PacGAN's Table 1 set-up: 25-Gaussian grid, 4 x 400 MLPs, batch 100), ring (the toy MLP
on the ring, batch 256), digits (the default job: DCGAN on digits 32x32, batch 64) and fashion (DCGAN on
Fashion-MNIST from Debian's files, batch 64).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmarks.clock, for the plain loop and the tables
from benchmarks.clock import BatchClock, first_step_wall, seconds_per_batch, steady_window  # noqa: E402

# overrides of each protocol, and its batches a run at --scale 1 (~15-25 s of training on this machine's CPU)
PROTOCOLS = {
    "pacgan_grid": (["experiment=pacgan_grid"], 800),
    "ring": (["dataset=ring", "model=mlp"], 1500),
    "digits": ([], 150),
    "fashion": (["dataset=fashion_mnist"], 150),
}
# the periodic work excluded from the ratio (reported apart): evaluations and step figures at the end only
NO_PERIODIC = ["metrics.eval_every=0", "callbacks.samples.every_n_steps=0"]
QUIET = ["~callbacks.progress_bar", "+trainer.enable_progress_bar=false"]
WARM_UP = 0.2  # the fraction of a run's batches left out of its time a batch
T95 = {1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}  # t(0.975, n-1)


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        return hydra_compose("train", overrides=overrides)


def plain_loop(protocol: str, batches: int, stamps: str, until: str | None = None, device: str = "cpu",
               variant: str = "fp32") -> None:
    """A hand-written loop over the protocol's networks, optimisers and batches, built from its config: one G forward
    a batch, one D update on real and detached fake, one G update with D frozen. Runs `batches` batches, or with
    `until` until that file exists (checked every 10 batches). On CUDA the data stay on the GPU as gankit's
    datamodules hold them, `variant` bf16 runs the forward passes under bfloat16 autocast and compile compiles G
    and D (as `compile=true` does; bf16-compile both), and the last stamp waits for the GPU."""
    import contextlib
    from types import SimpleNamespace

    import torch

    from gankit.run import build, build_data

    cfg = compose(PROTOCOLS[protocol][0] + ["logger=none"])
    torch.manual_seed(cfg.seed)
    datamodule = build_data(cfg)
    on = torch.device(device)
    # the datamodule places its batches on its trainer's device (gankit.data.batches.placement)
    datamodule.trainer = SimpleNamespace(strategy=SimpleNamespace(root_device=on), global_rank=0)
    g, d, loss = build(cfg.model.generator).to(on), build(cfg.model.discriminator).to(on), build(cfg.loss)
    if variant.endswith("compile"):
        g.compile()
        d.compile()
    autocast = torch.autocast(on.type, dtype=torch.bfloat16) if variant.startswith("bf16") \
        else contextlib.nullcontext()
    d_loss_of, g_loss_of = (plain_function(f) for f in (loss.discriminator_loss, loss.generator_loss))
    opt_g = build(cfg.gan.optimizer_g)(g.parameters())
    opt_d = build(cfg.gan.optimizer_d)(d.parameters())
    latent_dim = cfg.model.latent_dim

    def batches_forever():
        while True:
            yield from datamodule.train_dataloader()

    clock, stream = BatchClock(stamps), batches_forever()
    for batch in range(batches):
        if until and batch % 10 == 0 and os.path.exists(until):
            break
        clock.tick()
        real = next(stream)
        with autocast:
            fake = g(torch.randn(real.shape[0], latent_dim, device=on))
            d_loss = d_loss_of(d(real)[0], d(fake.detach())[0])
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        d.requires_grad_(False)
        with autocast:
            g_loss = g_loss_of(d(fake)[0])
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        d.requires_grad_(True)
    if on.type == "cuda":
        torch.cuda.synchronize()
    clock.tick()
    clock.write()


def plain_function(function):
    """The loss function itself, not a Hydra partial (which re-checks its target policy on every call). gankit's
    GANLoss does this too (arguments.batch_function); done here as well so that the plain loop stays the same when
    the benchmark measures a commit from before it."""
    if isinstance(function, functools.partial):
        return functools.partial(function.func, *function.args, **function.keywords)
    return function


def environment(threads: int) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "WANDB_MODE": os.environ.get("WANDB_MODE", "offline"),
            "WANDB_SILENT": "true", "MPLBACKEND": "Agg"}


def launch(command: list[str], threads: int, core: int | None = None) -> subprocess.Popen:
    """The command started from the repository root, pinned to `core` when given."""
    pin = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    return subprocess.Popen(command, cwd=ROOT, env=environment(threads), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=pin)


def finish(process: subprocess.Popen) -> str:
    """Waits for the process and returns its output; stops the benchmark when it failed."""
    output, _ = process.communicate()
    if process.returncode != 0:
        sys.exit(f"failed ({process.returncode}): {' '.join(process.args)}\n{output[-3000:]}")
    return output


VARIANTS = {"fp32": [], "bf16": ["trainer.precision=bf16-mixed"], "compile": ["compile=true"],  # train.py's side
            "bf16-compile": ["trainer.precision=bf16-mixed", "compile=true"]}


def train_command(protocol: str, batches: int, run_dir: Path, stamps: Path | None, *extra: str,
                  device: str = "cpu") -> list[str]:
    overrides, _ = PROTOCOLS[protocol]
    clock = ["+callbacks.clock._target_=benchmarks.clock.Stamps", f"+callbacks.clock.path={stamps}"] if stamps else []
    accelerator = "gpu" if device == "cuda" else "cpu"  # the plain loop's device
    return [sys.executable, "train.py", *overrides, f"trainer.max_steps={2 * batches}", f"hydra.run.dir={run_dir}",
            f"trainer.accelerator={accelerator}", *QUIET, *clock, *extra]


def plain_command(protocol: str, batches: int, stamps: Path, until: Path | None = None, device: str = "cpu",
                  variant: str = "fp32") -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--plain", protocol, "--batches", str(batches),
            "--stamps", str(stamps), *(["--until", str(until)] if until else []), "--device", device,
            "--variant", variant]


def side_by_side(protocol: str, batches: int, threads: int, scratch: Path, name: str, core: int,
                 *extra: str) -> tuple[float, float, float]:
    """(train.py / plain, train.py's and the plain loop's seconds a batch) over the same wall-clock stretch,
    both on `core`."""
    plain_stamps, train_stamps = scratch / f"{name}-plain.json", scratch / f"{name}-train.json"
    plain = launch(plain_command(protocol, 100 * batches, plain_stamps, until=train_stamps), threads, core)
    train = launch(train_command(protocol, batches, scratch / name, train_stamps, *extra), threads, core)
    finish(train)
    finish(plain)
    window = steady_window(train_stamps, WARM_UP)
    ours, theirs = (seconds_per_batch(stamps, window) for stamps in (train_stamps, plain_stamps))
    return ours / theirs, ours, theirs


def ratio_interval(ratios: list[float]) -> tuple[float, float, float]:
    """Geometric mean of the pairs' ratios and its 95% t interval (on the log scale)."""
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(mean), math.nan, math.nan
    half = T95.get(len(logs) - 1, 1.96) * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


PER_BATCH = re.compile(r"on_(train_batch_|before_|after_|train_epoch_)")  # hooks inside the training loop


def profile(protocol: str, batches: int, run_dir: Path, threads: int) -> list[tuple[str, float]]:
    """(callback, its per-batch and per-epoch hooks' share of run_training_epoch in %) from a run with Lightning's
    simple profiler, largest first."""
    output = finish(launch(train_command(protocol, batches, run_dir, None, *NO_PERIODIC, "+trainer.profiler=simple"),
                           threads))
    totals, epoch = {}, None
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("|") if c.strip()]
        if len(cells) < 4:
            continue
        try:
            total = float(cells[3])
        except ValueError:
            continue
        if cells[0] == "run_training_epoch":
            epoch = (epoch or 0.0) + total
        elif (hook := re.match(r"\[Callback\](\w+).*\.(\w+)$", cells[0])) and PER_BATCH.match(hook.group(2)):
            totals[hook.group(1)] = totals.get(hook.group(1), 0.0) + total
    if not epoch:
        return []
    return sorted(((name, 100 * total / epoch) for name, total in totals.items()), key=lambda x: -x[1])


def measure(protocol: str, batches: int, pairs: int, threads: int, scratch: Path) -> dict:
    """The protocol's pairs without and with the periodic work, the time to the first step and the profile."""
    runs = {"ratios": [], "periodic": [], "train": [], "plain": []}
    for pair in range(pairs):
        ratio, ours, plain = side_by_side(protocol, batches, threads, scratch, f"{protocol}-{pair}", pair % 2,
                                          *NO_PERIODIC)
        runs["ratios"].append(ratio)
        runs["train"].append(ours)
        runs["plain"].append(plain)
    for pair in range(max(2, pairs // 2)):
        runs["periodic"].append(side_by_side(protocol, batches, threads, scratch, f"{protocol}-default-{pair}",
                                             pair % 2)[0])
    first = []
    for repeat in range(3):  # alone: start-up is what a user waits for
        stamps = scratch / f"{protocol}-first-{repeat}.json"
        start = time.time()
        finish(launch(train_command(protocol, 3, scratch / f"{protocol}-first-{repeat}", stamps, *NO_PERIODIC),
                      threads))
        first.append(first_step_wall(stamps) - start)
    return {"batches": batches, "plain": statistics.median(runs["plain"]), "train": statistics.median(runs["train"]),
            "ratio": ratio_interval(runs["ratios"]), "ratios": runs["ratios"],
            "periodic": ratio_interval(runs["periodic"]), "first": statistics.median(first),
            "shares": profile(protocol, batches, scratch / f"{protocol}-profile", threads)}


def one_after_the_other(protocol: str, batches: int, repeats: int, variant: str, threads: int, scratch: Path,
                        device: str, *extra: str) -> dict:
    """On a GPU machine (many cores; the GPU does the arithmetic, so two runs at once would share it): the plain loop
    and train.py each alone, one after the other, the order alternating; each one's seconds a batch over its own
    batches after the first fifth (compiling falls inside that fifth); the time to train.py's first step."""
    ratios, plain, ours, first = [], [], [], []
    for repeat in range(repeats):
        name = f"{protocol}-{variant}-{repeat}"
        plain_stamps, train_stamps = scratch / f"{name}-plain.json", scratch / f"{name}-train.json"
        runs = [(plain_stamps, plain_command(protocol, batches, plain_stamps, device=device, variant=variant)),
                (train_stamps, train_command(protocol, batches, scratch / name, train_stamps, *NO_PERIODIC,
                                             *VARIANTS[variant], *extra, device=device))]
        for stamps, command in runs if repeat % 2 == 0 else runs[::-1]:
            start = time.time()
            finish(launch(command, threads))
            if stamps == train_stamps:
                first.append(first_step_wall(stamps) - start)
        times = [seconds_per_batch(s, steady_window(s, WARM_UP)) for s in (plain_stamps, train_stamps)]
        plain.append(times[0])
        ours.append(times[1])
        ratios.append(times[1] / times[0])
    return {"batches": batches, "plain": statistics.median(plain), "train": statistics.median(ours),
            "ratio": ratio_interval(ratios), "ratios": ratios, "first": statistics.median(first)}


def main_on_device(args, protocols: list[str]) -> None:
    import importlib.util

    variants = args.variants.split(",")
    logger = [] if importlib.util.find_spec("wandb") else ["logger=csv"]  # a GPU machine without W&B
    if logger:
        print("W&B is not installed here: train.py runs with logger=csv")
    if unknown := [v for v in variants if v not in VARIANTS]:
        sys.exit(f"unknown variant {unknown[0]}; choose from {', '.join(VARIANTS)}")
    print(f"{args.device}: the plain loop and train.py alone one after the other, {args.pairs} repeats, order "
          f"alternating; iteration = one batch (one D and one G update), after the first {WARM_UP:.0%}")
    print(f"{'protocol':<12} {'variant':<8} {'batches':>7} {'plain ms/it':>12} {'train.py ms/it':>15} "
          f"{'ratio [95% CI]':>22} {'first step s':>13}  repeats' ratios")
    with tempfile.TemporaryDirectory(prefix="gankit-e2e-") as scratch:
        for protocol in protocols:
            for variant in variants:
                batches = max(10, round(PROTOCOLS[protocol][1] * args.scale))
                m = one_after_the_other(protocol, batches, args.pairs, variant, args.threads, Path(scratch),
                                        args.device, *logger)
                ratio = "{:.3f} [{:.3f}, {:.3f}]".format(*m["ratio"])
                print(f"{protocol:<12} {variant:<8} {batches:>7} {m['plain'] * 1e3:>12.2f} {m['train'] * 1e3:>15.2f} "
                      f"{ratio:>22} {m['first']:>13.1f}  " + " ".join(f"{r:.3f}" for r in m["ratios"]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", default=",".join(PROTOCOLS), help="comma-separated: " + ", ".join(PROTOCOLS))
    parser.add_argument("--pairs", type=int, default=4, help="(plain, train.py) pairs a protocol, alternating order")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every protocol's batches")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every process")
    parser.add_argument("--device", default="cpu", help="cpu (pairs sharing a core) or cuda (runs one after the "
                                                           "other on the GPU)")
    parser.add_argument("--variants", default="fp32", help="with --device cuda, comma-separated: "
                                                           + ", ".join(VARIANTS))
    parser.add_argument("--variant", default="fp32", help="with --plain: " + ", ".join(VARIANTS))
    parser.add_argument("--plain", help="run the plain loop of this protocol and exit (the benchmark's own child)")
    parser.add_argument("--batches", type=int, default=100, help="with --plain: how many batches")
    parser.add_argument("--stamps", help="with --plain: where the batch clock writes")
    parser.add_argument("--until", help="with --plain: run until this file exists (at most --batches batches)")
    args = parser.parse_args()
    if args.plain:
        sys.path.insert(0, str(ROOT / "src"))
        plain_loop(args.plain, args.batches, args.stamps or os.devnull, args.until, args.device, args.variant)
        return
    protocols = args.protocols.split(",")
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        sys.exit(f"unknown protocol {unknown[0]}; choose from {', '.join(PROTOCOLS)}")
    if args.device != "cpu":
        return main_on_device(args, protocols)
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("the benchmark alternates its pairs between two cores: it needs two")
    print(f"{args.threads} torch thread(s) a process, {args.pairs} pairs (plain loop and train.py sharing one core) a "
          f"protocol; iteration = one batch (one D and one G update), after the first {WARM_UP:.0%}; a shared core "
          "halves both speeds")
    print(f"{'protocol':<12} {'batches':>7} {'plain ms/it':>12} {'train.py ms/it':>15} {'ratio [95% CI]':>22} "
          f"{'with eval/figures':>22} {'first step s':>13}  pairs' ratios")
    shares = {}
    with tempfile.TemporaryDirectory(prefix="gankit-e2e-") as scratch:
        for protocol in protocols:
            batches = max(10, round(PROTOCOLS[protocol][1] * args.scale))
            m = measure(protocol, batches, args.pairs, args.threads, Path(scratch))
            ratio, periodic = ("{:.3f} [{:.3f}, {:.3f}]".format(*m[key]) for key in ("ratio", "periodic"))
            print(f"{protocol:<12} {batches:>7} {m['plain'] * 1e3:>12.2f} {m['train'] * 1e3:>15.2f} {ratio:>22} "
                  f"{periodic:>22} {m['first']:>13.1f}  "
                  + " ".join(f"{r:.3f}" for r in m["ratios"]), flush=True)
            shares[protocol] = m["shares"]
    print("\neach callback's share of the training loop (run_training_epoch), profiled run, no periodic work:")
    for protocol, listed in shares.items():
        text = ", ".join(f"{name} {share:.1f}%" for name, share in listed if share >= 0.05) or "none measurable"
        print(f"{protocol:<12} {text}")


if __name__ == "__main__":
    main()
