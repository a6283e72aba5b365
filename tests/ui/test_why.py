"""Why a step failed, in the app: `!` on the selected socket's last error, Enter in the
Log pane and the palette list the failed steps; each opens the explanation with the
evidence gathered here now (the test's own sockets named as holders). The errno
browser lists every entry and searches them."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest
import test_errno_hints as hints  # its helpers make the failures
from textual.pilot import Pilot
from textual.widgets import Input, OptionList
from textual.widgets._toast import Toast
from ui_helpers import drive, messages, palette_entries, type_text, wait_until

from workbench.core.diagnosis import Diagnosis, FailedCall, diagnose
from workbench.core.steps import Step, StepError
from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.form import FormScreen
from workbench.ui.screens.why import (
    ErrnoBrowser,
    FailurePicker,
    WhyScreen,
    failed_steps,
    last_failure,
    step_title,
)
from workbench.ui.stable import REFUSED_PORT
from workbench.ui.widgets.event_log import EventLog

TIMEOUT = 15.0  # the diagnosis may run `ip` and scan /proc: generous on a busy machine


def test_failed_steps_newest_first_with_a_deferred_connect_and_no_pump_eagain() -> None:
    refused = StepError("ECONNREFUSED", 111, "Connection refused")
    again = StepError("EAGAIN", 11, "Resource temporarily unavailable")
    steps = [Step("connect", 1, {"address": "127.0.0.1:9"}, error=refused, seq=0),
             Step("recv", 2, {"size": 10}, auto=True, error=again, seq=1),
             Step("recv", 2, {"size": 10}, error=again, seq=2),
             Step("getsockopt", 3, {"option": "SO_ERROR"}, auto=True,
                  result={"value": 111, "errno": "ECONNREFUSED"}, seq=3),
             Step("send", 1, {"data": b"x"}, result={"sent": 1}, seq=4)]
    assert [s.seq for s in failed_steps(steps)] == [3, 2, 0]
    assert last_failure(steps, 1) is steps[0] and last_failure(steps, 4) is None
    assert step_title(steps[3]) == "step 3: connect(#3) → ECONNREFUSED"


async def explained(pilot: Pilot[Any]) -> WhyScreen:
    """Wait for the why screen and its diagnosis (gathered off the loop)."""
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, WhyScreen), what="the why screen")
    screen = app.screen
    assert isinstance(screen, WhyScreen)
    await wait_until(pilot, lambda: screen.diagnosis is not None, TIMEOUT,
                     what="the diagnosis")
    await wait_until(pilot, lambda: "What to do" in screen.text, what="the text shown")
    return screen


async def close(pilot: Pilot[Any]) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await pilot.press("escape")
    await wait_until(pilot, lambda: app.screen is app.main, what="back to the main screen")


def test_bang_explains_a_refused_connect_with_its_evidence(app: WorkbenchApp) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening: a connect is refused
        port = held.getsockname()[1]

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("exclamation_mark")  # nothing failed yet: says so
            await wait_until(pilot, lambda: any("no failed step" in m
                                                for m in messages(app)), what="no failure")
            await hints.new_socket(pilot)
            await hints.address_step(pilot, "c", "connect", f"127.0.0.1:{port}")
            await wait_until(pilot, lambda: hints.notified(app, "ECONNREFUSED", "(! why)"),
                             what="the toast naming the key")
            await pilot.press("exclamation_mark")
            screen = await explained(pilot)
            text = screen.text
            assert f"connect(#1, address=127.0.0.1:{port}) → ECONNREFUSED" in text
            assert "ECONNREFUSED (111) Connection refused" in text
            assert "What it means for connect" in text
            assert "Likely causes on this machine now" in text
            assert f"nothing listens on port {port} on this machine" in text
            assert "[tcp.listeners]" in text and "conns.listeners:" in text
            assert "hard: something must change" in text
            assert "Winsock WSAECONNREFUSED 10061" in text and "FreeBSD and macOS 61" in text
            await pilot.press("y")
            await wait_until(pilot, lambda: app.clipboard == text, what="y: copied")
            await close(pilot)

        drive(app, scenario, size=(120, 40))


def test_the_screen_waits_for_the_diagnosis_without_holding_the_app(app: WorkbenchApp) -> None:
    """A diagnosis still being gathered: the screen says so, keys still work, and the
    explanation shows once the future is done (set here from another thread)."""
    pending: Future[Diagnosis] = Future()
    step = Step("connect", 1, {"address": "127.0.0.1:9"},
                error=StepError("ECONNREFUSED", 111, "Connection refused"), seq=4)

    async def scenario(pilot: Pilot[Any]) -> None:
        screen = WhyScreen(step, pending)
        app.push_screen(screen)
        await wait_until(pilot, lambda: app.screen is screen and bool(
            screen.query("#why-body")), what="the why screen")
        assert screen.text.startswith("gathering evidence")
        await pilot.press("y")  # answered at once: nothing to copy yet
        await wait_until(pilot, lambda: any("still gathering" in m for m in messages(app)),
                         what="the key answered while gathering")
        call = FailedCall("connect", "ECONNREFUSED", 111, "Connection refused",
                          {"address": "127.0.0.1:9"}, "inet", "stream")
        threading.Thread(target=pending.set_result, args=(diagnose(call),)).start()
        await wait_until(pilot, lambda: "What it means for connect" in screen.text,
                         what="the explanation once gathered")
        await close(pilot)

    drive(app, scenario, size=(80, 24))


def test_log_enter_lists_failures_and_explains_a_bind_held_by_the_test(
        app: WorkbenchApp) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        async def scenario(pilot: Pilot[Any]) -> None:
            await hints.new_socket(pilot)
            await hints.address_step(pilot, "b", "bind", f"127.0.0.1:{port}")
            await pilot.press("2")
            log = app.main.query_one(EventLog)
            for _ in range(8):  # tab through the fields to the log (keyboard only)
                if app.focused is log:
                    break
                await pilot.press("tab")
            assert app.focused is log
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, FailurePicker),
                             what="the failed steps")
            picker = app.screen
            assert isinstance(picker, FailurePicker)
            found = picker.query_one(OptionList)
            assert found.option_count == 1
            assert "bind(#1, address=127.0.0.1:" in str(found.get_option_at_index(0).prompt)
            await pilot.press("enter")
            screen = await explained(pilot)
            text = screen.text
            assert "EADDRINUSE (98)" in text and "What it means for bind" in text
            assert f"a socket listens on 127.0.0.1:{port}" in text
            assert f"(pid {os.getpid()}) holds it" in text  # the holder: this test
            assert "[conns.holders]" in text
            assert "Related options: SO_REUSEADDR" in text
            await close(pilot)

        drive(app, scenario, size=(80, 24))


def test_o_opens_setsockopt_with_the_related_option(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await hints.new_socket(pilot)
        await hints.address_step(pilot, "b", "bind", "192.0.2.1:0")  # on no interface here
        assert hints.user_steps(app, "bind")[-1].error.name == "EADDRNOTAVAIL"  # type: ignore[union-attr]
        await pilot.press("exclamation_mark")
        screen = await explained(pilot)
        assert "Related options: IP_FREEBIND" in screen.text
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen)
                         and "setsockopt on socket #1" in app.screen.title_text, what="form")
        option = app.screen.query_one("#f-option", Input)
        await wait_until(pilot, lambda: option.value == "IP_FREEBIND", what="filled in")

    drive(app, scenario, size=(80, 24))


def test_palette_explains_a_failed_step_and_browses_errnos(app: WorkbenchApp) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]

        async def scenario(pilot: Pilot[Any]) -> None:
            await hints.new_socket(pilot)
            await hints.address_step(pilot, "c", "connect", f"127.0.0.1:{port}")
            entries = await palette_entries(pilot, "errno: explain step")
            assert entries[0][0].endswith("→ ECONNREFUSED")
            await pilot.press("enter")
            await explained(pilot)
            await close(pilot)
            await palette_entries(pilot, "errno: browse")
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ErrnoBrowser),
                             what="the errno browser")
            browser = app.screen
            listed = browser.query_one(OptionList)
            assert listed.option_count >= 60  # every errno and resolver error
            assert isinstance(app.focused, Input)
            await type_text(pilot, "reuseaddr")
            await wait_until(pilot, lambda: 0 < listed.option_count < 10, what="the search")
            names = {str(listed.get_option_at_index(i).id) for i in range(listed.option_count)}
            assert "EADDRINUSE" in names
            await pilot.press("down")
            await wait_until(pilot, lambda: app.focused is listed, what="the list focused")
            await close(pilot)

        drive(app, scenario, size=(80, 24))


# -- snapshots: pids shown as one, ports as their fakes (workbench/ui/stable.py) ---------

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SnapCompare = Callable[..., bool]
HELD_PORT = REFUSED_PORT + 1  # the fake of the port the test's listener holds


async def bind_explained(pilot: Pilot[Any], port: int) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await hints.new_socket(pilot)
    await hints.address_step(pilot, "b", "bind", f"127.0.0.1:{port}")
    # the failure's toast is up before `!`: the screen behind always shows it the same
    await wait_until(pilot, lambda: any("(! why)" in str(t.render())
                                        for t in app.main.query(Toast)), what="the toast")
    await pilot.press("exclamation_mark")
    screen = await explained(pilot)
    assert "pid 4242" in screen.text and str(os.getpid()) not in screen.text
    assert f"port {HELD_PORT}" in screen.text or f"port {port}" not in screen.text
    app.screen.query_one("#why-scroll").focus()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_why_a_bind_failed(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """EADDRINUSE against a listener the test holds: the holder named, with evidence."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        app = WorkbenchApp(stable=True, journal=False)
        app.fake_ports.add(port, HELD_PORT)
        assert snap_compare(app, terminal_size=size,
                            run_before=lambda pilot: bind_explained(pilot, port))


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_errno_browser(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        app: WorkbenchApp = pilot.app  # type: ignore[assignment]
        await palette_entries(pilot, "errno: browse")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ErrnoBrowser), what="browser")
        await type_text(pilot, "refused")  # ECONNREFUSED, and EAI_FAIL whose words say it
        listed = app.screen.query_one(OptionList)
        await wait_until(pilot, lambda: listed.option_count == 2, what="the search")
        await pilot.press("down")
        browser = app.screen
        assert isinstance(browser, ErrnoBrowser)
        await wait_until(pilot, lambda: "ECONNREFUSED (111)" in browser.shown,
                         what="the entry shown")
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(WorkbenchApp(stable=True, journal=False), terminal_size=size,
                        run_before=run_before)
