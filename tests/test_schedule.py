"""EveryNSteps fires once per multiple reached, also when a batch advances the step by more than one."""

from gankit.callbacks.schedule import EveryNSteps


def test_fires_once_per_multiple_with_two_steps_a_batch():
    schedule = EveryNSteps(4)
    schedule.start(0)
    assert [s for s in range(2, 17, 2) if schedule.due(s)] == [4, 8, 12, 16]


def test_resumes_from_the_next_multiple_and_zero_never_fires():
    schedule = EveryNSteps(5)
    schedule.start(12)
    assert [s for s in range(13, 26) if schedule.due(s)] == [15, 20, 25]
    assert not any(EveryNSteps(0).due(s) for s in range(10))
