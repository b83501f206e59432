"""Evaluate a trained checkpoint: `python evaluate.py ckpt_path=PATH [out=FILE] [metrics=OPTION] [key=value ...]`.

Rebuilds the run from the checkpoint alone (its saved config), applies the overrides (a metrics option, a protocol:
`metrics.num_samples=50000`), evaluates the generator the run samples with (the EMA copy when it had one) as the
run's own end does, writes the values with their protocol to `<checkpoint folder>/evaluation.json` (or `out=FILE`;
an existing file is never overwritten: a numbered name is chosen) and prints one line. See README, "Using a
trained GAN".
"""

from __future__ import annotations

import sys
from pathlib import Path

from gankit.cli import run_command

CONF_DIR = Path(__file__).resolve().parent / "conf"


def main(args: list[str]) -> int:
    from gankit.cli import options
    from gankit.known_warnings import silence_known_warnings
    from gankit.trained import evaluate, load_run, write_json

    given, overrides = options(args, required=("ckpt_path",), own=("ckpt_path", "out"))
    path = Path(given["ckpt_path"])
    silence_known_warnings()
    cfg, checkpoint = load_run(path, CONF_DIR, overrides)
    record = evaluate(cfg, checkpoint, path)
    if record is None:  # another process of a multi-device evaluation: the first one writes
        return 0
    written = write_json(record, Path(given.get("out") or path.parent / "evaluation.json"))
    shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(record.items()) if k.startswith("eval/")
                      and isinstance(v, float) and not k.endswith("/seconds"))
    samples = record["protocol"].get("num_samples", "no")
    print(f"step {record['step']}, {samples} samples: {shown} -> {written}")
    return 0


if __name__ == "__main__":
    run_command(main, sys.argv[1:])
