"""Run a named comparison and turn it into tables and plots (see README.md, "Comparing techniques").

    python sweep.py study=NAME [key=value ...]   launch conf/sweep/NAME.yaml as a Hydra multirun, then aggregate
    python sweep.py aggregate DIR                 re-aggregate a sweep directory (also a plain `train.py -m` one)
    python sweep.py evaluate DIR [key=value ...]  evaluate every finished run again under one protocol, aggregate
    python sweep.py dashboard DIR                 a W&B workspace for the sweep (offline: its specification)
    python sweep.py publish DIR                   its report into docs/results/<study>/, for the docs to link to
    python sweep.py list                          the studies

Extra key=value pairs go to every run; one whose key is an axis replaces that axis' values
(`seed=0,1`), and `hydra.sweep.dir=DIR` chooses the sweep directory.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from omegaconf import OmegaConf

from gankit.errors import ConfigError

ROOT = Path(__file__).resolve().parent
STUDIES = ROOT / "conf" / "sweep"
FIRST_SENTENCE = re.compile(r"(?<!\bal)(?<!e\.g)(?<!i\.e)(?<!Sec)\.\s+(?=[A-Z0-9(])")  # not after "et al." or "e.g."
USAGE = ("usage: python sweep.py study=NAME [key=value ...] | python sweep.py aggregate DIR | "
         "python sweep.py evaluate DIR [key=value ...] | python sweep.py dashboard DIR | python sweep.py publish DIR | "
         "python sweep.py list")


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"]:
        for path in sorted(STUDIES.glob("*.yaml")):
            description = " ".join(str(OmegaConf.load(path).get("description", "")).split())
            print(f"{path.stem:22} {FIRST_SENTENCE.split(description)[0]}")
        return 0
    if argv[:1] == ["aggregate"] and len(argv) == 2:
        from gankit.sweeps.aggregate import aggregate  # the heavy imports only for the command that needs them

        return aggregate(Path(argv[1]))
    if argv[:1] == ["evaluate"] and len(argv) >= 2:
        from gankit.sweeps.reevaluate import evaluate_sweep

        return evaluate_sweep(Path(argv[1]), ROOT / "conf", argv[2:])
    if argv[:1] == ["dashboard"] and len(argv) == 2:
        from gankit.sweeps.dashboard import make_dashboard  # wandb_workspaces: only here

        return make_dashboard(Path(argv[1]))
    if argv[:1] == ["publish"] and len(argv) == 2:
        from gankit.sweeps.publish import publish

        print(f"published: {publish(Path(argv[1]), ROOT / 'docs')}")
        return 0
    if argv and argv[0].startswith("study="):
        from gankit.sweeps.launch import run_study

        return run_study(ROOT, argv[0].partition("=")[2], argv[1:])
    raise ConfigError(USAGE)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
