"""The bridge from engine threads to the UI loop: what a drain hands over, and how often."""

from __future__ import annotations

import time

from workbench.core.steps import Step
from workbench.io.engine import SocketChanged, StepDone
from workbench.ui.messages import EngineBridge


def test_a_sockets_changes_come_once_after_its_steps() -> None:
    posted: list[object] = []
    bridge = EngineBridge(posted.append, min_interval=0.0)
    steps = [StepDone(Step("recv", 1)), StepDone(Step("recv", 2)), StepDone(Step("recv", 1))]
    for event in (steps[0], SocketChanged(1), steps[1], SocketChanged(2), steps[2],
                  SocketChanged(1)):
        bridge(event)
    assert bridge.drain() == [*steps, SocketChanged(1), SocketChanged(2)]
    assert bridge.drain() == []
    assert len(posted) == 1  # one message in flight until the drain


def test_a_flood_is_drained_less_often_and_a_quiet_spell_at_once() -> None:
    posted: list[object] = []
    bridge = EngineBridge(posted.append, min_interval=0.05, busy_interval=2.0, busy_events=30)
    for n in range(50):  # a flood: a drain this big stretches the interval
        bridge(StepDone(Step("recv", 1, t=n)))
    assert len(bridge.drain()) == 50
    deadline = time.monotonic() + 0.2  # well past min_interval, well short of busy_interval
    while time.monotonic() < deadline:
        bridge(StepDone(Step("recv", 1)))
        assert not bridge.due()
        time.sleep(0.01)
    assert len(posted) == 1
    assert len(bridge.drain()) < 30  # fewer events now: back to the short interval
    time.sleep(0.06)
    bridge(StepDone(Step("recv", 1)))
    assert len(posted) == 2


def test_under_a_flood_the_screen_hears_of_it_twice_a_second() -> None:
    """The app's bridge as made (its defaults): a drain of a flood holds the next one
    back half a second, each refresh being time the receiving threads lose."""
    posted: list[object] = []
    bridge = EngineBridge(posted.append)
    for n in range(500):
        bridge(StepDone(Step("recv", 1, t=n)))
    bridge.drain()
    drained = time.monotonic()
    while not bridge.due():  # the flood goes on
        bridge(StepDone(Step("recv", 1)))
        time.sleep(0.01)
        assert time.monotonic() - drained < 5
    assert time.monotonic() - drained >= 0.45
    assert len(posted) == 1  # nothing posted meanwhile either
