"""The export screen on a live session: C, Python and findings previewed, copied and
saved, each the same text the export functions make from that session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Select
from ui_helpers import drive, messages, wait_until

from workbench.export.c import export_c
from workbench.export.python import export_python
from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.export import ExportScreen
from workbench.ui.screens.form import FormScreen


def a_session(app: WorkbenchApp) -> int:
    ws = app.main.ws
    name = ws.start_peer("echo", "tcp", "")
    sock = ws.call("socket", family="inet", type="stream").result["sock"]
    ws.call("setsockopt", sock, option="SO_RCVBUF", value=8192)
    ws.call("connect", sock, address=f"peer:{name}")
    ws.call("send", sock, data=b"hello\n")
    return sock


async def exported(pilot: Pilot[Any], app: WorkbenchApp) -> ExportScreen:
    screen = app.screen
    assert isinstance(screen, ExportScreen)
    await wait_until(pilot, lambda: screen.text, what="the text made")
    return screen


def test_x_previews_c_and_the_choice_switches_language(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        sock = a_session(app)
        ws = app.main.ws
        await wait_until(pilot, lambda: ws.socket_info(sock).bytes_in == 6, what="the echo")
        await pilot.press("X")
        screen = await exported(pilot, app)
        assert screen.text == export_c(screen.session, "blocking")
        assert "#include" in screen.text
        screen.query_one("#export-lang", Select).value = "Python"
        await wait_until(pilot, lambda: screen.text.startswith("#!"), what="python")
        assert screen.text == export_python(screen.session, "blocking")
        screen.query_one("#export-model", Select).value = "asyncio"
        await wait_until(pilot, lambda: "asyncio" in screen.text and screen.text
                         == export_python(screen.session, "asyncio"), what="asyncio")
        screen.query_one("#export-lang", Select).value = "findings (JSON)"
        await wait_until(pilot, lambda: screen.text.startswith("["), what="findings")
        reports = json.loads(screen.text)
        assert any("SO_RCVBUF" in json.dumps(r) for r in reports)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen),
                         what="closed")

    drive(app, scenario)


def test_copy_and_save_give_the_previewed_text(app: WorkbenchApp, tmp_path: Path) -> None:
    target = tmp_path / "out.c"

    async def scenario(pilot: Pilot[Any]) -> None:
        a_session(app)
        await pilot.press("X")
        screen = await exported(pilot, app)
        await pilot.press("y")
        assert app.clipboard == screen.text
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, target.exists, what="the file")
        assert target.read_text() == screen.text
        assert target.stat().st_mode & 0o777 == 0o600

    drive(app, scenario)


def test_nothing_to_export_says_so(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("X")
        await wait_until(pilot, lambda: any("nothing to export" in m for m in messages(app)),
                         what="the notice")
        assert not isinstance(app.screen, ExportScreen)

    drive(app, scenario)
