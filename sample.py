"""Sample a trained checkpoint: `python sample.py ckpt_path=PATH [num_samples=64] [seed=0] [out=DIR] [export=true]`.

Rebuilds the generator the run samples with (the EMA copy when it had one) from the checkpoint alone and writes
into `out` (default `<run>/sampled/seed<seed>_n<num_samples>`, a numbered name when it exists): `samples.pt` (the
samples, {"noise", "samples", "seed", "step"}), `samples.png` (an image grid, or the 2-D/1-D figure for toy data),
`interpolation.png` (image data: rows of G(z) along spherical paths between noise vectors) and, with export=true,
`generator.pt2`: the generator as a torch.export program that plain PyTorch runs without gankit
(`torch.export.load(path).module()(z)`). The noise is fixed by `seed`. See README, "Using a trained GAN".
"""

from __future__ import annotations

import sys
from pathlib import Path

from gankit.cli import run_command
from gankit.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parent / "conf"


def main(args: list[str]) -> int:
    import torch

    from gankit import arguments
    from gankit.callbacks.pictures import Interpolation
    from gankit.checkpoint_io import writing
    from gankit.cli import options
    from gankit.known_warnings import silence_known_warnings
    from gankit.run import build
    from gankit.trained import export, fixed_noise, free_path, load_run, rebuild

    given, overrides = options(args, required=("ckpt_path",),
                               own=("ckpt_path", "num_samples", "seed", "out", "export"))
    num = arguments.integer("num_samples", _int(given.get("num_samples", "64"), "num_samples"), at_least=1)
    seed = arguments.integer("seed", _int(given.get("seed", "0"), "seed"), at_least=0)
    path = Path(given["ckpt_path"])
    silence_known_warnings()
    cfg, checkpoint = load_run(path, CONF_DIR, overrides)
    gan, datamodule = rebuild(cfg, checkpoint, path)
    step = int(checkpoint.get("global_step", 0))
    out = free_path(Path(given.get("out") or path.parent.parent / "sampled" / f"seed{seed}_n{num}"))
    with writing(out, "folder"):
        out.mkdir(parents=True)
    noise = fixed_noise(num, gan.latent_dim, seed)  # [N, latent]
    samples = gan.sample(num, noise=noise).cpu()  # [N, *data_shape]
    with writing(out / "samples.pt"):
        torch.save({"noise": noise, "samples": samples, "seed": seed, "step": step}, out / "samples.pt")
    figure = build(cfg.dataset.samples.figure)
    with writing(out / "samples.png", "picture"):
        figure(out / "samples.png", samples, datamodule.sample_real(num), gan)
    written = ["samples.pt", "samples.png"]
    if samples.dim() == 4 and Interpolation(seed=seed)(out / "interpolation.png", gan, []):
        written.append("interpolation.png")
    if given.get("export", "false").lower() in ("true", "1", "yes"):
        written.append(export(gan, out / "generator.pt2", noise[: max(2, min(num, 8))]).name)
    print(f"step {step}: {num} samples from seed {seed} -> {out} ({', '.join(written)})")
    return 0


def _int(text: str, key: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {text!r}") from None


if __name__ == "__main__":
    run_command(main, sys.argv[1:])
