"""What following a flood costs the UI thread: the hex view grows, the header changes and
sockets are added without laying the screen out again (a layout repaints every widget,
time the receiving threads need), and a full collection walks only what the start did
not make."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Label
from ui_helpers import drive, settle, wait_until

from workbench.core.hexdump import format_rows
from workbench.io.capture import IN, ByteLog, CaptureStore
from workbench.ui.app import WorkbenchApp
from workbench.ui.widgets.hex_view import HexView
from workbench.ui.widgets.socket_tree import SocketTree


class FollowApp(App[None]):
    def __init__(self, store: CaptureStore) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        yield Label("a header above the view")
        yield HexView(self.store, poll=0)


def test_following_a_growing_capture_never_lays_the_screen_out() -> None:
    store = CaptureStore(ByteLog())
    store.append(IN, bytes(range(256)) * 8, 1.0)  # more rows than the screen: scrollbar on
    app = FollowApp(store)
    layouts: list[int] = []

    async def main() -> None:
        async with app.run_test(size=(80, 16)) as pilot:
            await pilot.pause()
            view = app.query_one(HexView)
            plain = view.refresh

            def counted(*regions: Any, **kw: Any) -> HexView:
                if kw.get("layout"):
                    layouts.append(view.model.rows)
                return plain(*regions, **kw)

            view.refresh = counted  # type: ignore[method-assign]
            for n in range(10):
                data = b"chunk %02d " % n * 40
                store.append(IN, data, 2.0 + n)
                view.catch_up()
                await pilot.pause()
                last = format_rows(data, store.totals[IN] - len(data), "narrow")[-1]
                bottom = view.scrollable_content_region.height - 2  # above the status line
                assert view.render_line(bottom).text.rstrip() == "< " + last
            assert view.virtual_size.height == view.model.rows + 1

    asyncio.run(main())
    assert layouts == []


class HeaderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("", id="head")


def test_a_fitted_label_repaints_and_lays_out_only_when_its_lines_change() -> None:
    """The data header's counts change at every drain of a flood: each change repaints
    the line; only going from one line to two (or back) lays the screen out again."""
    from workbench.ui.text import set_text

    app = HeaderApp()
    calls: list[bool] = []

    async def main() -> None:
        async with app.run_test(size=(80, 10)) as pilot:
            label = app.query_one("#head", Label)
            plain = label.update

            def counted(content: Any = "", *, layout: bool = True) -> None:
                calls.append(layout)
                plain(content, layout=layout)

            label.update = counted  # type: ignore[method-assign]
            for text in ("#1 ↓1.0M", "#1 ↓2.0M", "#1 ↓2.0M", "#1 ↓3.0M\naddresses", "#1 ↓4.0M"):
                set_text(label, text, fitted=True)
                await pilot.pause()
            set_text(label, "not cut to the width", fitted=False)
            await pilot.pause()
            assert str(label.render()) == "not cut to the width"
            label.styles.height = 2  # as the data header's: its lines can change freely
            for text in ("#1 ↓5.0M\naddresses", "#1 ↓6.0M"):
                set_text(label, text, fitted=True)
                await pilot.pause()
            assert label.size.height == 2

    asyncio.run(main())
    # whether each update lays out: the first text, a count, (the same text: no
    # update), two lines, one line again, a text not fitted; at a fixed height,
    # neither two lines nor one again
    assert calls == [False, False, True, True, True, False, False]


def test_the_poll_is_let_off_while_the_screens_catch_ups_feed_the_view() -> None:
    """Within two poll periods after a catch-up took chunks in, the view's own poll
    takes nothing (the screen's next drain draws them with the header); once the
    catch-ups stop, the poll takes what came."""
    store = CaptureStore(ByteLog())

    class PollingApp(App[None]):
        def compose(self) -> ComposeResult:
            yield HexView(store, poll=60)  # the period: a minute, longer than the test
            yield HexView(store, poll=0.001, id="quick")

    app = PollingApp()

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            fed, quick = app.query(HexView)
            store.append(IN, b"first " * 10, 1.0)
            fed.catch_up()
            quick.catch_up()
            taken = time.monotonic()
            store.append(IN, b"second " * 10, 2.0)
            fed.poll_tick()
            assert len(fed.model) == 1
            while time.monotonic() - taken < 0.002:  # two of the quick view's periods
                await asyncio.sleep(0.001)
            quick.poll_tick()
            await pilot.pause()
            assert (len(fed.model), len(quick.model)) == (1, 2)
            fed.catch_up()  # the screen's catch-up is never let off
            assert len(fed.model) == 2

    asyncio.run(main())


def test_the_poll_waits_out_the_cadence_of_the_screen_that_feeds_the_view() -> None:
    """A view the screen feeds every `fed_every` (its drains under a flood) lets its
    own poll off for that long and a period more, not just two periods: a poll between
    two drains would draw the whole screen in a frame of its own."""
    store = CaptureStore(ByteLog())

    class FedApp(App[None]):
        def compose(self) -> ComposeResult:
            yield HexView(store, poll=0.001, fed_every=0.05)

    app = FedApp()

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            view = app.query_one(HexView)
            store.append(IN, b"first " * 10, 1.0)
            view.catch_up()
            taken = time.monotonic()
            store.append(IN, b"second " * 10, 2.0)
            while time.monotonic() - taken < 0.01:  # ten periods, short of the cadence
                await asyncio.sleep(0.001)
            view.poll_tick()
            assert len(view.model) == 1
            while time.monotonic() - taken < 0.051:  # the cadence and a period
                await asyncio.sleep(0.001)
            view.poll_tick()
            await pilot.pause()
            assert len(view.model) == 2

    asyncio.run(main())


def test_a_socket_added_lays_the_screen_out_only_when_the_trees_scroll_bar_comes() -> None:
    """Sockets added while the tree has room only repaint it; the one that overflows it
    brings the scroll bar, and the tree scrolls to that newest, selected socket."""
    app = WorkbenchApp(journal=False)

    async def scenario(pilot: Pilot[Any]) -> None:
        ws, tree = app.main.ws, app.main.query_one(SocketTree)

        async def add() -> int:
            sock = ws.call("socket").result["sock"]  # type: ignore[index]
            await wait_until(pilot, lambda: app.main.selected == sock, what="the new socket")
            await settle(pilot)
            return sock

        await add()  # the first socket fills the data pane: that may lay it out
        layouts: list[float] = []
        plain = app.main._refresh_layout

        def counted(*args: Any, **kwargs: Any) -> None:
            layouts.append(time.monotonic())
            plain(*args, **kwargs)

        app.main._refresh_layout = counted  # type: ignore[method-assign]
        for _ in range(3):
            await add()
        assert not layouts and not tree.show_vertical_scrollbar
        for _ in range(tree.scrollable_content_region.height):
            if tree.show_vertical_scrollbar:
                break
            await add()
        assert tree.show_vertical_scrollbar and len(layouts) >= 1
        top = tree.scroll_offset.y
        assert top <= tree.cursor_line < top + tree.scrollable_content_region.height
        assert tree.cursor_line == tree.last_line  # the newest socket is the selected one

    drive(app, scenario, size=(80, 24))


def test_the_app_freezes_what_its_start_made_and_thaws_it_as_it_ends() -> None:
    """A full collection under a flood walks only what came since the start: the
    widgets, styles and modules the start made are frozen, and thawed at the end so
    that they can be collected with the app."""
    gc.unfreeze()
    app = WorkbenchApp(journal=False)
    frozen: list[int] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: gc.get_freeze_count() > 0, what="the heap frozen")
        frozen.append(gc.get_freeze_count())

    drive(app, scenario)
    assert frozen[0] > 10_000  # the app's start, not a handful of objects
    assert gc.get_freeze_count() == 0
