"""Bad input, generated: every key a user sets, in every option of every group, with values of the wrong type, zero,
negative and empty. Each attempt either builds (the value is legal: LEGAL says why, and a few legal extremes train
two steps) or stops before training with a ConfigError of one line that names the key; never another exception.

The configs are composed once per option with Hydra's compose API; each attempt edits a copy in process (as an
override would) and builds the run without fitting it, so a few thousand attempts take about a minute."""

from __future__ import annotations

import ast
import copy
import fnmatch
import re
from pathlib import Path

import pytest
from omegaconf import DictConfig, ListConfig, OmegaConf

from gankit.checks import raw_node, user_key
from gankit.errors import ConfigError
from gankit.run import build_run, train
from tests.conftest import CONF_DIR, compose_config
from tests.inception_weights import random_inception_weights
from tests.test_data_folder import write_folder

pytestmark = pytest.mark.usefixtures("one_thread")

# The options each group's option is composed with (what makes it buildable), beside the test's quiet defaults.
COMPANIONS = {
    "dataset": lambda option: ([] if option in IMAGE_DATASETS else ["model=mlp"]) + ["metrics=none"],
    "model": lambda option: [] if option == "dcgan" else ["dataset=ring", "metrics=none"],
    "metrics": lambda option: {"toy": ["dataset=ring", "model=mlp"], "image": ["metrics.num_samples=50",
                               "metrics.num_samples_periodic=50", "metrics.inception_weights={weights}"]}.get(
        option, []),
}
IMAGE_DATASETS = {"digits", "mnist", "fashion_mnist", "cifar10", "svhn", "celeba", "folder"}
LOADS = {"digits", "ring", "grid", "circle", "gaussian1d", "folder"}  # datasets whose data the test has: read them
SKIPPED_KEYS = ("hydra.*", "study.*", "paths.output_dir",  # set by Hydra and sweep.py, not by the user
                "dataset.max_steps")  # read only by trainer.max_steps, which the test's quiet settings set

# (key pattern, value): legal values among the attempts, each with its meaning.
LEGAL = [
    ("seed", 0), ("*data_seed", 0), ("*label_seed", 0), ("*split_seed", 0),  # seeds
    ("metrics.eval_every", 0), ("*.every_n_steps", 0),  # only at the end
    ("callbacks.checkpoint.every_n_train_steps", 0),  # last.ckpt only at the end
    ("trainer.max_steps", -1),  # no step limit
    ("callbacks.divergence.rollbacks", 0),  # stop at the first non-finite value (the default)
    ("callbacks.checkpoint.save_top_k", 0), ("callbacks.checkpoint.save_top_k", -1),  # none / all besides last.ckpt
    ("callbacks.curves.panels", []),  # every logged value in a panel of its own
    ("callbacks.mode_collapse.advice", ""), ("callbacks.mode_collapse.advice", 0),  # no advice (a 0 is shown as 0)
    ("callbacks.mode_collapse.suggest", []),  # the advice names no technique
    ("*num_workers", 0),  # decode in the main process
    ("*.source.also", []),  # no folder besides <data_dir>/<Name>/raw
    ("*.input_noise", 0), ("*.hidden_noise", 0), ("*.noise", 0),  # no noise
    ("*.mean", 0), ("*.mean", -1),  # a Gaussian's centre
    ("*.betas", [0, 0.9]),
    ("logger.name", "abc"), ("logger.id", "abc"),  # a W&B run's name and id
    ("logger.name", ""),  # csv: metrics.csv directly in the version folder (W&B refuses an empty name)
    ("logger.continue_after", 0),  # csv: the rows after step 0 are logged again
    ("logger.version", ""), ("logger.version", 0),  # csv/metrics.csv (the default), csv/version_0/metrics.csv
]
# Values refused only after training, where the run's metrics are known (main_metric in train.py).
KNOWN_LATE = [("metrics.main", "abc")]
TRAINED = []  # (option, key, value): legal extremes trained for two steps


def leaves(node: DictConfig, prefix: str = ""):
    """(key, value) of every leaf the user sets: not interpolations (they follow another key), not _target_."""
    for name in node.keys():
        key, child = f"{prefix}{name}", node._get_node(name)
        if str(name).startswith("_") and str(name).endswith("_"):
            continue
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_interpolation():
            yield from leaves(child, key + ".")
        elif not child._is_interpolation() and not any(fnmatch.fnmatch(key, p) for p in SKIPPED_KEYS):
            yield key, child._value() if not isinstance(child, (DictConfig, ListConfig)) else child


def read_keys(cfg: DictConfig) -> set[str]:
    """The keys some object reads: each argument of each `_target_`, followed to the key it comes from, and the
    keys inside a list argument (dataset.shape: [1, ${dataset.image_size}, ...]); plus the keys train.py reads."""
    found = {"seed", "ckpt_path", "metrics.main", "metrics.goal"}

    def visit(node, key: str, read: bool):
        if OmegaConf.is_dict(node) and not node._is_interpolation():
            read = read or "_target_" in node
            for name in node.keys():
                visit(node._get_node(name), f"{key}.{name}" if key else str(name), read)
        elif OmegaConf.is_list(node) and read:
            found.add(user_key(cfg, key))
            for i in range(len(node)):
                if node._get_node(i)._is_interpolation():
                    found.add(user_key(cfg, str(node._get_node(i)._value())[2:-1]))
        elif read:
            source = user_key(cfg, key)
            found.add(source)
            raw = raw_node(cfg, source)
            if raw is not None and OmegaConf.is_config(raw) and source != key:  # a list or a group of arguments
                visit(raw, source, True)

    for group in cfg.keys():
        visit(cfg._get_node(group), str(group), False)
    return found


# Out-of-range values that are cheap to detect, beside the generated ones: a batch larger than the data, a pack
# larger than the batch. (Toy data drawn fresh every batch has no size; a batch of 10**6 points is legal there.)
OUT_OF_RANGE = {"dataset.batch_size": [10**6], "trick.pacgan.pack": [128], "dataset.datamodule.reference_size": [1]}
FINITE = {"digits", "folder"}  # datasets with a size the test has the files for


def attempts(key: str, value, cfg: DictConfig) -> list:
    """The bad values tried for the leaf `key` holding `value` in `cfg`."""
    finite = OmegaConf.select(cfg, "dataset.name") in FINITE or key != "dataset.batch_size"
    return [*_generated(value), *(OUT_OF_RANGE.get(key, []) if finite else [])]


def _generated(value) -> list:
    if isinstance(value, bool):
        return ["abc", 2]
    if isinstance(value, (int, float)):
        return ["abc", 0, -1]
    if isinstance(value, str):
        return ["", 0]
    if isinstance(value, ListConfig):
        return [[], "abc", -1]
    if value is None or isinstance(value, DictConfig):
        return ["abc", -1, 0]
    return []


def options() -> list[tuple[str, str]]:
    groups = ("dataset", "model", "loss", "trick", "logger", "trainer", "metrics")
    return [("default", "")] + [(g, p.stem) for g in groups for p in sorted((CONF_DIR / g).glob("*.yaml"))]


def names_key(message: str, key: str) -> bool:
    """Whether `message` names `key` (a key on its own, not a longer key that contains it)."""
    return re.search(rf"(^|[\s(=$]){re.escape(key)}([\s=:),;]|$)", message) is not None


def compose(option: tuple[str, str], tmp: Path) -> DictConfig:
    group, name = option
    extra = [] if group == "default" else [f"{group}={name}", *COMPANIONS.get(group, lambda _: [])(name)]
    if "dataset=folder" in extra:
        write_folder(tmp / "images")
        extra += [f"dataset.path={tmp / 'images'}", "dataset.batch_size=4"]  # 6 decodable images
    extra = [e.replace("{weights}", str(random_inception_weights())) for e in extra]
    return compose_config(tmp / "run", *extra)


def integer_valued(value) -> list[tuple[object, str]]:
    """Integers where a float is meant, as (value, how): an integer-valued float as the integer it equals (10.0 ->
    10: must build, "equal"), and a list of floats with its items cut to integers ([0.5, 0.999] -> [0, 0]: built or
    refused in one line, never a traceback, "either")."""
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        return [(int(value), "equal")]
    if isinstance(value, ListConfig) and any(isinstance(x, float) for x in value):
        return [([int(x) if isinstance(x, float) else x for x in value], "either")]
    return []


def outcome(cfg: DictConfig, key: str, value, load_data: bool, read: set[str], how: str = "bad") -> str | None:
    """None when the attempt behaved (refused with one line naming the key, or built a legal value), else why not.
    Built means the whole run up to training, its optimizers too. `how`: "bad" (refused unless LEGAL), "equal" (it
    equals the composed value: must build) or "either" (built or refused)."""
    cfg = copy.deepcopy(cfg)
    OmegaConf.update(cfg, key, value, merge=False)
    try:
        _, gan, _ = build_run(cfg, load_data=load_data)
        gan.configure_optimizers()
    except ConfigError as error:
        text = str(error)
        if how == "equal":
            return f"refused the integer-valued {value!r}: {text[:300]!r}"
        if "\n" in text or not names_key(text, key):
            return f"refused without naming the key in one line: {text[:300]!r}"
        return None
    except Exception as error:  # a traceback for the user
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300] if str(error).strip() else ''}"
    if how != "bad":
        return None
    if any(fnmatch.fnmatch(key, k) and value == v and type(value) is type(v) for k, v in LEGAL + KNOWN_LATE):
        return None
    if key not in read:  # no object reads it in this composition
        return None
    return "accepted"


DEFAULT_LEAVES: dict[str, str] = {}
COUNTS = {"attempts": 0, "failed": 0}


@pytest.mark.parametrize("option", options(), ids=lambda o: "=".join(o) if o[1] else o[0])
def test_every_bad_value_is_refused_with_one_line_naming_its_key(option, tmp_path):
    cfg = compose(option, tmp_path)
    found = dict((k, repr(v)) for k, v in leaves(cfg))
    if option[0] == "default":
        DEFAULT_LEAVES.update(found)
    elif not DEFAULT_LEAVES:
        DEFAULT_LEAVES.update((k, repr(v)) for k, v in leaves(compose(("default", ""), tmp_path / "default")))
    keys = [k for k, v in found.items() if option[0] == "default" or DEFAULT_LEAVES.get(k) != v]
    load = OmegaConf.select(cfg, "dataset.name") in LOADS
    read = read_keys(cfg)
    failures = []
    for key in keys:
        composed = OmegaConf.select(cfg, key)
        for value, how in [(v, "bad") for v in attempts(key, composed, cfg)] + integer_valued(composed):
            COUNTS["attempts"] += 1
            why = outcome(cfg, key, value, load, read, how)
            if why is not None:
                COUNTS["failed"] += 1
                failures.append(f"{key}={value!r}: {why}")
    print(f"{option}: {len(keys)} keys, {COUNTS}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


# Legal extremes, trained two steps: an accepted value must train, not only build.
EXTREMES = [
    ["dataset=ring", "model=mlp", "metrics=toy", "dataset.batch_size=2", "metrics.eval_every=0",
     "callbacks.samples.every_n_steps=0", "callbacks.checkpoint.every_n_train_steps=0", "seed=0",
     "metrics.num_samples=2", "metrics.num_samples_periodic=2"],
    ["trick=pacgan", "trick.pacgan.pack=2", "dataset.batch_size=2", "metrics=none", "callbacks.curves.panels=[]",
     "callbacks.checkpoint.save_top_k=-1", "model.generator.width=1", "model.discriminator.width=1"],
]


@pytest.mark.parametrize("overrides", EXTREMES, ids=lambda o: " ".join(o[:2]))
def test_legal_extremes_train(tmp_path, overrides):
    metrics = train(compose_config(tmp_path, "trainer.max_steps=2", *overrides))
    assert metrics["step"] == 2


KEY_LIKE = re.compile(r"\b(dataset|model|trick|metrics|trainer|callbacks|gan|paths|logger|loss|study)\.[a-z_]+")


def test_no_config_key_is_spelt_in_an_error_message_of_the_library():
    """Constructors name their arguments and train.py names the key: a key spelt in src/gankit would drift."""
    spelt = []
    for path in sorted((Path(__file__).parents[1] / "src" / "gankit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node, "func", None)
            if isinstance(node, ast.Call) and getattr(name, "id", getattr(name, "attr", "")) in ERRORS:
                spelt += [f"{path.name}:{node.lineno}: {c.value}" for c in ast.walk(node)
                          if isinstance(c, ast.Constant) and isinstance(c.value, str) and KEY_LIKE.search(c.value)]
    assert not spelt, spelt


ERRORS = ("ConfigError", "BadArgument", "TrainingDiverged", "WriteFailed", "_unavailable")
