"""Copying and saving from the hex view: the selection as hex, text, C or Python; files.

A save from the prompt (w / W) always writes in a thread worker ("saving…" on the
status line, escape stops it and removes the partial file), and so does a copy of
more than COPY_INLINE bytes; the UI stays live. `save()` itself writes at once, for
callers that want the byte count. Saves are written like session files: atomically
(a temporary file renamed over the target), mode 0600, never through a symlink and
never over something that is not a regular file.

Bytes that were not kept are never read: a copy that touches them says why it
cannot, and a save writes the kept bytes and says what it left out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import takewhile

from workbench.core.capture_rows import DIRECTION_NAMES, copy_text, escape, kept_spans
from workbench.core.hexdump import write_canonical
from workbench.io.atomic_write import SaveTargetError, atomic_file
from workbench.io.capture import CaptureStore, NotKeptError
from workbench.ui.widgets.hex_jobs import stop_if_cancelled

COPY_LIMIT = 1 << 20  # bytes; terminals cap what they accept on the clipboard (OSC 52)
COPY_INLINE = 64 << 10  # bytes; a bigger copy is read and formatted in a thread
SAVE_BLOCK = 1 << 20  # bytes read at a time


@dataclass(frozen=True)
class SavePlan:
    """What a save writes: the kept stretches `spans` of [start, end) of a stream."""

    capture: CaptureStore
    path: str
    direction: int
    start: int
    end: int
    spans: list[tuple[int, int]]
    hexdump: bool

    @property
    def kept(self) -> int:
        return sum(hi - lo for lo, hi in self.spans)


def write_plan(plan: SavePlan) -> int | OSError | SaveTargetError:
    """Write a save, streaming; as hexdumps, each stretch at its own offset. Returns the
    bytes written, or why it did not save. Cancelled (in a worker): the partial
    temporary file is removed, the target is left as it was, and JobCancelled goes on."""
    try:
        with atomic_file(plan.path) as out:
            streams = [(lo, _stream(plan.capture, plan.direction, lo, hi))
                       for lo, hi in plan.spans]
            if plan.hexdump:
                written = sum(write_canonical(stream, out, lo) for lo, stream in streams)
            else:
                written = sum(out.write(piece) for _, stream in streams for piece in stream)
        return written
    except (OSError, SaveTargetError) as exc:
        return exc


def _stream(capture: CaptureStore, direction: int, start: int, end: int) -> Iterator[bytes]:
    for at in range(start, end, SAVE_BLOCK):
        stop_if_cancelled()
        yield capture.read(direction, at, min(SAVE_BLOCK, end - at))


def copy_work(capture: CaptureStore, sel: tuple[int, int, int], fmt: str) -> str | NotKeptError:
    """The selection formatted for the clipboard (also put on the local one), or why not."""
    try:
        data = capture.read(sel[0], sel[1], sel[2] - sel[1])
    except NotKeptError as exc:
        return exc
    stop_if_cancelled()
    # Text as the text view shows it: \xde\xad, not the UTF-8 character those two make;
    # it reads back the same bytes in the send editor's escapes mode.
    text = escape(data) if fmt == "text" else copy_text(data, fmt)
    stop_if_cancelled()
    local_clipboard(text)
    return text


def local_clipboard(text: str) -> None:
    """Also the local clipboard, when pyperclip is there and works (not over SSH)."""
    try:
        import pyperclip  # type: ignore[import-not-found]
    except ImportError:
        return
    with contextlib.suppress(Exception):  # no clipboard tool, no display: ignore
        pyperclip.copy(text)


class HexCopySave:
    """Mixin of HexView: copy the selection, save a stream or part of it."""

    def selected_bytes(self) -> bytes | None:
        """The selection's bytes; NotKeptError if it touches bytes that were not kept."""
        sel = self.selection
        if sel is None or self.capture is None:
            return None
        return self.capture.read(sel[0], sel[1], sel[2] - sel[1])

    def action_copy(self, fmt: str) -> None:
        self.copy_selection(fmt)

    def copy_selection(self, fmt: str) -> str | None:
        """Copy the selection as hex, text, a C array or a Python literal; the text
        copied, or None. Over COPY_INLINE bytes the copy is made in a worker and lands
        on the clipboard when done: None here, the notice says when."""
        sel = self.selection
        if sel is None or self.capture is None:
            self._say("nothing selected: v marks, shift+arrows extend", severity="error")
            return None
        size = sel[2] - sel[1]
        if size > COPY_LIMIT:
            self._say(f"{size} bytes is too much to copy: save them with w", severity="error")
            return None
        capture = self.capture
        if size <= COPY_INLINE:
            return self._copied(fmt, size, copy_work(capture, sel, fmt))
        self._start_job("copy", lambda: copy_work(capture, sel, fmt),
                        lambda result: self._copied(fmt, size, result))
        return None

    def _copied(self, fmt: str, size: int, result: str | NotKeptError) -> str | None:
        if isinstance(result, NotKeptError):
            self._say(f"cannot copy: {result}", severity="error")
            return None
        self.app.copy_to_clipboard(result)
        self._say(f"copied {size} bytes as {fmt}", timeout=3)
        return result

    def _target(self) -> tuple[int, int, int] | None:
        """What a save writes: the selection, else the whole stream of the cursor."""
        if (sel := self.selection) is not None:
            return sel
        where = self.cursor_position()
        if where is None:
            return None
        return where[0], 0, self.model.totals[where[0]]

    def _suggest_name(self, hexdump: bool) -> str:
        target = self._target()
        if target is None:
            return ""
        direction, start, end = target
        return f"capture-{DIRECTION_NAMES[direction]}-{start}-{end}" + (
            ".hexdump.txt" if hexdump else ".bin")

    def save(self, path: str, direction: int | None = None, start: int = 0,
             end: int | None = None, hexdump: bool = False) -> int:
        """Write stream bytes to a file, raw or as `hexdump -C` text, streaming; returns
        bytes written or -1. Without a direction: the selection, else the cursor's
        whole direction. Bytes that were not kept are left out (a hexdump keeps the true
        offsets, a raw file is that much shorter) and the notice says so."""
        plan = self._plan_save(path, direction, start, end, hexdump)
        return -1 if plan is None else self._saved(plan, write_plan(plan))

    def start_save(self, path: str, direction: int | None = None, start: int = 0,
                   end: int | None = None, hexdump: bool = False) -> bool:
        """`save()` in a worker: True once it started; the Saved message, or a notice,
        tells how it ended. A save still running is superseded."""
        plan = self._plan_save(path, direction, start, end, hexdump)
        if plan is None:
            return False
        self._start_job("save", lambda: write_plan(plan),
                        lambda result: self._saved(plan, result))
        return True

    def _plan_save(self, path: str, direction: int | None, start: int, end: int | None,
                   hexdump: bool) -> SavePlan | None:
        """What to write, or None and a notice saying why there is nothing to."""
        if direction is None:
            target = self._target()
            if target is None or self.capture is None:
                self._say("nothing to save yet", severity="error")
                return None
            direction, start, end = target
        if self.capture is None:
            self._say("nothing to save: no socket selected", severity="error")
            return None
        end = self.model.totals[direction] if end is None else end
        path = os.path.expanduser(path.strip())
        if not path:
            self._say("no file name given", severity="error")
            return None
        stretches = kept_spans(self.model.gaps(direction), end, start, True)
        spans = [(max(lo, start), min(hi, end))
                 for lo, hi in takewhile(lambda span: span[0] < end, stretches)]
        plan = SavePlan(self.capture, path, direction, start, end, spans, hexdump)
        if not plan.kept and end > start:
            self._say(f"nothing to save: the {end - start} bytes of "
                      f"{DIRECTION_NAMES[direction]} from 0x{start:x} were not kept "
                      "(their gap rows say why)", severity="error")
            return None
        return plan

    def _saved(self, plan: SavePlan, written: int | OSError | SaveTargetError) -> int:
        """Say how a save ended; the bytes written, or -1."""
        if isinstance(written, SaveTargetError):
            self._say(str(written), severity="error")
            return -1
        if isinstance(written, OSError):
            self._say(f"cannot save to {plan.path}: {written.strerror or written}",
                      severity="error")
            return -1
        name, size = DIRECTION_NAMES[plan.direction], plan.end - plan.start
        if plan.kept < size:
            self._say(f"saved {plan.kept} of {size} bytes of {name} to {plan.path}: "
                      f"{size - plan.kept} bytes were not kept and are left out",
                      severity="warning", timeout=8)
        else:
            self._say(f"saved {plan.kept} bytes of {name} to {plan.path}", timeout=4)
        self.post_message(self.Saved(plan.path, plan.direction, plan.start, plan.end,
                                     plan.hexdump))
        return written
