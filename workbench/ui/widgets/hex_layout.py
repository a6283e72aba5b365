"""How the hex view lays rows out and which it shows: mode, layout, headers, filters, follow."""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget

from workbench.core.capture_rows import DIRECTION_NAMES, MODES, Shape, choose_shape, row_width

LAYOUT_CHOICES = ("auto", "canonical", "xxd", "narrow")
FILTERS = ("both", "in", "out")


class HexLayout:
    """Mixin of HexView: the shape of rows for the width, the filters, following the tail."""

    def _content_width(self) -> int:
        return max(20, self.scrollable_content_region.width or self.size.width or 80)

    def _relayout(self) -> None:
        """Recompute the shape for the width and the rows for the filters; keep the cursor."""
        self._width = self._content_width()
        self.shape = self._fitting_shape()
        model = self.model
        model.configure(self.shape.row_bytes, model.headers, model.direction, model.peer)
        self._rows.clear()
        self._strips.clear()
        self._update_size()
        self._keep_cursor_visible()
        self.refresh()

    def _fitting_shape(self) -> Shape:
        """The shape of the mode and layout chosen, or narrow when the layout's rows
        would not fit the width: rows never scroll sideways. `squeezed` says why."""
        shape = choose_shape(self.mode, self.layout_choice, self._width)
        need = row_width(shape.mode, shape.layout, shape.row_bytes)
        self.squeezed = ""
        if shape.mode != "text" and shape.layout != "narrow" and need > self._width:
            self.squeezed = f"{shape.layout} needs {need} columns"
            shape = choose_shape(self.mode, "narrow", self._width)
        return shape

    def _update_size(self) -> None:
        """The rows to scroll through (+ the status line). Set without laying the screen
        out again: a flood grows them at every refresh, and a layout repaints every
        widget of the screen, time the receiving threads need the GIL for. Showing or
        hiding the scrollbar still lays out (`_scroll_update` sets that reactive)."""
        size = Size(self._width, self.model.rows + 1)
        if size == self.virtual_size:
            return
        if not self.is_mounted or not self.container_size:
            self.virtual_size = size
            return
        self.set_reactive(Widget.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    def _reconfigure(self, **changes: object) -> None:
        for name, value in changes.items():  # headers, direction or peer of the model
            setattr(self.model, name, value)
        self._relayout()

    def _keep_cursor_visible(self) -> None:
        if self.cursor is not None and self.model.block_of(self.cursor[0]) is None:
            i = self.cursor[0]
            self.cursor = None
            near = self.model.step(i, True)
            self._set_cursor(self.model.step(i, False) if near is None else near, 0)
        if self.following:
            self._to_tail()
        else:
            self._scroll_to_cursor(center=True)

    @property
    def direction_filter(self) -> str:
        d = self.model.direction
        return "both" if d is None else DIRECTION_NAMES[d]

    @property
    def peer_filter(self) -> str | None:
        p = self.model.peer
        return None if p is None else self.model.peers[p]

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        self.mode = mode
        self._relayout()

    def set_layout(self, choice: str) -> None:
        if choice not in LAYOUT_CHOICES:
            raise ValueError(f"unknown layout {choice!r}; expected one of {LAYOUT_CHOICES}")
        self.layout_choice = choice
        self._relayout()

    def set_headers(self, shown: bool) -> None:
        self._reconfigure(headers=shown)

    def set_direction_filter(self, which: str) -> None:
        if which not in FILTERS:
            raise ValueError(f"unknown filter {which!r}; expected one of {FILTERS}")
        self._reconfigure(direction=None if which == "both" else DIRECTION_NAMES.index(which))

    def set_peer_filter(self, peer: str | None) -> None:
        if peer is not None and peer not in self.model.peers:
            raise ValueError(f"no chunk from or to {peer!r}")
        self._reconfigure(peer=None if peer is None else self.model.peers.index(peer))

    def set_follow(self, following: bool) -> None:
        if following == self.following:
            return
        self.following = following
        self.post_message(self.FollowChanged(following))
        if following:
            self._to_tail()
        self._strips.clear()
        self.refresh()

    def _to_tail(self) -> None:
        last = self.model.step(len(self.model), False)
        if last is not None:
            self.cursor = (last, self.model.chunk(last).size - 1)
        self._scroll_y(self.max_scroll_y)
        # The new virtual size counts once laid out: until then max_scroll_y is the old
        # one, and a burst that arrived in one batch would leave the view at its top.
        self.call_after_refresh(self._tail_again)

    def _tail_again(self) -> None:
        if self.following:
            self._scroll_y(self.max_scroll_y)

    def _scroll_y(self, y: int) -> None:
        if self.is_mounted:
            self.scroll_to(y=y, animate=False, immediate=True)


    # -- view actions --------------------------------------------------------------------

    def action_mode(self) -> None:
        self.set_mode(MODES[(MODES.index(self.mode) + 1) % len(MODES)])

    def action_layout(self) -> None:
        index = LAYOUT_CHOICES.index(self.layout_choice)
        self.set_layout(LAYOUT_CHOICES[(index + 1) % len(LAYOUT_CHOICES)])

    def action_headers(self) -> None:
        self.set_headers(not self.model.headers)

    def action_follow(self) -> None:
        self.set_follow(not self.following)

    def action_direction(self) -> None:
        self.set_direction_filter(FILTERS[(FILTERS.index(self.direction_filter) + 1) % 3])

    def action_peer(self) -> None:
        peers = [None, *self.model.peers[1:]]
        if len(peers) == 1:
            self._say("no peers to filter by: datagram sockets record one per datagram",
                      severity="warning")
            return
        self.set_peer_filter(peers[(peers.index(self.peer_filter) + 1) % len(peers)])
