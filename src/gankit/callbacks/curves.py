"""Training curves from the run's own record: losses, D(x) on real and fake data and every other logged
value over steps, drawn to a PNG at the end (works with any logger, or none)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gankit import arguments  # noqa: E402
from gankit.callbacks.samples import log_picture  # noqa: E402
from gankit.callbacks.schedule import EveryNSteps  # noqa: E402
from gankit.errors import BadArgument  # noqa: E402


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over up to `window` values (the first ones average what there is)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def _panel(name: str, panel) -> dict:
    """{title, keys, hline (optional)} with a non-empty list of logged keys."""
    if not hasattr(panel, "keys") or "keys" not in panel:
        raise BadArgument(name, f"must be {{title: ..., keys: [...]}}, got {panel!r}")
    arguments.sequence(f"{name}.keys", panel["keys"], arguments.text)
    return dict(panel)


COSTS = ("/seconds",)  # recorded (the run's record) but not a curve of the run's learning: not drawn unless asked
AXES = ("step", "epoch")  # the loggers' step values (the GAN logs `step`): the x axis, not a curve


class TrainingCurves(pl.Callback):
    """Records the run's values (`gan.values`) on the batches whose values are logged (`gan.logs_this_batch`:
    Lightning's log_every_n_steps rhythm over batches; or every `every_n_steps` optimizer steps when set)
    and at the end of fit; draws them to `path` and logs it as `key`.

    `panels` is a list of {title, keys, hline (optional)}: keys drawn together; every other recorded
    key gets a panel of its own, except wall times (`eval/seconds`), which a panel must name to be drawn. The
    record is checkpointed, so a resumed run draws its whole history.
    """

    def __init__(self, path: str, panels: Sequence[dict] = (), every_n_steps: int | None = None,
                 key: str = "pictures/curves", columns: int = 3, smoothing: int = 25):
        super().__init__()
        self.path, self.key = Path(arguments.text("path", path)), key
        self.columns = arguments.integer("columns", columns, at_least=1)
        self.smoothing = arguments.integer("smoothing", smoothing, at_least=1)
        self.panels = arguments.sequence("panels", panels, _panel, non_empty=False)
        self.every_n_steps = arguments.optional(arguments.integer, "every_n_steps", every_n_steps, at_least=1)
        self.history: dict[str, list[tuple[int, float]]] = {}  # key -> [(step, value)]
        self._read = 0  # the run's values published up to here are recorded
        self._schedule = EveryNSteps(0)
        self.evaluated = "generator"  # whose samples the eval/ curves measure: G or a technique's copy of it

    def on_train_start(self, trainer: pl.Trainer, gan) -> None:  # a resumed run's step is restored by now
        self._schedule = EveryNSteps(self.every_n_steps or 0)
        self._schedule.start(trainer.global_step)

    def on_train_batch_end(self, trainer: pl.Trainer, gan, *args) -> None:
        due = self._schedule.due(trainer.global_step) if self.every_n_steps else gan.logs_this_batch
        if due:
            self.record(trainer, gan)

    def record(self, trainer: pl.Trainer, gan) -> None:
        """Every value published since the last record, at the current step (a value published once, such as an
        evaluation's, is recorded once)."""
        step = trainer.global_step
        for name, value in gan.values.since(self._read).items():
            series = self.history.setdefault(name, [])
            if series and series[-1][0] == step:
                series[-1] = (step, value)
            else:
                series.append((step, value))
        self._read = gan.values.published

    def on_fit_end(self, trainer: pl.Trainer, gan) -> None:  # after every on_train_end (final evaluations)
        self.evaluated = gan.evaluated_generator_name
        self.record(trainer, gan)
        if trainer.is_global_zero and self.draw():
            log_picture(trainer, self.key, self.path)

    def on_exception(self, trainer: pl.Trainer, gan, exception: BaseException) -> None:
        if trainer.is_global_zero:  # what was recorded before the failure is still worth a look
            self.draw()

    def draw(self) -> bool:
        """Writes the PNG; False when nothing was recorded."""
        groups = [(p.get("title", ", ".join(p["keys"])), [k for k in p["keys"] if k in self.history], p.get("hline"))
                  for p in self.panels]
        groups = [g for g in groups if g[1]]
        grouped = {k for _, keys, _ in groups for k in keys}
        groups += [(k, [k], None) for k in sorted(self.history)
                   if k not in grouped and not k.endswith(COSTS) and k not in AXES]
        if not groups:
            return False
        columns = min(self.columns, len(groups))
        rows = math.ceil(len(groups) / columns)
        fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False)
        for ax, (title, keys, hline) in zip(axes.flat, groups, strict=False):
            for i, name in enumerate(keys):
                steps, values = zip(*self.history[name], strict=True)
                color = f"C{i}"
                if len(values) > 2 * self.smoothing:  # raw values faint, their moving average on top
                    ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
                    ax.plot(steps, moving_average(values, self.smoothing), color=color, label=name)
                else:
                    ax.plot(steps, values, color=color, label=name, marker="." if len(values) < 30 else None)
            if hline is not None:
                ax.axhline(float(hline), color="gray", linestyle=":", linewidth=1)
            samples_of = f" (samples of {self.evaluated})" if keys[0].startswith("eval/") else ""
            ax.set_title(title + samples_of, fontsize=10)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=8)
            ax.legend(fontsize=7)
        for ax in list(axes.flat)[len(groups):]:
            ax.axis("off")
        fig.tight_layout()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.path, dpi=100)
        plt.close(fig)
        return True

    def state_dict(self) -> dict:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict) -> None:
        self.history = {k: [tuple(p) for p in v] for k, v in state_dict.get("history", {}).items()}
