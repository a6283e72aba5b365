"""Produce the README's screenshots from the real app, in stable mode.

Run `python screenshots/make_screenshots.py [SCENE ...]` from the checkout; it writes
SVGs next to this file. Stable mode binds every port as 0, shows each as a fixed fake and
freezes the clock, so a screenshot only changes when the screen does.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from workbench.ui.app import WorkbenchApp
from workbench.ui.stable import REFUSED_PORT

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
Scene = Callable[[WorkbenchApp, Pilot], Awaitable[None]]


async def settle(pilot: Pilot, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await pilot.pause(0.05)
    await pilot.pause(0.3)


def exchanged(app: WorkbenchApp) -> bool:
    return any(s.op == "expect" and s.ok for s in app.main.ws.session.steps)


async def demo(app: WorkbenchApp, pilot: Pilot) -> None:
    await settle(pilot, lambda: exchanged(app))


async def log(app: WorkbenchApp, pilot: Pilot) -> None:
    await demo(app, pilot)
    await pilot.press("2")


async def new_socket(app: WorkbenchApp, pilot: Pilot) -> None:
    await demo(app, pilot)
    await pilot.press("n")


async def refused(app: WorkbenchApp, pilot: Pilot) -> None:
    await demo(app, pilot)
    await pilot.press("n")  # the form starts on family: tab to protocol, enter creates
    await pilot.pause(0.2)
    await pilot.press("tab", "tab", "enter")
    await settle(pilot, lambda: len(app.main.ws.engine.sockets()) == 2)
    await pilot.press("c")
    await pilot.pause(0.2)
    with socket.socket() as closed:  # bound, never listening: a connect to it is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        app.fake_ports.add(port, REFUSED_PORT)
        address = f"127.0.0.1:{port}"
        app.screen.query_one("#f-address").value = address  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        await pilot.press("enter")
        await settle(pilot, lambda: any(s.error for s in app.main.ws.session.steps))
    await pilot.press("2")


async def keys(app: WorkbenchApp, pilot: Pilot) -> None:
    await demo(app, pilot)
    await pilot.press("question_mark")


async def session(app: WorkbenchApp, pilot: Pilot) -> None:
    await settle(pilot, lambda: app.stepper is not None)
    await pilot.press("f8")
    await settle(pilot, lambda: app.stepper is not None and app.stepper.done)


async def options(app: WorkbenchApp, pilot: Pilot) -> None:
    """The demo's socket in the Options pane, TCP_NODELAY just flipped on."""
    await demo(app, pilot)
    await pilot.press("4")
    pane = app.main.panes["options"]
    await settle(pilot, lambda: bool(getattr(pane, "readings", None)))
    table = app.main.query_one("#options-table")
    names = [r.spec.name for r in table._rows]  # type: ignore[attr-defined]
    table.move_cursor(row=names.index("TCP_NODELAY"))  # type: ignore[attr-defined]
    await pilot.press("enter")
    await settle(pilot, lambda: getattr(pane, "readings", {}).get("TCP_NODELAY") == 1)


async def tcp_info(app: WorkbenchApp, pilot: Pilot) -> None:
    await demo(app, pilot)
    await pilot.press("i")
    await settle(pilot, lambda: bool(getattr(app.main.panes["options"], "tcp_info", None)))


async def export(app: WorkbenchApp, pilot: Pilot) -> None:
    await demo(app, pilot)
    await pilot.press("X")
    await settle(pilot, lambda: bool(getattr(app.screen, "text", "")))


async def conns(app: WorkbenchApp, pilot: Pilot) -> None:
    await demo(app, pilot)
    await pilot.press("5")
    await pilot.pause(1.5)  # the first dump (this machine's sockets: it differs each run)


SCENES: dict[str, tuple[Scene, dict[str, object]]] = {
    "demo": (demo, {"demo": True}),
    "event-log": (log, {"demo": True}),
    "new-socket": (new_socket, {"demo": True}),
    "econnrefused": (refused, {"demo": True}),
    "keys": (keys, {"demo": True}),
    "step-through": (session, {"path": "sessions/tcp-echo.json"}),  # relative to ROOT
    "options": (options, {"demo": True}),
    "tcp-info": (tcp_info, {"demo": True}),
    "export": (export, {"demo": True}),
    "conns": (conns, {"demo": True}),
}


async def shoot(name: str, size: tuple[int, int]) -> Path:
    scene, options = SCENES[name]
    app = WorkbenchApp(stable=True, journal=False, **options)  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        await scene(app, pilot)
        for field in app.screen.query(Input):  # a blinking cursor would differ run to run
            field.cursor_blink = False
        await pilot.pause(0.1)
        out = HERE / f"{name}-{size[0]}x{size[1]}.svg"
        app.save_screenshot(str(out))
    return out


async def main(names: list[str]) -> None:
    os.chdir(ROOT)  # paths shown in the title bar stay relative to the checkout
    for name in names or SCENES:
        for size in ((80, 24), (120, 40)):
            print(await shoot(name, size))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))  # scene names, or none for every scene
