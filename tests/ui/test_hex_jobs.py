"""The hex view's long work runs in thread workers: search over a big capture, copy, save.

The stores here hold several MiB, and their stream reads off the UI thread wait at a
gate the test opens: so a worker is caught mid-way for certain (no sleeps, no races),
and the test shows the app still takes keys while it waits, then checks the result.
"""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerState
from ui_helpers import settle, wait_until

from workbench.io.capture import IN, OUT, ByteLog, CaptureStore
from workbench.ui.widgets.hex_prompt import HexPrompt
from workbench.ui.widgets.hex_save import COPY_INLINE
from workbench.ui.widgets.hex_search import SEARCH_INLINE
from workbench.ui.widgets.hex_view import HexView

MIB = 1 << 20
NEEDLE = b"NEEDLE"
FIRST = 5 * MIB - 3  # across the boundary of the 5th and 6th chunk
SECOND = FIRST + MIB // 2


class GatedStore(CaptureStore):
    """A store whose stream reads from any thread but the app's wait for `gate`."""

    def __init__(self) -> None:
        super().__init__(ByteLog())
        self.app_thread = threading.get_ident()  # the test runs the app on its own thread
        self.gate = threading.Event()
        self.reading = threading.Event()  # a worker has started reading

    def read(self, direction: int, offset: int, size: int) -> bytes:
        if threading.get_ident() != self.app_thread:
            self.reading.set()
            if not self.gate.wait(60):
                raise TimeoutError("the test never opened the gate")
        return super().read(direction, offset, size)


def big_store() -> tuple[GatedStore, bytes]:
    """A short request out, then 8 MiB in (1 MiB chunks) holding NEEDLE twice."""
    data = bytearray(random.Random(7).randbytes(8 * MIB))
    for at in (FIRST, SECOND):
        data[at:at + len(NEEDLE)] = NEEDLE
    assert bytes(data).count(NEEDLE) == 2
    store = GatedStore()
    store.append(OUT, b"GET / HTTP/1.1\r\n\r\n", 1.0)
    for n, at in enumerate(range(0, len(data), MIB)):
        store.append(IN, bytes(data[at:at + MIB]), 2.0 + n)
    assert store.totals[IN] > SEARCH_INLINE
    return store, bytes(data)


class JobApp(App[None]):
    def __init__(self, store: CaptureStore) -> None:
        super().__init__()
        self.store = store
        self.found: list[HexView.Found] = []
        self.saved: list[HexView.Saved] = []
        self.done = asyncio.Event()  # a Found or a Saved message arrived

    def compose(self) -> ComposeResult:
        yield HexView(self.store, poll=0)

    def on_mount(self) -> None:
        self.query_one(HexView).focus()

    def on_hex_view_found(self, message: HexView.Found) -> None:
        self.found.append(message)
        self.done.set()

    def on_hex_view_saved(self, message: HexView.Saved) -> None:
        self.saved.append(message)
        self.done.set()


def run(store: CaptureStore, scenario: Any) -> JobApp:
    app = JobApp(store)

    async def main() -> None:
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await pilot.pause()
            try:
                await scenario(pilot, app.query_one(HexView))
            finally:
                if isinstance(store, GatedStore):
                    store.gate.set()  # no thread left waiting, whatever happened

    asyncio.run(main())
    return app


def status(view: HexView) -> str:
    return view.render_line(view.scrollable_content_region.height - 1).text


def notices(pilot: Pilot[Any]) -> list[tuple[str, str]]:
    return [(n.severity, n.message) for n in pilot.app._notifications]


async def caught_reading(store: GatedStore) -> None:
    """Until a worker waits at the gate: a definite event, waited for off the loop."""
    assert await asyncio.to_thread(store.reading.wait, 30), "no worker started reading"


def test_a_big_search_runs_in_a_worker_while_keys_work() -> None:
    store, _ = big_store()

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home")
        assert view.cursor_position() == (OUT, 0)
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HexPrompt)
        await pilot.press(*"NEEDLE", "enter")
        await caught_reading(store)
        assert [w.name for w in pilot.app.workers] == ["hex-search"]
        assert view.busy == ["searching…"] and "searching…" in status(view)
        await pilot.press("m")  # handled while the search waits at the gate
        assert view.mode == "text" and view.match is None
        store.gate.set()
        await asyncio.wait_for(pilot.app.done.wait(), 60)
        assert view.match == (IN, FIRST, FIRST + len(NEEDLE))
        assert view.cursor_position() == (IN, FIRST)
        found = pilot.app.found[-1]
        assert (found.direction, found.offset, found.size) == (IN, FIRST, len(NEEDLE))
        assert not view.busy and "searching…" not in status(view)
        pilot.app.done.clear()
        await pilot.press("f3")  # the next one, again in a worker
        await asyncio.wait_for(pilot.app.done.wait(), 60)
        assert view.match == (IN, SECOND, SECOND + len(NEEDLE))
        pilot.app.done.clear()
        await pilot.press("shift+f3")
        await asyncio.wait_for(pilot.app.done.wait(), 60)
        assert view.match == (IN, FIRST, FIRST + len(NEEDLE))

    run(store, scenario)


def test_a_new_search_supersedes_the_running_one_and_escape_stops_it() -> None:
    store, _ = big_store()

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home")
        assert view.search(NEEDLE)  # started, not done
        await caught_reading(store)
        first = next(iter(pilot.app.workers))
        await pilot.press("f3")  # the same search again: the first one is dropped
        assert first.is_cancelled
        assert [w.name for w in pilot.app.workers if not w.is_cancelled] == ["hex-search"]
        assert view.busy == ["searching…"]
        await pilot.press("escape")  # stops the search, and does nothing else
        assert not view.busy and ("warning", "search cancelled") in notices(pilot)
        with pytest.raises(WorkerCancelled):
            await first.wait()
        assert first.state == WorkerState.CANCELLED
        store.gate.set()  # the threads see they were cancelled and end
        await pilot.pause()
        assert view.match is None and view.cursor_position() == (OUT, 0)
        assert not pilot.app.found
        view.set_direction_filter("in")  # one stream shown: a fresh search finds it
        await pilot.press("ctrl+end")
        pilot.app.done.clear()
        assert view.search(NEEDLE, forward=False)
        await asyncio.wait_for(pilot.app.done.wait(), 60)
        assert view.match == (IN, SECOND, SECOND + len(NEEDLE))

    run(store, scenario)


def test_another_socket_drops_the_search_still_running() -> None:
    store, _ = big_store()

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home")
        assert view.search(NEEDLE)
        await caught_reading(store)
        (worker,) = pilot.app.workers
        other = CaptureStore(ByteLog())
        other.append(IN, NEEDLE, 1.0)
        view.show_capture(other)
        assert worker.is_cancelled and not view.busy
        store.gate.set()
        with pytest.raises(WorkerCancelled):
            await worker.wait()
        await pilot.pause()
        assert view.match is None and not pilot.app.found
        assert view.search(NEEDLE, forward=False)  # small: found at once
        assert view.match == (IN, 0, len(NEEDLE))

    run(store, scenario)


def test_a_big_save_runs_in_a_worker_and_writes_the_right_bytes(tmp_path: Path) -> None:
    store, data = big_store()
    path = tmp_path / "big.bin"

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.select(IN, 100, 6 * MIB + 7)
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HexPrompt)
        prompt = pilot.app.screen.query_one("#hex-prompt")
        assert prompt.value == f"capture-in-100-{6 * MIB + 7}.bin"  # type: ignore[attr-defined]
        prompt.value = str(path)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await caught_reading(store)
        assert view.busy == ["saving…"] and "saving…" in status(view)
        await pilot.press("t")  # handled while the save waits at the gate
        assert not view.model.headers
        assert not pilot.app.saved
        store.gate.set()
        await asyncio.wait_for(pilot.app.done.wait(), 60)
        assert path.read_bytes() == data[100:6 * MIB + 7]
        saved = pilot.app.saved[-1]
        assert (saved.path, saved.direction, saved.start, saved.end, saved.hexdump) == (
            str(path), IN, 100, 6 * MIB + 7, False)
        assert ("information", f"saved {6 * MIB - 93} bytes of in to {path}") in notices(pilot)
        assert not view.busy

    run(store, scenario)


def test_a_cancelled_save_leaves_no_partial_file(tmp_path: Path) -> None:
    store, _ = big_store()
    path = tmp_path / "stopped.bin"

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.select(IN, 0, 4 * MIB)
        assert view.answer("save", str(path))
        await caught_reading(store)
        assert list(tmp_path.glob(".stopped.bin.*"))  # a temporary file beside it, not it
        assert not path.exists()
        await pilot.press("escape")
        assert ("warning", "save cancelled") in notices(pilot)
        assert view.selection == (IN, 0, 4 * MIB)  # escape stopped the save only
        store.gate.set()  # the thread writes its block, sees the cancel, removes the file
        # A cancelled worker leaves the manager at once; its thread ends on its own.
        await wait_until(pilot, lambda: not list(tmp_path.glob(".stopped.bin.*")),
                         what="the partial file removed")
        assert not pilot.app.saved

    run(store, scenario)


def test_a_big_copy_is_made_in_a_worker() -> None:
    store, data = big_store()
    size = COPY_INLINE * 3

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.select(IN, 1000, 1000 + size)
        assert view.copy_selection("hex") is None  # not yet: a worker makes it
        await caught_reading(store)
        assert view.busy == ["copying…"]
        await pilot.press("down")  # the cursor moves on meanwhile
        store.gate.set()
        await pilot.app.workers.wait_for_complete()
        await settle(pilot)  # the worker's end is handled: the status line is free again
        assert not view.busy
        assert pilot.app.clipboard == data[1000:1000 + size].hex(" ")
        assert ("information", f"copied {size} bytes as hex") in notices(pilot)

    run(store, scenario)
