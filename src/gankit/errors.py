"""The error types train.py prints as a single line (`error: ...`) before exiting with `exit_status`."""

from __future__ import annotations

import re


class ConfigError(ValueError):
    """A configuration value that gankit cannot use; the message says what to change."""

    exit_status = 2


class BadArgument(ConfigError):
    """A constructor argument that cannot be used. `argument` names it as the constructor knows it (dotted for a
    value inside it, e.g. `optimizer_g.lr`; None: the object as a whole); the composition root (train.py) replaces
    it with the config key the value came from. The message is `<key> <problem>` (`<key>=<value> <problem>` with
    `show_value`), or `problem` itself where it places `{key}` and `{object}` (the object's config key). `owner`: the
    object whose argument it is, when another one raises it (a technique's argument checked by the GAN or in fit)."""

    def __init__(self, argument: str | None, problem: str, *, value=None, show_value: bool = False, owner=None):
        self.argument, self.problem, self.value, self.show_value = argument, problem, value, show_value
        self.owner = owner
        super().__init__(self.text(argument or "this object", "this object"))

    def below(self, prefix: str) -> BadArgument:
        """The same error about the argument seen from the object that holds this one under `prefix`."""
        return BadArgument(f"{prefix}.{self.argument}" if self.argument else prefix, self.problem, value=self.value,
                           show_value=self.show_value, owner=self.owner)

    def text(self, key: str, owner: str, sibling=lambda name: name) -> str:
        """The message with `key` for the argument, `owner` for the object and `sibling(name)` for `{key:name}`, the
        key of the object's argument `name`."""
        if "{key" in self.problem or "{object}" in self.problem:
            text = re.sub(r"\{key:([\w.]+)\}", lambda m: sibling(m.group(1)), self.problem)
            return text.replace("{key}", key).replace("{object}", owner)
        return f"{key}={self.value} {self.problem}" if self.show_value else f"{key} {self.problem}"


class WriteFailed(ConfigError):
    """A file of the run could not be written (a full disk, a read-only or missing folder); names the path."""


class TrainingDiverged(ConfigError):
    """A loss or parameter became non-finite; the message names the step, the values and the last good checkpoint."""

    exit_status = 3


def first_line(text: object) -> str:
    """The first non-empty line of `text` (an exception: its message, or its type's name when it has none)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if lines:
        return lines[0]
    return type(text).__name__ if isinstance(text, BaseException) else ""
