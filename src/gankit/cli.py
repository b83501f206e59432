"""The command lines of evaluate.py and sample.py: `key=value` words, the command's own keys apart from the run's
overrides, one line for what cannot be read."""

from __future__ import annotations

from gankit.errors import ConfigError


def options(args: list[str], required: tuple[str, ...], own: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """({own key: value}, the other words: overrides of the run's config). `required` keys must be given."""
    given, overrides = {}, []
    for word in args:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise ConfigError(f"{word!r}: give key=value (e.g. ckpt_path=outputs/.../checkpoints/last.ckpt)")
        if key in own:
            given[key] = value
        else:
            overrides.append(word)
    missing = [k for k in required if not given.get(k)]
    if missing:
        raise ConfigError(f"give {missing[0]}=..., e.g. {missing[0]}=outputs/<date>/<time>/checkpoints/last.ckpt")
    return given, overrides


def run_command(main, args: list[str]) -> None:
    """Exit with `main(args)`'s status; a ConfigError is one line on stderr and its exit status."""
    import sys

    try:
        sys.exit(main(args))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_status)
