"""Evaluates the generator every `every_n_steps` steps and at the end; logs `eval/<metric>` once.

An evaluator (gankit.metrics: ToyEvaluator, ClassifierEvaluator, ImageEvaluator) provides
`setup(datamodule, rank, world_size)`, `reset()`, `update(fake, gan)`, `compute() -> dict`,
`protocol() -> dict` and `reference` (values fixed by the data, e.g. the digits FID floor). Every
process generates its share of the samples; the evaluator's torchmetrics states sync in compute().
Each evaluation also logs what the techniques measure themselves (`GAN.evaluate_techniques`, e.g. the
test error of a classifier a technique trains); `evaluator=None` evaluates only those (no samples).
Its outputs: `eval/...` in the loggers and the run's values (`gan.values`, gankit.values), `history_path`
(evaluations.json, every evaluation) and its final record (the final values and their protocol, `gan.values.final`
for metrics.json: callbacks/final.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities.seed import isolate_rng

from gankit import arguments
from gankit.callbacks.schedule import EveryNSteps
from gankit.checkpoint_io import writing
from gankit.errors import BadArgument


class Evaluation(pl.Callback):
    """`num_samples_periodic` samples during training, `num_samples` at the end, from a fixed seed
    (so evaluation neither consumes nor depends on the training RNG)."""

    def __init__(self, evaluator=None, every_n_steps: int = 1000, num_samples: int = 10000,
                 num_samples_periodic: int = 2000, batch_size: int = 500, seed: int = 0, prefix: str = "eval",
                 history_path: str | None = None):
        super().__init__()
        if evaluator is not None and not all(hasattr(evaluator, m) for m in ("setup", "update", "compute")):
            raise BadArgument("evaluator", f"must be a config with a _target_ (an evaluator) or null, got "
                                           f"{evaluator!r}")
        self.evaluator, self.prefix, self.seed = evaluator, prefix, arguments.integer("seed", seed, at_least=0)
        self.every_n_steps = arguments.integer("every_n_steps", every_n_steps, at_least=0)  # 0: only at the end
        self.batch_size = arguments.integer("batch_size", batch_size, at_least=1)
        self.num_samples = arguments.integer("num_samples", num_samples, at_least=2)
        self.num_samples_periodic = arguments.integer("num_samples_periodic", num_samples_periodic, at_least=2)
        self.history_path = None if history_path is None else Path(history_path)
        self.final: dict[str, float] = {}  # eval/<metric> at the end of fit, with the reference values
        self.protocol: dict = {}
        self.history: list[dict[str, float]] = []  # {"step": N, "eval/<metric>": value} per evaluation
        self._schedule = EveryNSteps(self.every_n_steps)
        self._last: tuple[int, int] | None = None  # (step, num_samples) of the latest evaluation
        self._ready = False

    def on_fit_start(self, trainer: pl.Trainer, gan) -> None:
        if self.evaluator is None:
            return
        self.evaluator.to(gan.device)  # the reference set is embedded on the run's device
        if not self._ready:  # rank 0 first fills the caches (classifier, reference features)
            if trainer.is_global_zero:
                self.evaluator.setup(trainer.datamodule, trainer.global_rank, trainer.world_size)
            trainer.strategy.barrier("gankit-evaluation-setup")
            if not trainer.is_global_zero:
                self.evaluator.setup(trainer.datamodule, trainer.global_rank, trainer.world_size)
            self._ready = True
        self.evaluator.to(gan.device)  # and what setup built

    def on_train_start(self, trainer: pl.Trainer, gan) -> None:  # a resumed run's step is restored by now
        self._schedule.start(trainer.global_step)

    def on_train_batch_end(self, trainer: pl.Trainer, gan, *args) -> None:
        if self._schedule.due(trainer.global_step):
            if not 0 < trainer.max_steps <= trainer.global_step:  # the final evaluation follows
                self.evaluate(trainer, gan, self.num_samples_periodic)

    def on_train_end(self, trainer: pl.Trainer, gan) -> None:
        values = self.evaluate(trainer, gan, self.num_samples)
        evaluator = self.evaluator
        reference = {f"{self.prefix}/{k}": v for k, v in (evaluator.reference if evaluator else {}).items()}
        self.final = {**values, **reference}
        samples = {**evaluator.protocol(), "num_samples": self.num_samples, "seed": self.seed,
                   "generator": gan.evaluated_generator_name} if evaluator else {}  # G, or a technique's copy
        self.protocol = {**samples, "step": trainer.global_step, "processes": trainer.world_size,
                         **gan.technique_protocols()}
        gan.values.final = self.final_record()  # metrics.json: callbacks/final.py
        if reference and trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(reference, step=trainer.global_step)

    def final_record(self) -> dict:
        """Its part of metrics.json: the final eval/<metric> values (with the reference values) and their protocol."""
        return {**self.final, "protocol": self.protocol}

    def teardown(self, trainer: pl.Trainer, gan, stage: str) -> None:
        """evaluations.json once fit ended well (teardown follows every on_fit_end, the final checkpoint's too)."""
        if stage == "fit" and self.history_path is not None and self.history and trainer.is_global_zero:
            with writing(self.history_path):
                self.history_path.parent.mkdir(parents=True, exist_ok=True)
                self.history_path.write_text(json.dumps(self.history, indent=1))

    def evaluate(self, trainer: pl.Trainer, gan, num_samples: int) -> dict[str, float]:
        """eval/<metric> over `num_samples` generated samples, split across processes; logged on rank 0."""
        if self._last == (trainer.global_step, num_samples):
            return self._values
        start = time.perf_counter()
        rank, world = trainer.global_rank, trainer.world_size
        share = num_samples // world + (rank < num_samples % world)
        with isolate_rng(include_cuda=True):  # the training streams are left as they were
            torch.manual_seed(self.seed + rank)
            values = {}
            if self.evaluator is not None:
                self.evaluator.reset()
                for i in range(0, share, self.batch_size):
                    self.evaluator.update(gan.sample(min(self.batch_size, share - i)), gan)
                values = self.evaluator.compute()  # every rank: torchmetrics syncs here
            values.update(gan.evaluate_techniques())
        values = {f"{self.prefix}/{k}": v for k, v in values.items()}
        values[f"{self.prefix}/seconds"] = time.perf_counter() - start
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(values, step=trainer.global_step)
        gan.values.publish(values)  # where the guards, the curves and metrics.json read them
        self._last, self._values = (trainer.global_step, num_samples), values
        self.history.append({"step": trainer.global_step, **values})
        return values

    def state_dict(self) -> dict:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict) -> None:
        self.history = list(state_dict.get("history", []))
