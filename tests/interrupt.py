"""A callback that interrupts a run at a step, as a crash or a preemption would (`+callbacks.stop=...`)."""

import os
import signal

import lightning.pytorch as pl


class StopAt(pl.Callback):
    """Interrupts the run at `step`: a crash (an exception before the next batch) or a SIGTERM to itself."""

    def __init__(self, step: int, how: str):
        self.step, self.how = step, how

    def on_train_batch_start(self, trainer, gan, *args) -> None:
        if self.how == "crash" and trainer.global_step == self.step:
            raise RuntimeError("crash")

    def on_train_batch_end(self, trainer, gan, *args) -> None:
        if self.how == "sigterm" and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)  # Lightning's handler notes it; the batch ends, then the save


def stop_at(step: int, how: str) -> str:
    """The override that adds it to a run."""
    return f"+callbacks.stop={{_target_: tests.interrupt.StopAt, step: {step}, how: {how}}}"
