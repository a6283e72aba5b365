"""The Data pane: the selected socket's header, its bytes in the hex view, the send editor."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.widgets import Label

from workbench.io.engine import SocketInfo
from workbench.ui.panes import PaneController
from workbench.ui.text import fit, set_text
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
        yield HexView(id="data")
        yield SendEditor()

    def on_selected(self, info: SocketInfo | None) -> None:
        hex_view = self.screen.query_one(HexView)
        sid = info.id if info is not None else None
        first = self.shown == -1
        if sid != self.shown:
            self.shown = sid
            self.screen.query_one(SendEditor).use_socket(sid)
            capture = self.screen.ws.capture(sid) if sid is not None else None
            hex_view.show_capture(capture, datagram=bool(info and info.type == "dgram"))
        else:
            hex_view.catch_up()
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
        set_text(header, self._header_text(info, header.content_region.width))
        self.screen.query_one(SendEditor).need_destination(info.type == "dgram" and not info.peer)

    def _header_text(self, info: SocketInfo, width: int) -> str:
        """One line when it fits; else the socket on one and its addresses on the next,
        each fitted to the width (addresses cut in the middle, ports kept)."""
        mode = ("blocking" if info.blocking else "non-blocking") + (
            " auto" if info.auto else " manual")
        lost = self.screen.query_one(HexView).not_kept  # the view shows the selected socket
        full = self.screen.ws.capture_full()  # the session's budget or disk floor reached
        head = f"#{info.id} {kind_label(info)} {info.state}"
        addresses = f"{info.local or '-'} → {info.peer or '-'}"
        counts = f"↓{human_bytes(info.bytes_in)} ↑{human_bytes(info.bytes_out)}" \
                 f"{self._rates(info)}{f'  {full}' if full else ''}{f'  {lost}' if lost else ''}"
        one = f"{head} {addresses}  {counts}  {mode}"
        if not width or len(one) <= width:
            return one
        return f"{fit(f'{head}  {counts}  {mode}', width)}\n{fit(addresses, width)}"

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
