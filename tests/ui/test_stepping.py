"""Stepping through a session with F8: a call that was still in progress when later
steps started runs beside them, so the sockets made after it keep their numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from ui_helpers import drive, fill, messages, open_form, submit, wait_until

from workbench.io.workspace import Workspace
from workbench.ui.app import WorkbenchApp


def record_accept_beside_connect(path: Path) -> None:
    """#1 listens and accepts by hand; the accept waits while #2 is made and connects;
    it returns #3; then #4 is made and bound. Saved to `path`."""
    ws = Workspace(None, journal=False)
    try:
        listener = ws.call("socket", family="inet", type="stream", auto=False).result["sock"]
        ws.call("bind", listener, address="127.0.0.1:0")
        ws.call("listen", listener, backlog=4)
        accept = ws.submit("accept", listener)
        client = ws.call("socket", family="inet", type="stream").result["sock"]
        ws.call("connect", client, address=f"sock:{listener}")
        accepted = accept.wait(5.0)
        assert accepted is not None and accepted.result["sock"] == 3  # type: ignore[index]
        last = ws.call("socket", family="inet", type="stream").result["sock"]
        assert last == 4
        ws.call("bind", last, address="127.0.0.1:0")
        ws.save(str(path))
    finally:
        ws.close()


def test_run_all_keeps_socket_numbers_after_an_accept_that_waited(
        app: WorkbenchApp, tmp_path: Path) -> None:
    path = tmp_path / "accept.json"
    record_accept_beside_connect(path)

    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "ctrl+o", "Open a session")
        await fill(pilot, form, path=str(path))
        await submit(pilot, form)
        await wait_until(pilot, lambda: app.stepper is not None, what="the session loaded")
        await pilot.press("f8")
        await wait_until(pilot, lambda: app.stepper is not None and app.stepper.done,
                         timeout=20, what="run all to finish")
        assert app.stepper is not None
        assert app.stepper.ok, app.stepper.mismatches
        live = [s.describe() for s in app.main.ws.steps() if not s.auto]
        assert "accept(#1)" in live and "bind(#4, address=127.0.0.1:0)" in live, live
        await wait_until(pilot, lambda: any(m.startswith("session finished: everything")
                                            for m in messages(app)), what="the summary")

    drive(app, scenario)
