"""The error types train.py prints as a single line (`error: ...`) before exiting with `exit_status`."""


class ConfigError(ValueError):
    """A configuration value that gankit cannot use; the message says what to change."""

    exit_status = 2


class TrainingDiverged(ConfigError):
    """A loss or parameter became non-finite; the message names the step, the values and the last good checkpoint."""

    exit_status = 3
