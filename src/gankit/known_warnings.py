"""Warnings from libraries that say nothing actionable about a gankit run; filtered once by train()."""

import logging
import warnings

# Each entry: a message (regex) and why it is safe to hide.
KNOWN = [
    # gankit checkpoints the state after the step, with global_step counting that step: consistent.
    "Using ModelCheckpoint with manual optimization and every_n_train_steps",
    # gankit's iterable datasets run in the main process; their length is exact.
    ".*IterableDataset.*has .__len__. defined",
    # raised inside Lightning's own pytree helper on newer torch.
    ".*LeafSpec.* is deprecated",
    # gankit's data is tensors in memory or generated on the fly: workers would only add overhead.
    ".*does not have many workers",
    # Lightning warns whenever an srun binary exists and the process was not started by srun, outside SLURM jobs
    # too; gankit's SLURM launcher (submitit) starts every job's processes with srun, where it does not fire.
    "The `srun` command is available on your system but is not used",
    # gankit logs every log_every_n_steps-th batch of the whole run (GAN.logging_batch counts batches across
    # epochs), so epochs shorter than the interval (digits: 22 batches) still log.
    ".*is smaller than the logging interval",
]


def silence_known_warnings() -> None:
    for message in KNOWN:
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda record: "litlogger" not in record.getMessage()
    )
