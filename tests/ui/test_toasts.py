"""Toasts never stack up over the panes: the newest few show, and a session's steps
speak through the Session pane, not one toast each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets._toast import Toast
from ui_helpers import ROOT, drive, fill, messages, open_form, settle, submit, wait_until

from workbench.ui.app import WorkbenchApp


def toasts(app: WorkbenchApp) -> list[str]:
    return [str(t.render()) for t in app.screen.query(Toast)]


def test_a_burst_of_notifications_shows_the_newest_two_at_80x24(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        for i in range(5):
            app.notify(f"notice {i}")
        await wait_until(pilot, lambda: any("notice 4" in t for t in toasts(app)),
                         what="the newest toast")
        await settle(pilot)
        shown = toasts(app)
        assert len(shown) == 2 and "notice 3" in shown[0] and "notice 4" in shown[1], shown
        assert messages(app)[-5:] == [f"notice {i}" for i in range(5)]  # all kept

    drive(app, scenario, size=(80, 24))


def test_run_all_shows_the_summary_not_a_toast_per_step(
        app: WorkbenchApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)

    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "ctrl+o", "Open a session")
        await fill(pilot, form, path=str(Path("sessions") / "connect-refused.json"))
        await submit(pilot, form)
        await wait_until(pilot, lambda: app.stepper is not None, what="the session")
        before = len(messages(app))
        await pilot.press("f8")
        await wait_until(pilot, lambda: app.stepper is not None and app.stepper.done,
                         timeout=10, what="run all to finish")
        await wait_until(pilot, lambda: any(m.startswith("session finished")
                                            for m in messages(app)), what="the summary")
        await settle(pilot)
        during = messages(app)[before:]
        assert len(during) == 1 and during[0].startswith("session finished"), during

    drive(app, scenario, size=(80, 24))
