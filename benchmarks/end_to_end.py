"""`python train.py` end to end against a plain PyTorch loop of the same networks, data, batch and optimisers.

For each protocol both are run as a user runs them, in their own processes (one at a time, the same torch thread
count), at two lengths; the time of an iteration (one batch: one D and one G update) is the difference of the two
wall times over the difference of the iterations, so start-up, the final evaluation and the end-of-run pictures
cancel out and every per-batch cost stays in (Lightning, the logger, checkpointing, the guards, the curves, the
resume state). train.py runs with its default callbacks, the periodic evaluation and step figures off; a third
train.py run at the long length with them at their default rhythm gives their cost, reported beside the ratio.
Repeats interleave the runs. Then one profiled train.py run (Lightning's simple profiler) lists each callback's
share of the training loop, and one run records the time from the command to the first training step.

    python benchmarks/end_to_end.py                                   # the four protocols, 3 repeats
    python benchmarks/end_to_end.py --protocols ring --repeats 2 --scale 0.5
    python benchmarks/end_to_end.py --plain ring --iterations 200     # the plain loop alone (what the table times)

Protocols: pacgan_grid (PacGAN's Table 1 set-up: 25-Gaussian grid, 4 x 400 MLPs, batch 100), ring (the toy MLP
on the ring, batch 256 by default), digits (the default job: DCGAN on digits 32x32, batch 64) and fashion (DCGAN on
Fashion-MNIST, Debian's files).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# overrides of each protocol, and its (short, long) iteration counts at --scale 1
PROTOCOLS = {
    "pacgan_grid": (["experiment=pacgan_grid"], (200, 1200)),
    "ring": (["dataset=ring", "model=mlp"], (200, 1700)),
    "digits": ([], (30, 230)),
    "fashion": (["dataset=fashion_mnist"], (30, 230)),
}
# the periodic work excluded from the ratio (reported apart): evaluations and step figures at the end only
NO_PERIODIC = ["metrics.eval_every=0", "callbacks.samples.every_n_steps=0"]
QUIET = ["~callbacks.progress_bar", "+trainer.enable_progress_bar=false"]


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        return hydra_compose("train", overrides=overrides)


def plain_loop(protocol: str, iterations: int) -> None:
    """A hand-written loop (the PyTorch DCGAN example's structure) over the protocol's networks, optimisers and
    batches, built from its config: one G forward a batch, one D update on real and detached fake, one G update."""
    import torch

    from gankit.run import build, build_data

    cfg = compose(PROTOCOLS[protocol][0] + ["logger=none"])
    torch.manual_seed(cfg.seed)
    datamodule = build_data(cfg)
    g, d, loss = build(cfg.model.generator), build(cfg.model.discriminator), build(cfg.loss)
    opt_g = build(cfg.gan.optimizer_g)(g.parameters())
    opt_d = build(cfg.gan.optimizer_d)(d.parameters())
    latent_dim = cfg.model.latent_dim

    def batches():
        while True:
            yield from datamodule.train_dataloader()

    stream = batches()
    for _ in range(iterations):
        real = next(stream)
        fake = g(torch.randn(real.shape[0], latent_dim))
        d_loss = loss.discriminator_loss(d(real)[0], d(fake.detach())[0])
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = loss.generator_loss(d(fake)[0])
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()


def environment(threads: int) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "WANDB_MODE": os.environ.get("WANDB_MODE", "offline"),
            "WANDB_SILENT": "true", "MPLBACKEND": "Agg"}


def timed(command: list[str], threads: int) -> float:
    """Wall seconds of a command run from the repository root; stops the benchmark when it fails."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=environment(threads), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    return seconds


def train_command(protocol: str, iterations: int, run_dir: Path, *extra: str) -> list[str]:
    overrides, _ = PROTOCOLS[protocol]
    return [sys.executable, "train.py", *overrides, f"trainer.max_steps={2 * iterations}", f"hydra.run.dir={run_dir}",
            "trainer.accelerator=cpu", *QUIET, *extra]  # the plain loop runs on the CPU too


def plain_command(protocol: str, iterations: int) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--plain", protocol, "--iterations", str(iterations)]


PER_BATCH = re.compile(r"on_(train_batch_|before_|after_|train_epoch_)")  # hooks inside the training loop


def profile(protocol: str, iterations: int, run_dir: Path, threads: int) -> list[tuple[str, float]]:
    """(callback, its per-batch and per-epoch hooks' share of run_training_epoch in %) from a run with Lightning's
    simple profiler, largest first."""
    command = train_command(protocol, iterations, run_dir, *NO_PERIODIC, "+trainer.profiler=simple")
    result = subprocess.run(command, cwd=ROOT, env=environment(threads), capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    totals, epoch = {}, None
    for line in (result.stdout + result.stderr).splitlines():
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


def first_step_seconds(protocol: str, run_dir: Path, threads: int) -> float:
    """From the command's start to the first training step (a callback stamps the step's start)."""
    stamp = run_dir.parent / f"{run_dir.name}.first_step"
    command = train_command(protocol, 2, run_dir, *NO_PERIODIC, "+callbacks.clock._target_=benchmarks.clock.FirstStep",
                            f"+callbacks.clock.path={stamp}")
    start = time.time()
    timed(command, threads)
    return float(stamp.read_text()) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", default=",".join(PROTOCOLS), help="comma-separated: " + ", ".join(PROTOCOLS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every protocol's iteration counts")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every process")
    parser.add_argument("--plain", help="run the plain loop of this protocol and exit (the benchmark's own child)")
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    if args.plain:
        sys.path.insert(0, str(ROOT / "src"))
        plain_loop(args.plain, args.iterations)
        return
    protocols = args.protocols.split(",")
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        sys.exit(f"unknown protocol {unknown[0]}; choose from {', '.join(PROTOCOLS)}")
    print(f"{args.threads} torch thread(s) a process, {args.repeats} interleaved repeats (median), iteration = one "
          "batch (one D and one G update); ms/it from the difference of two lengths")
    print(f"{'protocol':<12} {'its':>10} {'plain ms/it':>12} {'train.py ms/it':>15} {'ratio':>6} "
          f"{'+eval/figures ms/it':>20} {'first step s':>13}")
    with tempfile.TemporaryDirectory(prefix="gankit-e2e-") as scratch:
        scratch = Path(scratch)
        shares = {}
        for protocol in protocols:
            short, long = (max(2, round(n * args.scale)) for n in PROTOCOLS[protocol][1])
            ours, plain, periodic = [], [], []
            for repeat in range(args.repeats):
                run = scratch / f"{protocol}-{repeat}"
                t_short = timed(train_command(protocol, short, run / "short", *NO_PERIODIC), args.threads)
                t_long = timed(train_command(protocol, long, run / "long", *NO_PERIODIC), args.threads)
                p_short = timed(plain_command(protocol, short), args.threads)
                p_long = timed(plain_command(protocol, long), args.threads)
                t_default = timed(train_command(protocol, long, run / "default"), args.threads)
                ours.append((t_long - t_short) / (long - short))
                plain.append((p_long - p_short) / (long - short))
                periodic.append((t_default - t_long) / long)
            first = first_step_seconds(protocol, scratch / f"{protocol}-first", args.threads)
            shares[protocol] = profile(protocol, long, scratch / f"{protocol}-profile", args.threads)
            o, p, e = (statistics.median(x) for x in (ours, plain, periodic))
            print(f"{protocol:<12} {f'{short}->{long}':>10} {p * 1e3:>12.2f} {o * 1e3:>15.2f} {o / p:>6.3f} "
                  f"{e * 1e3:>20.2f} {first:>13.1f}", flush=True)
        print("\neach callback's share of the training loop (run_training_epoch), profiled run, no periodic work:")
        for protocol, listed in shares.items():
            text = ", ".join(f"{name} {share:.1f}%" for name, share in listed if share >= 0.05) or "none measurable"
            print(f"{protocol:<12} {text}")


if __name__ == "__main__":
    main()
