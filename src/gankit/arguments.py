"""Checks of constructor arguments. Each returns the value as the constructor uses it, or raises BadArgument naming
the argument (`batch_size must be >= 1, got 0`); train.py turns the argument's name into the config key."""

from __future__ import annotations

import functools
import inspect
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omegaconf import ListConfig

from gankit.errors import BadArgument, ConfigError


def integer(name: str, value: Any, at_least: int | None = None, at_most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadArgument(name, f"must be an integer, got {value!r}")
    _bounds(name, value, at_least, at_most, open_low=False)
    return int(value)


def number(name: str, value: Any, above: float | None = None, at_least: float | None = None,
           below: float | None = None, at_most: float | None = None) -> float:
    """A float in the given bounds: `above`/`below` exclusive, `at_least`/`at_most` inclusive."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise BadArgument(name, f"must be a number, got {value!r}")
    low, open_low = (above, True) if above is not None else (at_least, False)
    high, open_high = (below, True) if below is not None else (at_most, False)
    if low is None or high is None:
        _bounds(name, value, low, high, open_low, open_high)
    elif not ((value > low if open_low else value >= low) and (value < high if open_high else value <= high)):
        interval = f"{'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
        raise BadArgument(name, f"must be in {interval}, got {value!r}")
    return float(value)


def _bounds(name, value, low, high, open_low: bool, open_high: bool = False) -> None:
    if low is not None and (value <= low if open_low else value < low):
        raise BadArgument(name, f"must be {'>' if open_low else '>='} {low}, got {value!r}")
    if high is not None and (value >= high if open_high else value > high):
        raise BadArgument(name, f"must be {'<' if open_high else '<='} {high}, got {value!r}")


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadArgument(name, f"must be true or false, got {value!r}")
    return value


def text(name: str, value: Any, choices: Sequence[str] | None = None) -> str:
    """A non-empty string (one of `choices` when given)."""
    if not isinstance(value, str) or not value.strip():
        raise BadArgument(name, f"must be a non-empty string, got {value!r}")
    if choices is not None and value not in choices:
        raise BadArgument(name, f"must be one of: {', '.join(choices)}; got {value!r}")
    return value


def optional(check: Callable[..., Any], name: str, value: Any, **bounds) -> Any:
    """`check(name, value, **bounds)`, or None for None."""
    return None if value is None else check(name, value, **bounds)


def sequence(name: str, value: Any, item: Callable[[str, Any], Any], length: int | None = None,
             non_empty: bool = True) -> list:
    """A list whose items pass `item(f"{name}[i]", x)`; of `length` items when given."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, ListConfig)):
        raise BadArgument(name, f"must be a list, got {value!r}")
    items = list(value)
    if length is not None and len(items) != length:
        raise BadArgument(name, f"must be a list of {length} items, got {_show(value)}")
    if non_empty and not items:
        raise BadArgument(name, "must be a non-empty list, got []")
    return [item(f"{name}[{i}]", x) for i, x in enumerate(items)]


def sizes(name: str, value: Any) -> list[int]:
    """A non-empty list of positive integers (layer widths, a data shape)."""
    return sequence(name, value, lambda item, size: integer(item, size, at_least=1))


def writable_folder(name: str, value: Any) -> Path:
    """A folder that exists or can be created, and can be written (probed with a temporary file)."""
    folder = Path(text(name, value)).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise BadArgument(name, f"cannot be written ({error.strerror or type(error).__name__})", value=value,
                          show_value=True) from None
    return folder


def factory(name: str, value: Any) -> Any:
    """A callable (a `_partial_: true` target), or None."""
    if value is not None and not callable(value):
        raise BadArgument(name, f"must be a config with a _target_ (or null), got {value!r}")
    return value


# Modules whose functions a batch may call without Hydra's per-call check (see batch_function).
_TRUSTED_MODULES = ("gankit.", "torch.")


def batch_function(name: str, value: Any) -> Callable:
    """A function called on every batch (a loss, a distance). A `_partial_` target of gankit or torch becomes a
    plain functools.partial: Hydra >= 1.3.3 checks its target policy again on every call of its own partial (a JSON
    dump and a SHA-256, ~0.1 ms, ~5% of a toy MLP's iteration). Other targets keep Hydra's partial and its check."""
    if not callable(value):
        raise BadArgument(name, f"must be a function (a config with a _target_ and _partial_: true), got {value!r}")
    if type(value) is not functools.partial and isinstance(value, functools.partial) \
            and getattr(value.func, "__module__", "").startswith(_TRUSTED_MODULES):
        return functools.partial(value.func, *value.args, **value.keywords)
    return value


def floats_where_meant(factory: Any) -> Any:
    """A `_partial_` factory with each integer keyword value as a float where the target's default is a float, item
    by item in sequences (`betas: [0, 0.9]` -> (0.0, 0.9): torch's Adam refuses mixed ints and floats)."""
    if not isinstance(factory, functools.partial):
        return factory
    try:
        parameters = inspect.signature(factory.func).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return factory
    keywords = {k: _float_like(v, parameters[k].default if k in parameters else None)
                for k, v in factory.keywords.items()}
    return functools.partial(factory.func, *factory.args, **keywords)


def _float_like(value: Any, default: Any) -> Any:
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(default, tuple) and isinstance(value, (list, tuple, ListConfig)) and len(value) == len(default):
        return tuple(_float_like(v, d) for v, d in zip(value, default, strict=True))
    return value


def call(name: str, factory: Callable, *args) -> Any:
    """`factory(*args)` for a factory argument called here (a `_partial_` layer): what it refuses is named below
    `name` (`head.kernels`)."""
    try:
        return factory(*args)
    except BadArgument as error:
        raise error.below(name) from None


def _show(value: Any) -> str:
    return str(list(value)) if isinstance(value, ListConfig) else repr(value)


def environment_integer(variable: str, default: int = 0) -> int:
    """An integer >= 0 from the environment variable `variable` (unset or empty: `default`); a ConfigError naming
    the variable otherwise (these are read by gankit itself, not through the config)."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ConfigError(f"${variable} must be an integer >= 0, got {raw!r}; unset it or set e.g. {variable}=1")
    return int(raw)
