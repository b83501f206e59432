"""The config keys gankit's entry points read themselves (everything else reaches the objects built from the
config): named once, here."""

MAX_STEPS = "trainer.max_steps"  # a run's length in optimizer steps: a resume continues a run up to it
MAIN_METRIC = "metrics.main"  # what sweeps compare and searches optimise
