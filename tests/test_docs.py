"""The documentation is walkable: the README stays short and every relative link in it and in docs/ resolves."""

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
    from omegaconf import OmegaConf

    from gankit.checks import preflight
    from gankit.errors import ConfigError
    from gankit.keys import MAX_STEPS
    from gankit.sweeps.launch import launch_command, load_study

    commands = [(page, args) for page, args in documented_commands("train.py")]
    for page, args in documented_commands("sweep.py"):
        if args[0].startswith("study="):
            study = load_study(ROOT / "conf" / "sweep", args[0].partition("=")[2])
            commands.append((page, launch_command(ROOT / "train.py", "doc", OmegaConf.create(study), args[1:],
                                                  ROOT / "sweeps" / "doc")[2:]))
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
