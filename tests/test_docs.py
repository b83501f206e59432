"""The documentation is walkable and runs: the README stays short, every relative link resolves, and every command
the README and docs/ show runs (train.py two steps, evaluate.py and sample.py on a trained checkpoint)."""

import re
import shlex

from tests.conftest import ROOT

LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def pages():
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_at_most_200_lines_and_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    assert blocks[:2] == ["pip install -e . && python train.py\n", 'pip install -e ".[dev]" && pytest\n']


def test_every_relative_link_resolves():
    broken = []
    for page in pages():
        for target, _ in LINK.findall(page.read_text()):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert [p.name for p in pages()[1:] if f"docs/{p.name}" not in readme] == []


def documented_commands(script: str) -> list[tuple[str, list[str]]]:
    """(page, arguments) of every `python <script> ...` line in the README's and docs' bash blocks."""
    found = []
    for page in pages():
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip()
                if line.startswith(f"python {script} "):
                    found.append((page.name, shlex.split(line)[2:]))
    return found


def train_commands_and_studies() -> list[tuple[str, list[str]]]:
    """(page, train.py arguments) of every `python train.py ...` the docs show and of every `python sweep.py
    study=...` they show, the study as the train.py multirun it launches."""
    from omegaconf import OmegaConf

    from gankit.sweeps.launch import launch_command, load_study

    commands = documented_commands("train.py")
    for page, args in documented_commands("sweep.py"):
        if args[0].startswith("study="):
            study = load_study(ROOT / "conf" / "sweep", args[0].partition("=")[2])
            commands.append((page, launch_command(ROOT / "train.py", "doc", OmegaConf.create(study), args[1:],
                                                  ROOT / "sweeps" / "doc")[2:]))
    return commands


def first_of_each_sweep(args: list[str]) -> list[str]:
    """A multirun's first job: `seed=0,1,2` -> `seed=0` (commas inside [] or {} are a list, not a sweep)."""
    first = []
    for arg in args:
        key, equals, value = arg.partition("=")
        depth, cut = 0, len(value)
        for i, char in enumerate(value):
            depth += char in "[{" and 1 or char in "]}" and -1 or 0
            if char == "," and depth == 0:
                cut = i
                break
        first.append(f"{key}{equals}{value[:cut]}")
    return first


def test_every_documented_train_and_sweep_command_composes():
    """Every `python train.py ...` and `python sweep.py study=...` the docs show passes the command line's checks
    (Hydra composes it; group options, keys and value rules hold), the first job of a multirun included."""
    from gankit.checks import preflight
    from gankit.errors import ConfigError
    from gankit.keys import MAX_STEPS

    commands = train_commands_and_studies()
    assert len(commands) > 40
    failed = []
    for page, args in commands:
        if any("<" in a or a.startswith("ckpt_path=") for a in args):
            continue  # a placeholder, or a run that must exist first
        try:
            preflight(ROOT / "conf", first_of_each_sweep([a for a in args if a != "-m"]), MAX_STEPS)
        except ConfigError as error:
            failed.append(f"{page}: {' '.join(args)}: {error}")
    assert not failed, "\n".join(failed)


# --- every documented command runs ------------------------------------------------------------------------------------

SHORT = ["trainer.max_steps=2", "callbacks.samples.every_n_steps=0"]  # every run: two steps, no figures on the way
SMALL_METRICS = ["metrics.num_samples=200", "metrics.num_samples_periodic=200"]
SMALL_CLASSIFIER = ["dataset.classifier.width=8", "dataset.classifier.epochs=1", "+dataset.classifier.max_train=2000"]
DOWNLOADED = ("mnist", "cifar10", "svhn")  # datasets whose files this machine has no way to get


def why_not_run(args: list[str]) -> str | None:
    """Why a documented train.py command cannot run on this machine, or None when it can (in two steps)."""
    text = " ".join(args)
    reasons = {"<": "a placeholder", "...": "a placeholder", "ckpt_path=": "it continues a run (run below)",
               "hydra/launcher=slurm": "the SLURM tests run it", "hparams_search=": "an Optuna search",
               "logger.mode=online": "no internet here", "inception_weights=": "Inception weights are not here",
               "trainer.devices=4": "four devices", "accelerator=gpu": "a GPU",
               "paths.data_dir=/data": "files that are not here",
               "dataset.path=/home": "files that are not here"}
    reason = next((why for marker, why in reasons.items() if marker in text), None)
    if reason is None and any(f"dataset={d}" in args for d in DOWNLOADED):
        reason = "a dataset that needs a download"
    return reason


def runnable_train_commands() -> list[tuple[str, list[str]]]:
    """(page, arguments) of every train.py command the docs show and every study's first job, deduplicated, each a
    single run (a multirun's first job, Hydra's own settings left out: the launcher is tested on its own)."""
    seen, runnable = set(), []
    for page, args in train_commands_and_studies():
        args = [a for a in first_of_each_sweep(args)
                if a != "-m" and not a.lstrip("+~").startswith(("hydra", "study."))]
        if why_not_run(args) is None and tuple(args) not in seen:
            seen.add(tuple(args))
            runnable.append((page, args))
    return runnable


def test_every_documented_train_command_runs_two_steps(tmp_path):
    """Each runnable train.py command of the docs (and each study's first job) trains two steps and writes its
    metrics.json: an example cannot crash unseen (the WGAN-GP one once did)."""
    from gankit.run import train
    from tests.conftest import compose_config

    commands = runnable_train_commands()
    assert len(commands) >= 30  # the filter above cannot quietly skip the docs
    failed = []
    for number, (page, args) in enumerate(commands):
        out = tmp_path / str(number)
        cfg = compose_config(out, *args, *SHORT)
        smaller = [*SHORT, *SMALL_METRICS] if (cfg.get("metrics") or {}).get("num_samples") else SHORT
        if "classifier" in cfg.dataset and cfg.dataset.name != "digits":  # a real image set's classifier: smaller
            smaller += SMALL_CLASSIFIER
        cfg = compose_config(out, *args, *smaller)
        try:
            train(cfg)
            assert (out / "metrics.json").is_file()
        except Exception as error:  # noqa: BLE001 (every command is tried, all failures reported together)
            failed.append(f"{page}: python train.py {' '.join(args)}: {type(error).__name__}: {error}"[:600])
    assert not failed, "\n".join(failed)


def test_every_documented_evaluate_and_sample_command_runs_on_a_trained_checkpoint(tmp_path):
    """evaluate.py and sample.py as the docs show them, on the checkpoint of a two-step run (the placeholder path
    replaced by it; 200 samples instead of the docs' 50,000), each writing what it says."""
    import subprocess
    import sys

    from gankit.run import train
    from tests.conftest import compose_config

    train(compose_config(tmp_path / "run", *SHORT, *SMALL_METRICS))
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    commands = [(script, page, args) for script in ("evaluate.py", "sample.py")
                for page, args in documented_commands(script)
                if not any(a.endswith("inception_weights=PATH") for a in args)]  # Inception: test_metrics_image
    assert len(commands) >= 4
    failed = []
    for script, page, args in commands:
        args = [f"ckpt_path={ckpt}" if a.startswith("ckpt_path=") else a for a in args]
        args = [a.replace("50000", "200") if a.startswith("metrics.num_samples=") else a for a in args]
        if script == "evaluate.py" and not any(a.startswith("metrics.num_samples=") for a in args):
            args.append("metrics.num_samples=200")
        result = subprocess.run([sys.executable, str(ROOT / script), *args], cwd=tmp_path, capture_output=True,
                                text=True, timeout=300)
        if result.returncode != 0 or " -> " not in result.stdout:
            failed.append(f"{page}: python {script} {' '.join(args)}: {(result.stdout + result.stderr)[-600:]}")
    assert not failed, "\n".join(failed)
    assert (tmp_path / "fid50k.json").is_file()  # out= as the page shows it
    assert sorted(p.name for p in (tmp_path / "run" / "sampled").iterdir()) == ["seed0_n64", "seed1_n64"]
