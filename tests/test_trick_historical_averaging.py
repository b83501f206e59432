"""Historical averaging: 0 at the first step, grows away from the history, running means checkpointed."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.run import build_run
from gankit.step import PlayerStep
from gankit.tricks.historical_averaging import HistoricalAveraging


def step_of(generator, discriminator):
    game = SimpleNamespace(generator=generator, discriminator=discriminator)  # what the trick reads of a Game
    return PlayerStep(game=game, real=None, fake=None, fake_logits=None, fake_features=None)


def test_zero_at_the_first_step_with_zero_gradient():
    g, d = nn.Linear(3, 2), nn.Linear(2, 1)
    technique = HistoricalAveraging(weight=0.5)
    for penalty in (technique.generator_term(step_of(g, d)), technique.discriminator_term(step_of(g, d))):
        assert penalty.item() == 0.0
        penalty.backward()
    assert all(p.grad.abs().sum() == 0 for p in [*g.parameters(), *d.parameters()])


def test_it_grows_as_parameters_move_away_from_their_history():
    g = nn.Linear(3, 2)
    technique = HistoricalAveraging(weight=0.5, players=["generator"])
    technique.generator_term(step_of(g, None))  # the history starts at theta_0
    penalties = []
    for _ in range(3):
        with torch.no_grad():
            for p in g.parameters():
                p.add_(0.1)
        penalties.append(technique.generator_term(step_of(g, None)).item())
    n = sum(p.numel() for p in g.parameters())
    assert penalties == pytest.approx([0.5 * n * 0.1**2, 0.5 * n * 0.2**2, 0.5 * n * 0.3**2], rel=1e-4)


def test_the_history_is_the_mean_of_all_past_parameters():
    g = nn.Linear(3, 2)
    technique = HistoricalAveraging(weight=1.0, players=["generator"])
    technique.generator_term(step_of(g, None))
    seen = [g.weight.detach().clone()]
    for _ in range(4):
        with torch.no_grad():
            g.weight.add_(torch.randn_like(g.weight))
        technique.after_step("generator", g)
        technique.after_step("discriminator", g)  # not a chosen player: ignored
        seen.append(g.weight.detach().clone())
    history = technique.history["generator"]
    assert history.count.item() == 5
    assert torch.allclose(history.weight, torch.stack(seen).mean(0), atol=1e-6)
    expected = ((g.weight - history.weight) ** 2).sum() + ((g.bias - history.bias) ** 2).sum()
    assert technique.generator_term(step_of(g, None)).item() == pytest.approx(expected.item())


def test_players_are_chosen_by_config():
    technique = HistoricalAveraging(players=["discriminator"])
    assert technique.generator_term(step_of(nn.Linear(1, 1), None)) is None
    with pytest.raises(ConfigError, match="players among generator, discriminator, got .*players=\\['critic'\\]"):
        HistoricalAveraging(players=["critic"])


def test_the_running_means_load_into_a_fresh_technique():
    g = nn.Sequential(nn.Linear(3, 2))
    old = HistoricalAveraging(players=["generator"])
    old.generator_term(step_of(g, None))
    old.after_step("generator", nn.Sequential(nn.Linear(3, 2)))
    new = HistoricalAveraging(players=["generator"])
    new.load_state_dict(old.state_dict())  # strict: the means are created from the checkpoint
    assert set(new.state_dict()) == set(old.state_dict()) and "history.generator.0__weight" in new.state_dict()
    assert all(torch.equal(a, b) for a, b in zip(old.state_dict().values(), new.state_dict().values(), strict=True))


def test_a_loaded_history_goes_on_from_its_own_count():
    """t lives in a buffer and, for the hot path (no read from the GPU), in a Python int: a load resets the int."""
    g = nn.Linear(3, 2)
    seen = []
    old = HistoricalAveraging(players=["generator"])
    for _ in range(3):
        with torch.no_grad():
            g.weight.add_(torch.randn_like(g.weight))
        old.after_step("generator", g)
        seen.append(g.weight.detach().clone())
    new = HistoricalAveraging(players=["generator"])
    new.after_step("generator", nn.Linear(3, 2))  # its own t = 1 before the load
    new.load_state_dict(old.state_dict())
    with torch.no_grad():
        g.weight.add_(1.0)
    new.after_step("generator", g)
    seen.append(g.weight.detach().clone())
    assert new.history["generator"].count.item() == 4
    assert torch.allclose(new.history["generator"].weight, torch.stack(seen).mean(0), atol=1e-6)


def test_a_run_checkpoints_and_resumes_the_history(make_config, tmp_path):
    small = ["metrics=none", "trick=historical_averaging", "model=mlp", "dataset=ring", "dataset.batch_size=8",
             "model.generator.hidden=[8]", "model.discriminator.hidden=[8]", "+dataset.samples.figure.resolution=10"]
    trainer, gan, data = build_run(make_config(*small, "trainer.max_steps=4"))
    trainer.fit(gan, datamodule=data)
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    state = torch.load(ckpt, weights_only=False)["state_dict"]
    assert state["tricks.historical_averaging.history.generator.count"] == 3  # theta_0 and 2 G steps
    mean = state["tricks.historical_averaging.history.discriminator.body__1__weight"]
    trainer, gan, data = build_run(make_config(*small, "trainer.max_steps=6"))
    trainer.fit(gan, datamodule=data, ckpt_path=str(ckpt))
    history = gan.tricks["historical_averaging"].history
    assert history["generator"].count == 4 and history["discriminator"].count == 4
    # The resumed mean continued from the saved one: mean_4 = (3 mean_3 + theta_4) / 4.
    theta = gan.discriminator.body[1].weight.detach()
    assert torch.allclose(history["discriminator"].body__1__weight, (3 * mean + theta) / 4, atol=1e-6)
