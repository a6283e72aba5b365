"""The hex view saves like session files: atomically, mode 0600, never through a symlink,
never over a FIFO; a cancelled save leaves the target as it was."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from workbench.io.capture import IN, ByteLog, CaptureStore
from workbench.ui.widgets.hex_view import HexView

MIB = 1 << 20
DATA = bytes(range(256)) * 64  # 16 KiB received
SECRET = b"not to be overwritten\n"


class GatedStore(CaptureStore):
    """Reads off the app's thread wait for `gate`: a save worker is caught mid-way."""

    def __init__(self) -> None:
        super().__init__(ByteLog())
        self.app_thread = threading.get_ident()
        self.gate = threading.Event()
        self.reading = threading.Event()

    def read(self, direction: int, offset: int, size: int) -> bytes:
        if threading.get_ident() != self.app_thread:
            self.reading.set()
            if not self.gate.wait(60):
                raise TimeoutError("the test never opened the gate")
        return super().read(direction, offset, size)


class SaveApp(App[None]):
    def __init__(self, store: CaptureStore) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        yield HexView(self.store, poll=0)


def drive(store: CaptureStore, scenario: Callable[[Pilot[Any], HexView], Awaitable[None]]) -> None:
    async def main() -> None:
        async with SaveApp(store).run_test(size=(120, 30), notifications=True) as pilot:
            await pilot.pause()
            try:
                await scenario(pilot, pilot.app.query_one(HexView))
            finally:
                if isinstance(store, GatedStore):
                    store.gate.set()  # no worker left waiting, whatever happened

    asyncio.run(main())


def filled(store: CaptureStore, size: int = len(DATA)) -> CaptureStore:
    for at in range(0, size, len(DATA)):
        store.append(IN, DATA, 1.0 + at)
    return store


async def last_notice(pilot: Pilot[Any]) -> tuple[str, str]:
    await pilot.pause()
    found = [(n.severity, n.message) for n in pilot.app._notifications]
    return found[-1] if found else ("", "")


def temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which a plain open() makes a 0644 file."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_save_is_private_and_leaves_no_temporary_file(tmp_path: Path, umask_022: None) -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        (tmp_path / "old.bin").write_bytes(SECRET)
        for name in ("new.bin", "old.bin"):
            assert view.save(str(tmp_path / name), IN) == len(DATA)
            assert (tmp_path / name).read_bytes() == DATA
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        assert temps(tmp_path) == []

    drive(filled(CaptureStore(ByteLog())), scenario)


def test_a_save_never_writes_through_a_symlink(tmp_path: Path) -> None:
    victim, link = tmp_path / "victim.txt", tmp_path / "capture.bin"
    victim.write_bytes(SECRET)
    link.symlink_to(victim)

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        assert view.save(str(link), IN) == -1
        severity, message = await last_notice(pilot)
        assert severity == "error" and "symbolic link" in message and str(link) in message

    drive(filled(CaptureStore(ByteLog())), scenario)
    assert victim.read_bytes() == SECRET and os.readlink(link) == str(victim)
    assert temps(tmp_path) == []


def test_a_save_never_replaces_or_feeds_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "capture.bin"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so a write would not block

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        assert view.save(str(fifo), IN) == -1
        severity, message = await last_notice(pilot)
        assert severity == "error" and "FIFO" in message

    try:
        drive(filled(CaptureStore(ByteLog())), scenario)
        assert os.read(reader, 100) == b""  # no writer ever had it open: nothing came
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_cancelled_save_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    store = filled(GatedStore(), 4 * MIB)
    target = tmp_path / "kept.bin"
    target.write_bytes(SECRET)

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        assert view.start_save(str(target), IN)
        assert await asyncio.to_thread(store.reading.wait, 30), "the save never started"
        assert len(temps(tmp_path)) == 1  # it writes beside the target, not into it
        assert target.read_bytes() == SECRET
        await pilot.press("escape")
        store.gate.set()  # the worker reads its block, sees the cancel, removes its file
        for _ in range(3000):
            if not temps(tmp_path):
                break
            await pilot.pause(0.01)
        assert temps(tmp_path) == []

    drive(store, scenario)
    assert target.read_bytes() == SECRET
