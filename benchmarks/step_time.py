"""Time per training iteration: gankit's GAN module against a plain PyTorch loop.

Both use the same networks (same initial weights), data, batch size and Adam optimisers;
one iteration = one D update + one G update, one G forward (the DCGAN reference loop).
Timing excludes set-up: it starts after `--warmup` iterations. Repeats alternate the two
so that machine noise hits both. Prints a table and the ratio gankit / plain.

    python benchmarks/step_time.py                       # DCGAN on digits and MLP on ring
    python benchmarks/step_time.py --case dcgan-digits --iters 100 --repeats 5
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import lightning.pytorch as pl
import torch

from gankit import losses
from gankit.data.digits import DigitsDataModule
from gankit.data.toy import Ring, ToyDataModule
from gankit.gan import GAN
from gankit.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gankit.models.mlp import MLPDiscriminator, MLPGenerator


def adam(params):
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


def make_case(name: str):
    """(generator, discriminator, datamodule) with fixed initial weights."""
    torch.manual_seed(0)
    if name == "dcgan-digits":  # the default job: 32x32 digits, width 32, batch 64
        shape = [1, 32, 32]
        return (DCGANGenerator(100, shape, width=32), DCGANDiscriminator(shape, width=32),
                DigitsDataModule(image_size=32, batch_size=64))
    if name == "mlp-ring":
        return (MLPGenerator(32, [2]), MLPDiscriminator([2]),
                ToyDataModule(Ring(), batch_size=256, batches_per_epoch=100))
    raise SystemExit(f"unknown case {name!r}; choose dcgan-digits or mlp-ring")


def plain_loop(g, d, datamodule, iters: int, warmup: int) -> float:
    """Seconds per iteration of a hand-written loop (the PyTorch DCGAN example's structure)."""
    opt_g, opt_d = adam(g.parameters()), adam(d.parameters())
    done, start = 0, None
    while done < iters + warmup:
        for real in datamodule.train_dataloader():
            if done == warmup:
                start = time.perf_counter()
            fake = g(torch.randn(real.shape[0], 100 if isinstance(g, DCGANGenerator) else 32))
            real_logits, _ = d(real)
            fake_logits, _ = d(fake.detach())
            d_loss = losses.bce_discriminator(real_logits, fake_logits)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            g_loss = losses.nonsaturating_generator(d(fake)[0])
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            done += 1
            if done == iters + warmup:
                break
    return (time.perf_counter() - start) / iters


class IterationTimer(pl.Callback):
    def __init__(self, warmup: int):
        self.warmup, self.start, self.end, self.seen = warmup, None, None, 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if self.seen == self.warmup:
            self.start = time.perf_counter()
        self.seen += 1

    def on_train_end(self, trainer, module):
        self.end = time.perf_counter()


def gankit_loop(g, d, datamodule, iters: int, warmup: int) -> float:
    """Seconds per iteration of gankit's GAN under a Lightning Trainer (logging on, no files)."""
    gan = GAN(g, d, losses.GANLoss(losses.bce_discriminator, losses.nonsaturating_generator),
              optimizer_g=adam, optimizer_d=adam)
    timer = IterationTimer(warmup)
    trainer = pl.Trainer(max_steps=2 * (iters + warmup), logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
                         accelerator="cpu", log_every_n_steps=10)
    trainer.fit(gan, datamodule=datamodule)
    return (timer.end - timer.start) / iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["dcgan-digits", "mlp-ring", "all"], default="all")
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cases = ["dcgan-digits", "mlp-ring"] if args.case == "all" else [args.case]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.iters} timed iterations after {args.warmup} warm-up, {args.repeats} repeats")
    print(f"{'case':<14} {'plain ms/it':>12} {'gankit ms/it':>13} {'plain it/s':>11} "
          f"{'gankit it/s':>12} {'ratio':>7}")
    for case in cases:
        g, d, datamodule = make_case(case)
        datamodule.setup("fit")
        plain, ours = [], []
        for _ in range(args.repeats):
            plain.append(plain_loop(copy.deepcopy(g), copy.deepcopy(d), datamodule, args.iters, args.warmup))
            ours.append(gankit_loop(copy.deepcopy(g), copy.deepcopy(d), datamodule, args.iters, args.warmup))
        p, o = statistics.median(plain), statistics.median(ours)
        print(f"{case:<14} {p * 1e3:>12.2f} {o * 1e3:>13.2f} {1 / p:>11.1f} {1 / o:>12.1f} {o / p:>7.3f}")


if __name__ == "__main__":
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    main()
