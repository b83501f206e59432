"""Input checks that run before anything heavy (nothing here imports torch or Lightning at start-up): command-line
group choices and overrides that do not compose.
Config values are checked where they are used: each constructor checks its own arguments (gankit.arguments),
the composition root (train.py) checks what the targets' signatures declare and the rules of third-party
targets below (arguments.py's checks, keyed by argument, never by config key) and names the config key.

Naming the key a value came from needs OmegaConf's node internals (`_get_node`, `_get_full_key`, `_get_root`,
`_is_interpolation`, `_value`: the unresolved node and where it sits; OmegaConf has no public API for them). They
are used in this module only; other modules call `full_key` and `root_of`."""

from __future__ import annotations

import collections.abc
import difflib
import functools
import inspect
import re
import tempfile
import types
import typing
import weakref
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

from gankit import arguments
from gankit.errors import BadArgument, ConfigError, first_line


def group_options(conf_dir: Path, group: str) -> list[str]:
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


def _chosen(override) -> Iterable[str]:
    values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [
        override.value()
    ]
    for value in values:
        if isinstance(value, list):
            yield from map(str, value)
        elif isinstance(value, str):
            yield from (v.strip() for v in value.strip("[]").split(",") if v.strip())


def check_group_choices(conf_dir: Path, overrides: list[str]) -> None:
    """Unknown options such as model=foo -> ConfigError naming the valid choices."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # malformed syntax: Hydra reports it with its own message
        return
    for override in parsed:
        group = override.key_or_group
        if override.is_delete() or group.startswith("hydra/") or not (conf_dir / group).is_dir():
            continue  # hydra/... groups also hold plugins' options (joblib, optuna): Hydra checks those
        options = group_options(conf_dir, group)
        for choice in _chosen(override):
            if choice not in options:
                raise ConfigError(
                    f"unknown option {group}={choice}; choose one of: {', '.join(options)}"
                )
        value = override.value()
        if not override.is_sweep_override() and isinstance(value, list):  # trick=[a,a]: one of them
            twice = sorted({str(v) for v in value if value.count(v) > 1})
            if twice:
                raise ConfigError(f"{group}={override.get_value_element_as_str()} names {twice[0]} twice; "
                                  "give each option once")


def _unknown_key(conf_dir: Path, overrides: list[str], bad: str) -> str:
    """`unknown key gan.dsteps=2; gan has: d_steps, ...` with the closest spelling first."""
    given = next((o for o in overrides if o.split("=", 1)[0] == bad), bad)
    parent, _, leaf = bad.rpartition(".")
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
            cfg = compose("train", overrides=[o for o in overrides if o.split("=", 1)[0] != bad])
        node = OmegaConf.select(cfg, parent) if parent else cfg
        keys = sorted(str(k) for k in node.keys()) if isinstance(node, DictConfig) else []
    except Exception:  # another override is wrong too: report this one without the list
        keys = []
    close = difflib.get_close_matches(leaf, keys, n=1)
    hint = f"did you mean {parent + '.' if parent else ''}{close[0]}? " if close else ""
    where = f"{parent or 'the config'} has: {', '.join(keys)}; " if keys else ""
    return f"unknown key {given}; {hint}{where}add a new key with +{given} only if its target takes it"


def check_composes(conf_dir: Path, overrides: list[str]) -> DictConfig | None:
    """The composed config; Hydra's multi-line composition errors (a misspelt key, malformed syntax) as one
    ConfigError line. Multirun sweeps and --flags are left to Hydra (None)."""
    if any(o.startswith("-") for o in overrides):
        return None
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
            return compose("train", overrides=overrides, return_hydra_config=True)
    except Exception as error:
        missing = re.match(r"Could not override '([^']+)'", str(error))
        if missing and "not in struct" in str(error.__cause__ or ""):
            raise ConfigError(_unknown_key(conf_dir, overrides, missing.group(1))) from None
        cause = f": {first_line(error.__cause__)}" if error.__cause__ else ""
        raise ConfigError(f"cannot use the overrides {' '.join(overrides)}: {first_line(error)}{cause}") from None


def check_one_key_per_value(conf_dir: Path, overrides: list[str]) -> None:
    """An override of a key that only repeats another key of its own group (dataset.datamodule.batch_size:
    ${dataset.batch_size}) -> ConfigError naming the key to set: each value has one key. A key filled from another
    group (trainer.max_steps from dataset.max_steps) may be set: it is that group's own setting."""
    keyed = {}
    for override in overrides:
        key, equals, value = override.partition("=")
        if equals and "." in key and not key.startswith(("+", "~", "hydra.")):
            keyed[key] = value
    if not keyed or any(o.startswith("-") for o in overrides):
        return
    choices = [o for o in overrides if o.partition("=")[0] not in keyed]
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir)):
            cfg = compose("train", overrides=choices)
    except Exception:  # check_composes reports what does not compose
        return
    for key, value in keyed.items():
        node = raw_node(cfg, key)
        follows = _FOLLOWS.match(str(node._value())) if node is not None and node._is_interpolation() else None
        if follows and follows.group(1).split(".")[0] == key.split(".")[0]:
            source = user_key(cfg, key)
            raise ConfigError(f"{key} follows {source}; set {source}={value} instead (one key for one value)")


# Where a config value comes from: `${a.b}` and `${oc.select:a.b,default}` follow key a.b, `${oc.env:NAME,...}`
# the environment variable NAME.
_FOLLOWS = re.compile(r"^\$\{(?:oc\.select:)?([A-Za-z_][\w.]*)(?:,[^}]*)?\}$")
_ENVIRONMENT = re.compile(r"^\$\{oc\.env:(\w+)(?:,[^}]*)?\}$")


def preflight(conf_dir: Path, args: list[str], steps_key: str) -> list[str]:
    """Checks of the command line before Hydra composes it (no torch or Lightning imported: an error comes back in
    about a second); the overrides to run (a resume adds its run's). `steps_key`: the run length's key."""
    from gankit.resume.command_line import continue_run

    check_group_choices(conf_dir, [a for a in args if not a.startswith("-")])
    check_writable_folders(args)
    args = continue_run(conf_dir, args, steps_key)  # ckpt_path=last: that run's directory and overrides
    cfg = check_composes(conf_dir, args)
    check_one_key_per_value(conf_dir, args)
    if cfg is not None:  # multiruns and --flags are left to Hydra and each run
        check_rules(cfg)
    return args


FOLDER_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "paths.output_dir")  # where a run writes, when given


def check_writable_folders(args: list[str]) -> None:
    """A run folder given on the command line that cannot be written (or created) is one line naming its key,
    before Hydra tries (its own error is a traceback): probed with a temporary folder in its nearest existing
    ancestor, so nothing is left behind."""
    for arg in args:
        key, equals, value = arg.partition("=")
        if not equals or key.lstrip("+~") not in FOLDER_KEYS or "${" in value or not value:
            continue
        folder = Path(value).expanduser().absolute()
        ancestor = next(p for p in [folder, *folder.parents] if p.exists())
        try:
            tempfile.TemporaryDirectory(dir=ancestor).cleanup()
        except OSError as error:
            raise ConfigError(f"{key.lstrip('+~')}={value} cannot be written ({error.strerror or type(error).__name__} "
                              f"in {ancestor}); choose a folder you can write") from None


def check_rules(cfg: DictConfig) -> None:
    """The rules of third-party targets (TARGET_RULES) and the bounds gankit's own constructors share
    (GANKIT_BOUNDS) over a composed config, without importing the targets (the types their signatures declare
    are checked when the run builds them): `trainer.max_steps=abc` and `dataset.batch_size=0` are refused before
    torch is imported. A value that resolves only inside Hydra's run is left to the run."""
    for where, node in _targets(cfg, ""):
        target = str(node._target_)
        rules = TARGET_RULES.get(target) or (GANKIT_RULES if target.startswith("gankit.") else {})
        for name, rule in rules.items():
            if (str(node._target_), name) in NEED_LIGHTNING:
                continue
            try:
                value = node[name] if name in node else None
            except Exception:  # ${hydra:...}: resolved in the run
                continue
            if value is None or OmegaConf.is_dict(value):
                continue
            try:
                rule(name, value)
            except BadArgument as error:
                raise located(error, cfg, where.rstrip(".")) from None


def full_key(node: DictConfig) -> str:
    """The dotted key of `node` in its config ('' for the root)."""
    return node._get_full_key(None)


def root_of(node: DictConfig) -> DictConfig:
    """The config `node` belongs to."""
    return node._get_root()


def raw_node(root: DictConfig, key: str):
    """The unresolved node at dotted `key` below `root` (None when there is none)."""
    node = root
    for part in key.split("."):
        part, _, index = part.partition("[")
        if not OmegaConf.is_config(node) or (OmegaConf.is_dict(node) and part not in node):
            return None
        node = node._get_node(part) if OmegaConf.is_dict(node) else None
        if index and OmegaConf.is_list(node) and int(index.rstrip("]")) < len(node):
            node = node._get_node(int(index.rstrip("]")))
    return node


def user_key(root: DictConfig, key: str) -> str:
    """The key a user sets for the value at `key`: interpolations are followed to their source
    (dataset.datamodule.batch_size -> dataset.batch_size); an environment variable is named with the key it
    fills: `$GANKIT_CACHE (paths.cache_dir)`."""
    for _ in range(10):  # chains are short; a cycle stops here
        key = _through_parents(root, key)
        node = raw_node(root, key)
        raw = node._value() if node is not None and not OmegaConf.is_config(node) else None
        if not isinstance(raw, str):
            return key
        if env := _ENVIRONMENT.match(raw):
            return f"${env.group(1)} ({key})"
        follows = _FOLLOWS.match(raw)
        if not follows or raw_node(root, follows.group(1)) is None:
            return key
        key = follows.group(1)
    return key


def _through_parents(root: DictConfig, key: str) -> str:
    """`key` with a parent that interpolates another node replaced by it (callbacks.samples.figure.nrow ->
    dataset.samples.figure.nrow when callbacks.samples.figure is ${dataset.samples.figure})."""
    parts = key.split(".")
    for i in range(len(parts) - 1, 0, -1):
        node = raw_node(root, ".".join(parts[:i]))
        if node is not None and node._is_interpolation():
            follows = _FOLLOWS.match(str(node._value()))
            if follows:
                return ".".join([follows.group(1), *parts[i:]])
    return key


def located(error: BadArgument, root: DictConfig, where: str) -> ConfigError:
    """`error` with its argument replaced by the config key the value came from (`where`: the object's key)."""
    key = f"{where}.{error.argument}" if error.argument and where else (error.argument or where or "the config")
    def sibling(name: str) -> str:
        return user_key(root, f"{where}.{name}" if where else name)

    return ConfigError(error.text(user_key(root, key), where or "the config", sibling))


def _optional(check: Callable, **bounds) -> Callable:
    return lambda name, value: arguments.optional(check, name, value, **bounds)


def _ints_or(*words: str) -> Callable:
    """An integer >= 1, a list of device indices, or one of `words` (Lightning's devices: 2, [0, 1], "auto")."""
    def check(name: str, value):
        if OmegaConf.is_list(value):
            return arguments.sequence(name, value, lambda item, i: arguments.integer(item, i, at_least=0))
        return value if value in words else arguments.integer(name, value, at_least=1)
    return check


WANDB_MODES = ("online", "offline", "disabled", "shared")  # wandb.init's modes (besides the deprecated dryrun, run)


@functools.cache
def precisions() -> list[str]:
    """Lightning's precision values (imported here, not at start-up: the command line's checks stay light). From
    Lightning's private `_PRECISION_INPUT`, the one type its Trainer takes precision as: Lightning has no public
    list, and a copy here would drift from the installed version."""
    from lightning.fabric.plugins.precision.precision import _PRECISION_INPUT

    return sorted({str(p) for arg in typing.get_args(_PRECISION_INPUT) for p in typing.get_args(arg)})


def _accelerator(name: str, value) -> str:
    from lightning.pytorch.accelerators import AcceleratorRegistry

    return arguments.text(name, value, sorted({"auto", "gpu", *AcceleratorRegistry.available_accelerators()}))


def _betas(name: str, value) -> list:
    if not OmegaConf.is_list(value) or len(value) != 2 or not all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in value):
        raise BadArgument(name, f"must be two numbers in [0, 1), got {_show(value)}")
    return list(value)


def _max_steps(name: str, value) -> int:
    if arguments.integer(name, value, at_least=-1) == 0:
        raise BadArgument(name, "must be -1 (no limit) or >= 1 (0 trains nothing), got 0")
    return value


def _precision(name: str, value) -> str:
    if str(value) not in precisions():
        raise BadArgument(name, f"is not a precision; choose one of: {', '.join(precisions())}", value=value,
                          show_value=True)
    return value


_OPTIMIZER = {
    "lr": functools.partial(arguments.number, above=0.0),
    "betas": _betas,
    "eps": functools.partial(arguments.number, above=0.0),
    "weight_decay": functools.partial(arguments.number, at_least=0.0),
    "momentum": functools.partial(arguments.number, at_least=0.0),
}
# Ranges third-party targets leave unchecked (or check only with a traceback), by target and argument name;
# types come from their signatures (check_target).
TARGET_RULES: dict[str, dict[str, Callable]] = {
    "lightning.pytorch.Trainer": {
        "max_steps": _max_steps,
        "log_every_n_steps": functools.partial(arguments.integer, at_least=1),
        "num_nodes": functools.partial(arguments.integer, at_least=1),
        "devices": _ints_or("auto"),
        "accelerator": _accelerator,
        "default_root_dir": _optional(arguments.text),
        "precision": _optional(_precision),
    },
    "lightning.pytorch.callbacks.ModelCheckpoint": {
        "dirpath": _optional(arguments.text),
        "save_top_k": functools.partial(arguments.integer, at_least=-1),
        "every_n_train_steps": _optional(arguments.integer, at_least=0),
    },
    "gankit.loggers.CSVLogger": {"save_dir": arguments.text},
    "lightning.pytorch.loggers.WandbLogger": {"save_dir": arguments.text, "project": _optional(arguments.text),
                                              "name": _optional(arguments.text), "id": _optional(arguments.text),
                                              "mode": lambda name, value: arguments.text(name, value, WANDB_MODES)},
    "lightning.pytorch.strategies.DDPStrategy": {
        "find_unused_parameters": arguments.boolean,
        "process_group_backend": _optional(arguments.text, choices=("gloo", "nccl", "mpi")),
    },
    "torch.optim.Adam": _OPTIMIZER, "torch.optim.AdamW": _OPTIMIZER, "torch.optim.SGD": _OPTIMIZER,
    "torch.optim.RMSprop": _OPTIMIZER,
    "torch.nn.BatchNorm1d": {"momentum": _optional(arguments.number, above=0, at_most=1),
                             "eps": functools.partial(arguments.number, above=0.0)},
}
TARGET_RULES["torch.nn.BatchNorm2d"] = TARGET_RULES["torch.nn.BatchNorm1d"]
# Integer arguments every gankit constructor that takes them bounds alike (each constructor checks its own too;
# tests/test_cli.py checks that the two agree), so the command line refuses them before torch is imported.
GANKIT_BOUNDS = {"batch_size": {"at_least": 1}, "latent_dim": {"at_least": 1}, "width": {"at_least": 1},
                 "d_steps": {"at_least": 1}, "g_steps": {"at_least": 1}, "seed": {"at_least": 0}}
GANKIT_RULES = {name: _optional(arguments.integer, **bounds) for name, bounds in GANKIT_BOUNDS.items()}
# Rules that import Lightning to know the allowed values: checked when the run builds, not on the command line.
NEED_LIGHTNING = {("lightning.pytorch.Trainer", "precision"), ("lightning.pytorch.Trainer", "accelerator")}


def check_config(cfg: DictConfig, keys: Iterable[str] | None = None) -> None:
    """Every target of a composed config (or of its top-level `keys`: the parts that will be built), checked before
    anything is built (its rules and the types its signature declares); the first problem is one line naming the key
    the value came from. Values only a constructor can judge (a batch larger than the data) are checked when it is
    built (gankit.run.build names their key)."""
    for key in [None] if keys is None else [k for k in keys if OmegaConf.is_dict(cfg.get(k))]:
        try:
            check_targets(cfg if key is None else cfg[key])
        except BadArgument as error:
            raise located(error, cfg, key or "") from None


def check_targets(node: DictConfig) -> None:
    """Every `_target_` at or below `node`: its rules and what its signature declares, before it is called.
    BadArgument carries the argument's key relative to `node` (`source.path`)."""
    for where, target in _targets(node, ""):
        try:
            check_target(target)
        except BadArgument as error:
            raise (error.below(where.rstrip(".")) if where else error) from None


def _targets(node, prefix: str):
    if OmegaConf.is_dict(node) and not node._is_none() and not node._is_missing():
        if "_target_" in node:
            yield prefix, node
        for name in node.keys():
            if not str(name).startswith("_"):
                yield from _targets(node._get_node(name), f"{prefix}{name}.")


def check_target(node: DictConfig) -> None:
    """One target's arguments: the rules for it, then the types its signature declares."""
    path = str(node._target_)
    try:
        target = get_object(path)
    except Exception as error:
        raise BadArgument("_target_", f"cannot be imported ({first_line(error)})", value=path,
                          show_value=True) from None
    rules = TARGET_RULES.get(path, {})
    hints = _hints(target)
    for name in node.keys():
        name = str(name)
        if name.startswith("_") or OmegaConf.is_dict(node._get_node(name)) and "_target_" in node[name]:
            continue
        value = node[name]
        if name in rules:
            rules[name](name, value)
        elif name in hints and _conforms(value, hints[name]) is False:
            raise BadArgument(name, f"must be {_describe(hints[name])}, got {_show(value)}")


@functools.cache
def _hints(target) -> dict:
    try:
        function = target.__init__ if inspect.isclass(target) else target
        return typing.get_type_hints(function)
    except Exception:  # an annotation that does not resolve: no type checks for this target
        return {}


def _conforms(value, hint) -> bool | None:
    """Whether `value` fits `hint`: True, False, or None where the hint is not one of the plain kinds checked."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return None
    if origin in (typing.Union, types.UnionType):
        answers = [_conforms(value, a) for a in args]
        return True if True in answers else (None if None in answers else False)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, collections.abc.Sequence) or hint in (list, tuple):
        if isinstance(value, str) or not OmegaConf.is_list(value) and not isinstance(value, (list, tuple)):
            return False
        inner = [_conforms(v, args[0]) for v in value] if args else []
        return False if False in inner else (None if None in inner else True)
    return None


def _describe(hint) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        words = [_describe(a) for a in args]
        return " or ".join(dict.fromkeys(w for w in words if w))
    if origin is typing.Literal:
        return "one of: " + ", ".join(map(str, args))
    names = {type(None): "null", bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if hint in names:
        return names[hint]
    if origin in (list, tuple, collections.abc.Sequence) or hint in (list, tuple):
        return "a list"
    return ""


def _show(value) -> str:
    return str(OmegaConf.to_container(value)) if OmegaConf.is_config(value) else repr(value)


# built object -> the config node it came from (train.py's build records it), so an error an object finds later
# names the key it was built from. Kept here, not in train.py: a multirun's joblib workers pickle train.py's
# functions by value, and a WeakKeyDictionary cannot be pickled.
_ORIGINS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def remember_origin(built: Any, node: DictConfig) -> None:
    with suppress(TypeError):  # not every object can be weakly referenced
        _ORIGINS[built] = node


def origin_of(built: Any) -> DictConfig | None:
    with suppress(TypeError):
        return _ORIGINS.get(built)
    return None
