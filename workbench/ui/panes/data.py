"""The Data pane: the selected socket's header, its bytes in the hex view, the send editor.

For raw, packet and ping sockets T shows the decode view in place of the send editor:
the header fields of the packet under the hex view's cursor. Moving either cursor
moves the other: a field chosen in the tree is highlighted (and the hex cursor goes
to it), a byte chosen in the hex view selects the field holding it.
"""

from __future__ import annotations

import time

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label

from workbench.io.engine import SocketInfo
from workbench.ui.messages import BUSY_INTERVAL
from workbench.ui.panes import PaneController
from workbench.ui.text import fit, set_text
from workbench.ui.widgets.decode_view import DecodeView, SocketKind, socket_kind
from workbench.ui.widgets.hex_view import HexView
from workbench.ui.widgets.send_editor import SendEditor
from workbench.ui.widgets.socket_tree import human_bytes, kind_label

RATE_WINDOW = 0.5  # seconds over which header rates are measured


class DataPane(PaneController):
    shown: int | None = -1  # the socket whose capture the hex view shows (-1: not yet)
    _rate_marks: dict[int, tuple[float, int, int, str]]

    def compose(self) -> ComposeResult:
        self._rate_marks = {}
        yield Label("", id="sock-header")
        yield DataBody(self)

    def on_selected(self, info: SocketInfo | None) -> None:
        hex_view = self.screen.query_one(HexView)
        sid = info.id if info is not None else None
        first = self.shown == -1
        if sid != self.shown:
            self.shown = sid
            self.screen.query_one(SendEditor).use_socket(sid)
            capture = self.screen.ws.capture(sid) if sid is not None else None
            hex_view.show_capture(capture, datagram=bool(info and info.type in ("dgram", "raw")))
            self.screen.query_one(DataBody).socket_changed()
        else:
            hex_view.catch_up()
            self.screen.query_one(DataBody).sync()
        if not first:  # at start the header stays empty until there is a socket
            self.show_header(info)

    def on_tick(self) -> None:
        mark = self._rate_marks.get(self.shown or -1)
        if mark is not None and mark[3] and time.monotonic() - mark[0] >= RATE_WINDOW:
            self.show_header(self.screen.ws.socket_info(self.shown or -1))  # rates fall

    def show_header(self, info: SocketInfo | None) -> None:
        header = self.screen.query_one("#sock-header", Label)
        if info is None:
            set_text(header, "no socket selected")
            return
        width = header.content_region.width
        set_text(header, self._header_text(info, width), fitted=bool(width))
        self.screen.query_one(SendEditor).need_destination(info.type in ("dgram", "raw")
                                                           and not info.peer)

    def _header_text(self, info: SocketInfo, width: int) -> str:
        """Two lines, whatever the width: the socket and what has crossed it, then what
        the capture could not keep, ahead of its addresses, each fitted to the width
        (addresses cut in the middle first, ports kept). A header that grew a line as a
        flood's rates appeared would lay the whole screen out again, in the time the
        receiving thread needs."""
        mode = ("blocking" if info.blocking else "non-blocking") + (
            " auto" if info.auto else " manual")
        lost = self.screen.query_one(HexView).not_kept  # the view shows the selected socket
        full = self.screen.ws.capture_full()  # the session's budget or disk floor reached
        first = f"#{info.id} {kind_label(info)} {info.state}  " \
                f"↓{human_bytes(info.bytes_in)} ↑{human_bytes(info.bytes_out)}" \
                f"{self._rates(info)}  {mode}"
        second = "  ".join(part for part in (full, lost, f"{info.local or '-'} → "
                                             f"{info.peer or '-'}") if part)
        return f"{fit(first, width)}\n{fit(second, width)}" if width else f"{first}\n{second}"

    def _rates(self, info: SocketInfo) -> str:
        """Bytes per second in and out, measured over the last half second or more."""
        now = time.monotonic()
        mark = self._rate_marks.get(info.id)
        if mark is None:
            self._rate_marks[info.id] = (now, info.bytes_in, info.bytes_out, "")
            return ""
        then, was_in, was_out, shown = mark
        if now - then >= RATE_WINDOW:
            rate_in = (info.bytes_in - was_in) / (now - then)
            rate_out = (info.bytes_out - was_out) / (now - then)
            shown = "" if not (rate_in or rate_out) else (
                f" ({human_bytes(int(rate_in))}/s ↓ {human_bytes(int(rate_out))}/s ↑)")
            self._rate_marks[info.id] = (now, info.bytes_in, info.bytes_out, shown)
        return shown


class DataBody(Vertical):
    """The hex view, then the send editor or the decode view (T), kept in step."""

    BINDINGS = [Binding("T", "toggle_decode", "decode view", show=False, id="data.decode",
                        tooltip="raw, packet and ping sockets: the header fields of the "
                        "packet under the cursor, in place of the send editor")]
    DEFAULT_CSS = "DataBody { height: 1fr; }"

    def __init__(self, pane: DataPane) -> None:
        super().__init__(id="data-body")
        self.pane = pane
        self._kinds: dict[int, SocketKind | None] = {}
        self._synced: tuple[int, int, int] | None = None  # (socket, chunk, byte) decoded
        self._expect: tuple[int, int] | None = None  # the hex move a chosen field made

    def compose(self) -> ComposeResult:
        yield HexView(id="data", fed_every=BUSY_INTERVAL)  # the screen drains feed it
        yield DecodeView(id="decode")
        yield SendEditor()

    def on_mount(self) -> None:
        self.query_one(DecodeView).display = False

    @property
    def decoding(self) -> bool:
        return bool(self.query_one(DecodeView).display)

    def action_toggle_decode(self) -> None:
        decode, editor = self.query_one(DecodeView), self.query_one(SendEditor)
        on = not decode.display
        if not on and decode.has_focus:
            self.query_one(HexView).focus()
        decode.display, editor.display = on, not on
        self._kinds.clear()  # IP_HDRINCL may have changed since
        self._synced = None
        if on:
            self.sync()
        else:
            self.query_one(HexView).highlight(None)

    def socket_changed(self) -> None:
        self._synced = None
        self.query_one(HexView).highlight(None)
        self.sync()

    def _kind(self, sid: int) -> SocketKind | None:
        if sid not in self._kinds:
            self._kinds[sid] = socket_kind(self.pane.screen.ws.steps(), sid)
        return self._kinds[sid]

    def sync(self) -> None:
        """Decode the chunk under the hex cursor and select the field at its byte."""
        if not self.decoding:
            return
        decode, hex_view = self.query_one(DecodeView), self.query_one(HexView)
        sid = self.pane.shown
        kind = self._kind(sid) if isinstance(sid, int) else None
        where = hex_view.cursor_chunk()
        if kind is None or where is None or hex_view.capture is None:
            self._synced = None
            decode.show_message("no socket selected" if sid is None or sid == -1 else
                                "nothing to decode: a raw, packet or ping socket's packets "
                                "show here" if kind is None else
                                "no packet yet: what the socket sends and receives shows here")
            return
        chunk, byte = where
        if self._synced == (sid, chunk.index, byte):
            return
        self._synced = (sid, chunk.index, byte)
        try:
            data = hex_view.capture.read(chunk.direction, chunk.offset, chunk.size)
        except (OSError, ValueError) as exc:
            decode.show_message(f"cannot decode this chunk: {exc}")
            return
        decode.show_chunk(data, chunk, kind.link(chunk))
        decode.select_byte(byte)

    @on(HexView.CursorMoved)
    def _hex_moved(self, event: HexView.CursorMoved) -> None:
        if self._expect == (event.direction, event.offset):
            self._expect = None  # our own move to a chosen field: the tree stays
            return
        self.sync()

    @on(DecodeView.FieldChosen)
    def _field_chosen(self, event: DecodeView.FieldChosen) -> None:
        hex_view, field, chunk = self.query_one(HexView), event.field, event.chunk
        if field.length <= 0:
            hex_view.highlight(None)
            return
        start = chunk.offset + field.offset
        hex_view.highlight((chunk.direction, start, start + field.length))
        if not event.from_hex:
            self._expect = (chunk.direction, start)
            self._synced = (self.pane.shown or 0, chunk.index, field.offset)
            if not hex_view.jump_to(chunk.direction, start):
                self._expect = None
