"""The one error type for bad user input; train.py prints it as a single line."""


class ConfigError(ValueError):
    """A configuration value that gankit cannot use; the message says what to change."""
