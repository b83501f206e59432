"""Time per training iteration: gankit's GAN module against a plain PyTorch loop.

Both use the same networks (same initial weights), data, batch size, Adam optimisers, precision and
compile setting; one iteration = one D update + one G update, one G forward (the DCGAN reference
loop). Timing excludes set-up (and compiling): it starts after `--warmup` iterations. Repeats alternate
the two so that machine noise hits both. Prints a table: ms and iterations (images) per second, and
the ratio gankit / plain time per iteration.

    python benchmarks/step_time.py                       # DCGAN on digits and MLP on ring, on the CPU
    python benchmarks/step_time.py --case dcgan-digits --iters 100 --repeats 5
    python benchmarks/step_time.py --case dcgan64 --device cuda     # DCGAN 64x64, batch 128: fp32/bf16 x compile
    python benchmarks/step_time.py --case mlp-ring --ddp 2   # gankit under DDP (2 CPU processes, gloo), no plain loop
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import statistics
import time
from dataclasses import dataclass

import lightning.pytorch as pl
import torch

from gankit import losses
from gankit.data.digits import DigitsDataModule
from gankit.data.toy import Ring, ToyDataModule
from gankit.gan import GAN
from gankit.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator


@dataclass
class Variant:
    precision: str = "32-true"  # or bf16-mixed
    compile: bool = False

    @property
    def name(self) -> str:
        return ("bf16" if self.precision == "bf16-mixed" else "fp32") + (" compiled" if self.compile else "")


def adam(params):
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


def make_case(name: str):
    """(generator, discriminator, datamodule, latent_dim) with fixed initial weights."""
    torch.manual_seed(0)
    if name == "dcgan-digits":  # the default job: 32x32 digits, width 32, batch 64
        shape = [1, 32, 32]
        return (DCGANGenerator(100, shape, width=32), DCGANDiscriminator(shape, width=32),
                DigitsDataModule(image_size=32, batch_size=64), 100)
    if name == "dcgan64":  # Radford et al.'s network: 64x64, width 64, batch 128 (digits resized, on the device)
        shape = [1, 64, 64]
        return (DCGANGenerator(100, shape, width=64), DCGANDiscriminator(shape, width=64),
                DigitsDataModule(image_size=64, batch_size=128), 100)
    if name == "mlp-ring":
        return (MLPGenerator(32, [2]), MLPDiscriminator([2]),
                ToyDataModule(Ring(), batch_size=256, batches_per_epoch=100), 32)
    raise SystemExit(f"unknown case {name!r}; choose dcgan-digits, dcgan64 or mlp-ring")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_batches(datamodule, device: torch.device):
    """The datamodule's batches as a hand-written loop would hold them: the whole set (or sampler) on the device."""
    if isinstance(datamodule, DigitsDataModule):
        images = datamodule.train_images.to(device)
        while True:
            order = torch.randperm(len(images), device=device)
            for i in range(len(images) // datamodule.batch_size):
                yield images[order[i * datamodule.batch_size:(i + 1) * datamodule.batch_size]]
    while True:
        yield datamodule.distribution.sample(datamodule.batch_size, device)


def plain_loop(g, d, datamodule, latent_dim: int, iters: int, warmup: int, device: torch.device,
               variant: Variant) -> float:
    """Seconds per iteration of a hand-written loop (the PyTorch DCGAN example's structure)."""
    g, d = g.to(device), d.to(device)
    if variant.compile:
        g.compile()
        d.compile()
    opt_g, opt_d = adam(g.parameters()), adam(d.parameters())
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if variant.precision == "bf16-mixed"
                else contextlib.nullcontext())
    batches = plain_batches(datamodule, device)
    for done in range(iters + warmup):
        if done == warmup:
            synchronize(device)
            start = time.perf_counter()
        real = next(batches)
        with autocast:
            fake = g(torch.randn(real.shape[0], latent_dim, device=device))
            real_logits, _ = d(real)
            fake_logits, _ = d(fake.detach())
            d_loss = losses.bce_discriminator(real_logits, fake_logits)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        with autocast:
            g_loss = losses.nonsaturating_generator(d(fake)[0])
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    synchronize(device)
    return (time.perf_counter() - start) / iters


class IterationTimer(pl.Callback):
    def __init__(self, warmup: int):
        self.warmup, self.start, self.end, self.seen = warmup, None, None, 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if self.seen == self.warmup:
            synchronize(module.device)
            self.start = time.perf_counter()
        self.seen += 1

    def on_train_end(self, trainer, module):
        synchronize(module.device)
        self.end = time.perf_counter()


def gankit_loop(g, d, datamodule, iters: int, warmup: int, device: torch.device, variant: Variant,
                ddp: int = 0) -> float:
    """Seconds per iteration of gankit's GAN under a Lightning Trainer (logging on, no files)."""
    gan = GAN(g, d, losses.GANLoss(losses.bce_discriminator, losses.nonsaturating_generator),
              optimizer_g=adam, optimizer_d=adam, compile=variant.compile)
    timer = IterationTimer(warmup)
    parallel = {"strategy": "ddp_find_unused_parameters_true", "devices": ddp} if ddp else {"devices": 1}
    trainer = pl.Trainer(max_steps=2 * (iters + warmup), logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
                         accelerator=device.type, precision=variant.precision, log_every_n_steps=10,
                         **parallel)
    trainer.fit(gan, datamodule=datamodule)
    return (timer.end - timer.start) / iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["dcgan-digits", "mlp-ring", "dcgan64", "all"], default="all")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ddp", type=int, default=0,
                        help="N > 0: gankit under DDP with N processes against gankit on one (no plain loop)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default); 1 is steadier on a shared machine")
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # also keeps Lightning's DDP from changing it
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cases = ["dcgan-digits", "mlp-ring"] if args.case == "all" else [args.case]
    variants = ([Variant(p, c) for p in ("32-true", "bf16-mixed") for c in (False, True)]
                if args.case == "dcgan64" else [Variant()])
    rank0 = int(os.environ.get("LOCAL_RANK", 0)) == 0  # under --ddp the script also runs in each worker
    base_name, ours_name = ("1 process", f"ddp x{args.ddp}") if args.ddp else ("plain", "gankit")
    if rank0:
        print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads, {args.iters} timed "
              f"iterations after {args.warmup} warm-up, {args.repeats} repeats (median)")
        if args.ddp:
            print(f"gankit on one process against gankit under DDP (find_unused_parameters) with {args.ddp} "
                  "processes, each on its own batch; img/s over all processes")
        print(f"{'case':<14} {'variant':<14} {base_name + ' ms/it':>16} {ours_name + ' ms/it':>16} "
              f"{base_name + ' img/s':>16} {ours_name + ' img/s':>16} {'ratio':>7}")
    for case in cases:
        for variant in variants:
            g, d, datamodule, latent_dim = make_case(case)
            datamodule.setup("fit")
            base, ours = [], []
            for _ in range(args.repeats):
                copies = (copy.deepcopy(g), copy.deepcopy(d), datamodule)
                if not args.ddp:
                    base.append(plain_loop(*copies, latent_dim, args.iters, args.warmup, device, variant))
                elif rank0:  # the workers wait for rank 0 at the next DDP run
                    base.append(gankit_loop(*copies, args.iters, args.warmup, device, variant))
                copies = (copy.deepcopy(g), copy.deepcopy(d), datamodule)
                ours.append(gankit_loop(*copies, args.iters, args.warmup, device, variant, args.ddp))
            if rank0:
                b, o = statistics.median(base), statistics.median(ours)
                images = datamodule.batch_size * max(1, args.ddp)  # per iteration, over all processes
                print(f"{case:<14} {variant.name:<14} {b * 1e3:>16.2f} {o * 1e3:>16.2f} "
                      f"{datamodule.batch_size / b:>16.0f} {images / o:>16.0f} {o / b:>7.3f}")


if __name__ == "__main__":
    import logging
    import sys
    import warnings

    sys.stdout.reconfigure(line_buffering=True)  # rows appear as they are measured, also into a file
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
    main()
