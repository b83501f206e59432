"""GAN(LightningModule): Algorithm 1 of Goodfellow et al. 2014 with manual optimisation.

One training iteration = `d_steps` D updates, each on a fresh real batch and fresh noise,
then `g_steps` G updates. Each Lightning batch feeds one D update; the G updates follow
every `d_steps`-th batch. `global_step` counts optimizer steps of both players.

Training values are kept in `batch_values`, where callbacks read them (the final ones reach metrics.json
through callbacks/final.py): the losses every batch (the divergence guard checks them), mean D(x) and the
gradient norms on the batches whose values are kept (`measures_this_batch`: the logging batches and the last
one; ~0.3 ms a batch on a toy MLP otherwise). They are sent to the loggers with `self.log` (about a millisecond
a call) on every `trainer.log_every_n_steps`-th batch only, Lightning's own logger rhythm, at the step count
after the batch (`step`: Lightning's logger step is then `global_step`, the axis evaluations and pictures log
on, not its count of batches).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

import gankit
from gankit import arguments
from gankit.errors import BadArgument, ConfigError
from gankit.game import Game
from gankit.losses import GANLoss
from gankit.step import PlayerStep
from gankit.tricks import BUILD_PHASES, INPUT_PHASES
from gankit.values import RunValues

PLAYERS = ("generator", "discriminator")  # the order of configure_optimizers' optimizers
OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]


def _grad_norm(network: nn.Module) -> Tensor:
    grads = [p.grad for p in network.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def _compile_options(compile: bool | Mapping) -> dict | None:
    """torch.compile's keyword arguments (None: no compiling) from True/False or a mapping of them."""
    if isinstance(compile, Mapping):
        return dict(compile)
    if isinstance(compile, bool):
        return {} if compile else None
    raise BadArgument("compile", f"must be true, false or a mapping of torch.compile arguments, got {compile!r}")


def _check_one_replacement(tricks: nn.ModuleDict) -> None:
    """At most one technique may replace each player's adversarial loss."""
    for player in ("generator", "discriminator"):
        replacing = [name for name, t in tricks.items() if getattr(t, f"replaces_{player}_loss")]
        if len(replacing) > 1:
            raise ConfigError(f"trick={' and trick='.join(replacing)} each replace the {player}'s loss; "
                              "choose one of them")


class GAN(pl.LightningModule):
    """Trains `generator` against `discriminator` with `loss` and optional techniques.

    Speed options: `compile` (torch.compile of G and D in place, so checkpoints keep their keys; True or
    torch.compile's arguments) and `channels_last` (the channels-last memory format for 4-D weights and
    image batches).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: GANLoss,
        optimizer_g: OptimizerFactory,
        optimizer_d: OptimizerFactory,
        scheduler_g: SchedulerFactory | None = None,
        scheduler_d: SchedulerFactory | None = None,
        tricks: nn.ModuleDict | None = None,
        d_steps: int = 1,
        g_steps: int = 1,
        compile: bool | Mapping = False,
        channels_last: bool = False,
    ):
        super().__init__()
        d_steps = arguments.integer("d_steps", d_steps, at_least=1)
        g_steps = arguments.integer("g_steps", g_steps, at_least=1)
        for name, factory in (("optimizer_g", optimizer_g), ("optimizer_d", optimizer_d),
                              ("scheduler_g", scheduler_g), ("scheduler_d", scheduler_d)):
            arguments.factory(name, factory)  # None: built by hand, without training (or no scheduler)
        optimizer_g, optimizer_d = map(arguments.floats_where_meant, (optimizer_g, optimizer_d))  # betas: [0, 0.9]
        arguments.boolean("channels_last", channels_last)
        self.automatic_optimization = False
        self.tricks = tricks if tricks is not None else nn.ModuleDict()
        _check_one_replacement(self.tricks)
        for trick in sorted(self.tricks.values(), key=lambda t: BUILD_PHASES.index(t.build_phase)):
            generator, discriminator = trick.build(generator, discriminator)
        self._input_transforms = sorted(self.tricks.values(), key=lambda t: INPUT_PHASES.index(t.input_phase))
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        self._discriminator_loss: Callable | None = None  # the loss with the tricks' wraps, once fitting starts
        self.game = Game(self)  # what the tricks see of this module
        self.latent_dim: int = generator.latent_dim
        self.d_steps, self.g_steps = int(d_steps), int(g_steps)
        self._factories = (optimizer_g, optimizer_d, scheduler_g, scheduler_d)
        self.compile_options, self.channels_last = _compile_options(compile), bool(channels_last)
        self.d_updates = 0  # D updates so far = batches so far; checkpointed, so resuming keeps the k:1 rhythm
        self.logs_this_batch = True  # whether this batch's values go to the loggers (see logging_batch)
        self.measures_this_batch = True  # whether this batch measures mean D(x) and the gradient norms
        self.batch_values: dict[str, Tensor] = {}  # this batch's training values, detached: train/<name>
        self.values = RunValues()  # the run's latest values: these on logging batches, the evaluation's, ...
        self.config: dict | None = None  # the run's config (gankit.run.build_gan sets it): saved in checkpoints

    # --- sampling -----------------------------------------------------------------------

    def noise(self, n: int) -> Tensor:
        """z ~ N(0, I): [n, latent_dim] on the module's device."""
        return torch.randn(n, self.latent_dim, device=self.device)

    @property
    def generator_for_evaluation(self) -> nn.Module:
        """The network that samples, figures, metrics and pictures use: G, or a technique's (an average of G)."""
        chosen = [g for g in (t.evaluation_generator() for t in self.tricks.values()) if g is not None]
        return chosen[0] if chosen else self.generator

    @property
    def evaluated_generator_name(self) -> str:
        """'generator', or the name of the technique whose generator is evaluated."""
        names = [n for n, t in self.tricks.items() if t.evaluation_generator() is not None]
        return names[0] if names else "generator"

    @torch.no_grad()
    def sample(self, n: int, noise: Tensor | None = None) -> Tensor:
        """n generated samples [n, *data_shape] from the generator for evaluation, in eval mode."""
        z = self.noise(n) if noise is None else noise.to(self.device)
        generator = self.generator_for_evaluation
        was_training = generator.training
        generator.eval()
        try:
            return generator(z)
        finally:
            generator.train(was_training)

    # --- the one path to D ----------------------------------------------------------------

    def discriminate(self, x: Tensor, parameters: Mapping[str, Tensor] | None = None,
                     keep_state: bool = False) -> tuple[Tensor, Tensor]:
        """D's (logits [P], features [P, F]) on x [B, *data_shape] after every technique's input transform
        (P = B unless D scores groups). `parameters`: D's parameters to use instead of its own (by name, as
        torch.func.functional_call takes them); `keep_state`: D's buffers (BatchNorm statistics, power
        iterations) are left as they were."""
        for trick in self._input_transforms:
            x = trick.discriminator_input(x)
        if parameters is None and not keep_state:
            return self.discriminator(x)
        tensors = dict(parameters) if parameters is not None else dict(self.discriminator.named_parameters())
        buffers = self.discriminator.named_buffers()
        tensors.update({n: b.clone() if keep_state else b for n, b in buffers})
        return torch.func.functional_call(self.discriminator, tensors, (x,))

    @property
    def scores_points(self) -> bool:
        """Whether D(x) of a single point exists (a D that scores groups of samples has none)."""
        return all(t.scores_points for t in self.tricks.values())

    @torch.no_grad()
    def discriminator_probability(self, x: Tensor) -> Tensor:
        """sigmoid(D(x)) [N] in eval mode, on the CPU; refused when D scores groups, not points."""
        if not self.scores_points:
            raise ValueError("D scores groups of samples here, so it has no per-point D(x)")
        was_training = self.discriminator.training
        self.discriminator.eval()
        try:
            logits, _ = self.discriminate(x.to(self.device))
            return torch.sigmoid(logits).flatten().cpu()
        finally:
            self.discriminator.train(was_training)

    def evaluate_techniques(self) -> dict[str, float]:
        """What the techniques measure themselves at an evaluation, {name: value} (most have nothing)."""
        values: dict[str, float] = {}
        for trick in self.tricks.values():
            values.update(trick.evaluate(self.game))
        return values

    def technique_protocols(self) -> dict:
        """How the techniques measured what `evaluate_techniques` returned, {name: protocol}."""
        protocols = {}
        for technique in self.tricks.values():
            protocols.update(technique.evaluation_protocol())
        return protocols

    # --- Lightning hooks ----------------------------------------------------------------

    def configure_model(self) -> None:
        for network in (self.generator, self.discriminator):
            if self.channels_last:
                network.to(memory_format=torch.channels_last)  # 4-D weights only
            if self.compile_options is not None:
                network.compile(**self.compile_options)  # nn.Module.compile: state_dict keys unchanged

    def configure_optimizers(self):
        optimizer_g, optimizer_d, scheduler_g, scheduler_d = self._factories
        opt_g = optimizer_g(self.generator.parameters())
        opt_d = optimizer_d(self.discriminator.parameters())
        schedulers = [f(o) for f, o in ((scheduler_g, opt_g), (scheduler_d, opt_d)) if f]
        return [opt_g, opt_d], schedulers

    def optimizer_of(self, player: str) -> torch.optim.Optimizer:
        """The torch optimizer of 'generator' or 'discriminator' (as configure_optimizers made them)."""
        return self.optimizers(use_pl_optimizer=False)[PLAYERS.index(player)]

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's loss: the loss option's, wrapped by the tricks (Trick.wrap_discriminator_loss)."""
        return (self._discriminator_loss or self.loss.discriminator_loss)(real_logits, fake_logits)

    def on_fit_start(self) -> None:
        loss = self.loss.discriminator_loss
        for trick in self.tricks.values():
            trick.setup(self.game)
            loss = trick.wrap_discriminator_loss(loss)
        self._discriminator_loss = loss

    def logging_batch(self) -> bool:
        """Whether the loggers receive this batch's values: Lightning's rule (every `log_every_n_steps`-th batch,
        counted over the run, and when the trainer is asked to stop), from the GAN's own batch count."""
        every = self.trainer.log_every_n_steps
        return (every > 0 and (self.d_updates + 1) % every == 0) or self.trainer.should_stop

    def last_batch(self, g_follows: bool) -> bool:
        """Whether the run ends after this batch (max_steps reached, or the last batch of the last epoch)."""
        trainer = self.trainer
        if trainer.max_steps > 0 and self.global_step + 1 + (self.g_steps if g_follows else 0) >= trainer.max_steps:
            return True
        last_epoch = trainer.max_epochs is not None and 0 < trainer.max_epochs <= trainer.current_epoch + 1
        return last_epoch and trainer.is_last_batch

    def training_step(self, real: Tensor, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        if self.channels_last and real.dim() == 4:
            real = real.contiguous(memory_format=torch.channels_last)  # [B, C, H, W], NHWC in memory
        g_follows = (self.d_updates + 1) % self.d_steps == 0
        batch_size = real.shape[0]
        self.logs_this_batch, self.batch_values = self.logging_batch(), {}
        self.measures_this_batch = self.logs_this_batch or self.last_batch(g_follows)
        # One G forward serves both this D update (detached) and the first G update.
        with torch.set_grad_enabled(g_follows):
            fake = self.generator(self.noise(batch_size))  # [B, *data_shape]
        self._discriminator_update(real, fake.detach(), opt_d)
        self.d_updates += 1
        for i in range(self.g_steps if g_follows else 0):
            if i > 0:
                fake = self.generator(self.noise(batch_size))
            self._generator_update(real, fake, opt_g)
        if self.logs_this_batch:  # the loggers' step: optimizer steps after this batch, as evaluations log them
            self.log("step", float(self.global_step))
            self.values.publish(self.batch_values)  # what the loggers received, for the curves

    def on_train_epoch_end(self) -> None:
        schedulers = self.lr_schedulers()  # None, one scheduler or a list
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            if scheduler is not None:
                scheduler.step()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["d_updates"] = self.d_updates
        if self.config is not None:  # what evaluate.py and sample.py rebuild the run from
            checkpoint["config"] = self.config
            checkpoint["gankit_version"] = gankit.__version__

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.d_updates = checkpoint.get("d_updates", 0)

    # --- the two players' updates -------------------------------------------------------

    def _discriminator_update(self, real: Tensor, fake: Tensor, opt) -> None:
        with self.toggled_optimizer(opt):  # G frozen
            real_logits, real_features = self.discriminate(real)  # [P], [P, F]
            fake_logits, fake_features = self.discriminate(fake)
            step = PlayerStep(game=self.game, real=real, fake=fake, fake_logits=fake_logits,
                              fake_features=fake_features, real_logits=real_logits, real_features=real_features)
            replaced = any(t.replaces_discriminator_loss for t in self.tricks.values())
            loss = real_logits.new_zeros(()) if replaced else self.discriminator_loss(real_logits, fake_logits)
            loss = self._with_terms(loss, "discriminator_term", step)
            grad_norm = self._backward_and_step(loss, opt, self.discriminator)
        self._after_step("discriminator", self.discriminator)
        values = {"train/d_loss": loss.detach()}
        if self.measures_this_batch:
            values.update({"train/d_real": torch.sigmoid(real_logits).mean().detach(),
                           "train/d_fake": torch.sigmoid(fake_logits).mean().detach()})
            self.batch_values["train/grad_norm_d"] = grad_norm
        self.batch_values.update(values)
        if self.logs_this_batch:
            self.log_dict(values, prog_bar=True)
            self.log("train/grad_norm_d", grad_norm)

    def _generator_update(self, real: Tensor, fake: Tensor, opt) -> None:
        with self.toggled_optimizer(opt):  # D frozen: no grads for it
            fake_logits, fake_features = self.discriminate(fake)
            step = PlayerStep(game=self.game, real=real, fake=fake, fake_logits=fake_logits,
                              fake_features=fake_features)
            replaced = any(t.replaces_generator_loss for t in self.tricks.values())
            loss = fake_logits.new_zeros(()) if replaced else self.loss.generator_loss(fake_logits)
            loss = self._with_terms(loss, "generator_term", step)
            grad_norm = self._backward_and_step(loss, opt, self.generator)
        self._after_step("generator", self.generator)
        self.batch_values["train/g_loss"] = loss.detach()
        if self.measures_this_batch:
            self.batch_values["train/grad_norm_g"] = grad_norm
        if self.logs_this_batch:
            self.log("train/g_loss", loss.detach(), prog_bar=True)
            self.log("train/grad_norm_g", grad_norm)

    def _with_terms(self, loss: Tensor, hook: str, step: PlayerStep) -> Tensor:
        """The loss plus the techniques' terms; the loss itself when there are none (no tensor ops)."""
        terms = self._extra_terms(hook, step)
        return loss + sum(terms[1:], terms[0]) if terms else loss

    def _extra_terms(self, hook: str, step: PlayerStep) -> list[Tensor]:
        """The techniques' additional loss terms for one player (hook: 'generator_term' or 'discriminator_term')."""
        terms = (getattr(trick, hook)(step) for trick in self.tricks.values())
        return [term for term in terms if term is not None]

    def _backward_and_step(self, loss: Tensor, opt, network: nn.Module) -> Tensor | None:
        """Backward and step for one player (its optimizer toggled); the norm of its gradients (None on a batch
        that does not measure it)."""
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        self._stepping = "generator" if network is self.generator else "discriminator"  # (a module attribute
        # would become a submodule, saved twice)
        opt.step()  # measures the gradients' norm in on_before_optimizer_step
        return self._step_grad_norm

    def on_before_optimizer_step(self, optimizer) -> None:
        """The norm of the stepping player's true gradients: under precision=16-mixed Lightning's scaler unscales
        them before this hook, except for an optimizer that unscales inside its own step (fused Adam), whose
        gradients are divided by the scale here; ~50 us on the CPU, no device sync."""
        if not self.measures_this_batch:
            self._step_grad_norm = None
            return
        norm = _grad_norm(getattr(self, self._stepping))
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        if scaler is not None and scaler.is_enabled() and getattr(optimizer, "_step_supports_amp_scaling", False):
            norm = norm / scaler.get_scale()
        self._step_grad_norm = norm

    def _after_step(self, player: str, network: nn.Module) -> None:
        """The tricks' reaction to `player`'s step (running averages), once the other player is unfrozen again."""
        for trick in self.tricks.values():
            trick.after_step(player, network)
