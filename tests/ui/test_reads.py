"""Results of reads are shown, not only logged: getsockopt's value in a notification;
and `g` offers to read back the option last set on the socket."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input
from ui_helpers import drive, fill, messages, open_form, submit, wait_until

from workbench.ui.app import WorkbenchApp


def test_g_reads_back_the_option_last_set_and_shows_its_value(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        await wait_until(pilot, lambda: app.main.selected == sock, what="the socket")
        form = await open_form(pilot, "o", "setsockopt")
        await fill(pilot, form, option="SO_KEEPALIVE", value="1")
        await submit(pilot, form)
        await wait_until(pilot, lambda: any(s.op == "setsockopt" for s in ws.steps()),
                         what="setsockopt")
        form = await open_form(pilot, "g", "getsockopt")  # a read first, of another option
        await fill(pilot, form, option="SO_RCVBUF")
        await submit(pilot, form)
        await wait_until(pilot, lambda: any(s.op == "getsockopt" for s in ws.steps()),
                         what="the first getsockopt")
        form = await open_form(pilot, "g", "getsockopt")
        assert form.query_one("#f-option", Input).value == "SO_KEEPALIVE"  # the last set
        await submit(pilot, form)
        line = f"getsockopt(#{sock}, option=SO_KEEPALIVE) → value=1"
        await wait_until(pilot, lambda: any(line in m for m in messages(app)),
                         what="the value in a notification")

    drive(app, scenario)
