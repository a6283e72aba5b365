"""A failed step's notification says what the error means for that call and what to
try, as `workbench errno` does; a cancelled call says it was cancelled."""

from __future__ import annotations

import socket
from typing import Any

from textual.pilot import Pilot
from ui_helpers import drive, fill, log_text, messages, open_form, submit, wait_until

from workbench.core.steps import Step
from workbench.ui.app import WorkbenchApp
from workbench.ui.widgets.event_log import EventLog


def user_steps(app: WorkbenchApp, op: str) -> list[Step]:
    return [s for s in app.main.ws.session.steps if s.op == op and not s.auto]


async def new_socket(pilot: Pilot[Any]) -> int:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await submit(pilot, await open_form(pilot, "n", "New socket"))
    await wait_until(pilot, lambda: bool(user_steps(app, "socket")), what="socket()")
    sock = int(user_steps(app, "socket")[-1].result["sock"])  # type: ignore[index]
    await wait_until(pilot, lambda: app.main.selected == sock, what="the new socket selected")
    return sock


async def address_step(pilot: Pilot[Any], key: str, op: str, address: str) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    form = await open_form(pilot, key, op.capitalize())
    await fill(pilot, form, address=address)
    await submit(pilot, form)
    await wait_until(pilot, lambda: bool(user_steps(app, op)), what=f"{op}({address})")


def notified(app: WorkbenchApp, *parts: str) -> bool:
    return any(all(p in m for p in parts) for m in messages(app))


def test_refused_connect_notification_carries_the_hint(app: WorkbenchApp) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening: a connect is refused
        port = held.getsockname()[1]

        async def scenario(pilot: Pilot[Any]) -> None:
            await new_socket(pilot)
            await address_step(pilot, "c", "connect", f"127.0.0.1:{port}")
            assert user_steps(app, "connect")[-1].error.name == "ECONNREFUSED"  # type: ignore[union-attr]
            await wait_until(pilot, lambda: notified(app, "ECONNREFUSED —", "try: start a "
                                                     "listener"), what="the hint in the toast")
            log = app.main.query_one(EventLog)
            await pilot.press("2")
            await wait_until(pilot, lambda: "ECONNREFUSED" in log_text(log), what="the log")
            assert "Unix path" not in log_text(log)  # the meaning for an inet connect

        drive(app, scenario, size=(120, 40))


def test_cancelled_accept_says_you_cancelled_it(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await new_socket(pilot)
        await address_step(pilot, "b", "bind", "127.0.0.1:0")
        await submit(pilot, await open_form(pilot, "l", "Listen"))
        await wait_until(pilot, lambda: bool(user_steps(app, "listen")), what="listen")
        await pilot.press("u")  # manual: no auto-accept
        await wait_until(pilot, lambda: bool(user_steps(app, "set_auto")), what="manual mode")
        await pilot.press("a")
        await wait_until(pilot, lambda: app.main.ws.engine.socket_info(sock).pending == "accept",
                         what="accept in progress")
        await pilot.press("escape")
        await wait_until(pilot, lambda: bool(user_steps(app, "accept")), what="the cancel")
        assert user_steps(app, "accept")[-1].error.name == "EINTR"  # type: ignore[union-attr]
        await wait_until(pilot, lambda: notified(app, "EINTR — you cancelled the call"),
                         what="the cancel in the toast")
        assert not notified(app, "EINTR", "signal interrupted")

    drive(app, scenario, size=(120, 40))


def test_a_failed_non_blocking_connect_is_explained_in_the_log(app: WorkbenchApp) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening: the connect is refused
        port = held.getsockname()[1]

        async def scenario(pilot: Pilot[Any]) -> None:
            await new_socket(pilot)
            await pilot.press("k")  # non-blocking
            await wait_until(pilot, lambda: bool(user_steps(app, "set_blocking")),
                             what="non-blocking mode")
            await address_step(pilot, "c", "connect", f"127.0.0.1:{port}")
            log = app.main.query_one(EventLog)
            await pilot.press("2")
            await wait_until(pilot, lambda: "connect failed: ECONNREFUSED nothing accepts"
                             in log_text(log), what="the SO_ERROR read explained")
            await wait_until(pilot, lambda: notified(app, "ECONNREFUSED — nothing accepts",
                                                     "try: start a listener"),
                             what="the toast for the connect that failed")

        drive(app, scenario, size=(120, 40))
