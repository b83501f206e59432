"""Semi-supervised learning with a GAN (Salimans et al. 2016, Sec. 5): D is a K-class classifier whose
probability of "real" is D(x) = Z(x) / (Z(x) + 1), Z(x) = sum_k exp(l_k(x)).

This is the (K+1)-class classifier with the (K+1)-th ("generated") logit fixed at 0. D's real/fake logit is
therefore log Z(x) = logsumexp_k l_k(x) (sigmoid(log Z) = Z / (Z + 1)), computed stably, and the GAN's own
loss on it is the unsupervised loss: with the non-saturating loss, softplus(-lse l(x)) on real data and
softplus(lse l(G(z))) on generated data, twice the authors' loss_unl (openai/improved-gan). The supervised
loss is cross-entropy over the K logits on a labelled batch drawn alongside every D update from a small
labelled subset (`per_class` examples of each class, drawn with `label_seed`); the whole training split
serves as unlabelled data, as in the authors' code. `gan=false` is the supervised baseline: the same D
trained on the labelled subset only (D's adversarial loss is dropped). The test error of D's classifier
on the test split is measured at every evaluation, with D's current weights and with a running average of
them (`average_decay`: 0.9999, i.e. 1e-4 a D step, as the authors measure it).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import get_ema_multi_avg_fn

from gankit import arguments
from gankit.data.labelled import CyclingBatches, labelled_subset
from gankit.errors import BadArgument, ConfigError
from gankit.tricks import Trick

if TYPE_CHECKING:
    from gankit.game import Game
    from gankit.step import PlayerStep


def real_logit(class_logits: Tensor) -> Tensor:
    """log Z = logsumexp_k l_k over the last dim: [..., K] -> [...]; sigmoid of it is Z / (Z + 1)."""
    return torch.logsumexp(class_logits, dim=-1)


class ClassLogits(nn.Module):
    """Wraps a D whose head gives K logits: returns (log Z [B], features [B, F]), or inside `classes()`
    (class logits [B, K], features [B, F])."""

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.inner = discriminator
        self.classifying = False

    @contextlib.contextmanager
    def classes(self):
        self.classifying = True
        try:
            yield
        finally:
            self.classifying = False

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        class_logits, features = self.inner(x)  # [B, K], [B, F]
        return (class_logits if self.classifying else real_logit(class_logits)), features


def widen_head(discriminator: nn.Module, num_classes: int) -> None:
    """D's head ends in Linear(F, 1): replace that last Linear by Linear(F, K) (weights drawn with the old
    layer's weight std, bias 0)."""
    head = getattr(discriminator, "head", None)
    linears = [(n, m) for n, m in head.named_modules() if isinstance(m, nn.Linear)] if head is not None else []
    if not linears or linears[-1][1].out_features != 1:
        raise ConfigError("trick=semi_supervised needs a discriminator whose `head` ends in one Linear output "
                          "(gankit's MLP and DCGAN discriminators)")
    name, old = linears[-1]
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    with torch.no_grad():
        new.weight.normal_(0.0, float(old.weight.std()))
        if new.bias is not None:
            new.bias.zero_()
    if name:
        parent, _, child = name.rpartition(".")
        setattr(head.get_submodule(parent), child, new)
    else:
        discriminator.head = new


def _key(name: str) -> str:
    return name.replace(".", "__")  # buffer names cannot contain dots


class ParameterAverage(nn.Module):
    """An exponential moving average of a network's parameters, as buffers (created on the first update, after
    every build hook, so reparametrised layers are averaged in their own parameters)."""

    def __init__(self, decay: float):
        super().__init__()
        self.decay = float(decay)
        self.names: list[str] = []

    @torch.no_grad()
    def update(self, network: nn.Module) -> None:
        named = list(network.named_parameters())
        if not self.names:
            for name, parameter in named:
                self.register_buffer(_key(name), parameter.detach().clone())
            self.names = [name for name, _ in named]
            return
        averages = [getattr(self, _key(name)) for name, _ in named]
        # PyTorch's EMA step, one foreach lerp: average += (1 - decay) (p - average)
        get_ema_multi_avg_fn(self.decay)(averages, [p.detach() for _, p in named], None)

    def parameters_by_name(self) -> dict[str, Tensor] | None:
        """{parameter name: average}, None before the first update."""
        return {name: getattr(self, _key(name)) for name in self.names} or None

    def get_extra_state(self) -> dict:
        return {"names": list(self.names)}

    def set_extra_state(self, state: dict) -> None:
        self.names = list(state["names"])

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        names = state_dict.get(f"{prefix}_extra_state", {}).get("names", [])
        for name in names:  # averages saved by a run that had updated them
            key = _key(name)
            if not hasattr(self, key):
                self.register_buffer(key, torch.empty_like(state_dict[prefix + key]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class SemiSupervised(Trick):
    """D with K class logits, its supervised loss on the labelled subset and its test error (see the module)."""

    build_phase = "reshape"  # the head is replaced before reparametrisations (weight/spectral norm) wrap its layers

    def __init__(self, num_classes: int = 10, per_class: int = 10, label_seed: int = 0, batch_size: int = 100,
                 weight: float = 1.0, gan: bool = True, average_decay: float | None = 0.9999,
                 eval_batch: int = 1000):
        super().__init__()
        self.num_classes = arguments.integer("num_classes", num_classes, at_least=2)
        self.per_class = arguments.integer("per_class", per_class, at_least=1)
        self.label_seed = arguments.integer("label_seed", label_seed, at_least=0)
        self.batch_size = arguments.integer("batch_size", batch_size, at_least=1)
        self.eval_batch = arguments.integer("eval_batch", eval_batch, at_least=1)
        self.weight = arguments.number("weight", weight, above=0.0)
        arguments.optional(arguments.number, "average_decay", average_decay, above=0.0, below=1.0)
        self.gan = arguments.boolean("gan", gan)
        self.replaces_discriminator_loss = not self.gan  # the supervised baseline: D's loss is the term alone
        self.average = ParameterAverage(average_decay) if average_decay is not None else None
        self._labelled: tuple[Tensor, Tensor] | None = None  # images [n K, ...], labels [n K] on the device
        self._test: tuple[Tensor, Tensor] | None = None  # images [M, ...], labels [M] on the CPU
        self._batches: CyclingBatches | None = None
        self._protocol: dict = {}

    def build(self, generator: nn.Module, discriminator: nn.Module) -> tuple[nn.Module, nn.Module]:
        widen_head(discriminator, self.num_classes)
        return generator, ClassLogits(discriminator)

    # --- data -------------------------------------------------------------------------------

    def setup(self, game: Game) -> None:
        datamodule = game.data
        if not all(hasattr(datamodule, k) for k in ("train_labels", "test_images", "test_labels")):
            raise ConfigError("trick=semi_supervised needs labelled data (dataset=digits, mnist, fashion_mnist, "
                              f"cifar10 or svhn); {type(datamodule).__name__} has no labels")
        if not game.scores_points:
            raise ConfigError("trick=semi_supervised classifies single samples, but D scores groups of samples "
                              "here (trick=pacgan); choose one of them")
        self.use_data(datamodule.train_examples, datamodule.train_labels, datamodule.test_images,
                      datamodule.test_labels, game.device, rank=game.rank)
        self._protocol = {"test_error": {
            "metric": "% of test images whose largest of D's class logits is not their label",
            "classifier": (f"D with a running average of its parameters (decay {self.average.decay} a D step); "
                           "test_error_raw: D's current parameters") if self.average else "D's current parameters",
            "labels_per_class": self.per_class, "labelled_examples": len(self._labelled[1]),
            "label_seed": self.label_seed, "num_classes": self.num_classes,
            "test_split": getattr(datamodule, "test_split_description", "the dataset's test split"),
            "test_size": len(self._test[1]),
            "unlabelled": f"the whole training split ({len(datamodule.train_labels)} images, labels unused)",
            "gan": self.gan,
        }}

    def use_data(self, train_examples: Callable[[Tensor], Tensor], train_labels: Tensor, test_images: Tensor,
                 test_labels: Tensor, device: torch.device | str = "cpu", rank: int = 0) -> None:
        """Draw the labelled subset from the training split (`train_examples(index)`: the training images at
        `index`); keep the test split for `evaluate`."""
        try:
            index = labelled_subset(train_labels, self.num_classes, self.per_class, self.label_seed)
        except BadArgument as error:  # about this technique's arguments, found when the data is known
            error.owner = self
            raise
        self._labelled = (train_examples(index).to(device), train_labels.cpu()[index].to(device))
        self._test = (test_images.cpu(), test_labels.cpu().long())
        self._batches = CyclingBatches(len(index), self.batch_size, seed=torch.initial_seed(), rank=rank)

    def labelled_batch(self, u: int) -> tuple[Tensor, Tensor]:
        """The u-th labelled batch: images [B, ...] and labels [B], from the labelled subset only."""
        images, labels = self._labelled
        index = self._batches.indices(u)  # [B] on the CPU
        if labels.is_cuda:  # from pinned memory the copy below does not wait for the GPU
            index = index.pin_memory()
        index = index.to(labels.device, non_blocking=True)
        return images[index], labels[index].long()

    # --- training ---------------------------------------------------------------------------

    @staticmethod
    def _wrapper(game: Game) -> ClassLogits:
        return next(m for m in game.discriminator.modules() if isinstance(m, ClassLogits))

    def discriminator_term(self, step: PlayerStep) -> Tensor:
        images, labels = self.labelled_batch(step.game.d_updates)
        with self._wrapper(step.game).classes():
            class_logits, _ = step.game.discriminate(images)  # [B, K]
        return self.weight * F.cross_entropy(class_logits, labels)

    def after_step(self, player: str, network: nn.Module) -> None:
        if player == "discriminator" and self.average is not None:
            self.average.update(network)

    # --- evaluation -------------------------------------------------------------------------

    @torch.no_grad()
    def test_error(self, game: Game, parameters: dict[str, Tensor] | None = None) -> float:
        """% of the test split misclassified by D (eval mode: no noise, no augmentation), with `parameters`
        instead of D's own when given."""
        images, labels = self._test
        wrong = 0
        with game.in_eval_mode(), self._wrapper(game).classes():
            for start in range(0, len(labels), self.eval_batch):
                x = images[start:start + self.eval_batch].to(game.device)
                class_logits, _ = game.discriminate(x, parameters=parameters, keep_state=True)  # [b, K]
                wrong += int((class_logits.argmax(1).cpu() != labels[start:start + self.eval_batch]).sum())
        return 100.0 * wrong / len(labels)

    def evaluate(self, game: Game) -> dict[str, float]:
        if self._test is None:
            return {}
        raw = self.test_error(game)
        if self.average is None:
            return {"test_error": raw}
        averaged = self.average.parameters_by_name()
        return {"test_error": self.test_error(game, averaged) if averaged else raw, "test_error_raw": raw}

    def evaluation_protocol(self) -> dict:
        return copy.deepcopy(self._protocol)
