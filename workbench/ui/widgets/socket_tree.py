"""The socket tree: one node per socket, accepted sockets under their listener.

The tree's cursor is the selected socket. It is marked with "▶" whether or not the
tree has the focus (the cursor's colour shows only while it has), so the marker also
reads under NO_COLOR. Labels fit the tree's width: counters that do not fit are left out, a state
that does not is cut with an ellipsis; nothing scrolls sideways.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from workbench.io.engine import SocketInfo

SHORT = {("inet", "stream"): "tcp4", ("inet6", "stream"): "tcp6", ("inet", "dgram"): "udp4",
         ("inet6", "dgram"): "udp6", ("unix", "stream"): "unix-s", ("unix", "dgram"): "unix-d",
         ("unix", "seqpacket"): "unix-p"}
MARK = "▶ "  # before the selected socket; the others get as many spaces
NO_LIMIT = 1 << 16


def kind_label(info: SocketInfo) -> str:
    return SHORT.get((info.family, info.type), f"{info.family}/{info.type}")


def human_bytes(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n}"


def socket_label(info: SocketInfo, room: int = NO_LIMIT) -> str:
    """`#id kind state`, then the byte counters (those not 0) when they fit in `room`; a head
    longer than that is cut with an ellipsis. (The header shows the addresses.)"""
    state = f"{info.pending}…" if info.pending else info.state
    label = f"#{info.id} {kind_label(info)} {state}"
    for arrow, count in (("↓", info.bytes_in), ("↑", info.bytes_out)):
        counter = f" {arrow}{human_bytes(count)}"
        if count and len(label) + len(counter) <= room:
            label += counter
    return label if len(label) <= room else label[:max(0, room - 1)] + "…"


class SocketTree(Tree[int]):
    # The tree's box never follows its lines (its column is fixed, its height 1fr): a
    # line added or widened changes only what scrolls. Where Textual lays the whole
    # screen out again for that, this tree repaints and sets its scroll bar, which lays
    # out only if the bar comes or goes. (Under a flood, the layout for a connection
    # accepted held the interpreter while the receiving thread waited for it.)
    virtual_size: Reactive[Size] = Reactive(Size(0, 0))

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)

    def _invalidate(self) -> None:
        self._clear_line_cache()
        self._updates += 1
        self.root._reset()
        self.refresh()

    def __init__(self) -> None:
        super().__init__("sockets", id="sockets")
        self.show_root = False
        self.guide_depth = 2
        self._node_of: dict[int, TreeNode[int]] = {}
        self._info: dict[int, SocketInfo] = {}

    def room(self, node: TreeNode[int] | None, parent: TreeNode[int]) -> int:
        """Cells a label has on its line: the width less the guides, the marker and an
        expand icon."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return NO_LIMIT  # not laid out yet: relabelled on the first resize
        depth = 0
        while parent is not self.root:
            depth, parent = depth + 1, parent.parent  # type: ignore[assignment]
        icon = len(self.ICON_NODE_EXPANDED) if node is not None and node.allow_expand else 0
        return width - depth * self.guide_depth - len(MARK) - icon

    def label_for(self, info: SocketInfo) -> str:
        """The label this tree gives the socket at its width now."""
        node = self._node_of.get(info.id)
        parent = node.parent if node is not None else self._node_of.get(info.parent or -1)
        return socket_label(info, self.room(node, parent or self.root))

    def show(self, info: SocketInfo) -> TreeNode[int]:
        """Add or relabel the node of one socket."""
        self._info[info.id] = info
        node = self._node_of.get(info.id)
        if node is None:
            parent = self._node_of.get(info.parent or -1, self.root)
            node = parent.add(self.label_for(info), data=info.id, expand=True,
                              allow_expand=False)
            if parent is not self.root and not parent.allow_expand:
                parent.allow_expand = True  # its icon takes room: relabel it
                self._relabel(parent)
            parent.expand()
            self._node_of[info.id] = node
        else:
            self._relabel(node)
        return node

    def _relabel(self, node: TreeNode[int]) -> None:
        info = self._info.get(node.data) if node.data is not None else None
        if info is None:
            return
        label = self.label_for(info)
        if str(node.label) != label:  # a new label re-lays the tree out: only on change
            node.set_label(label)

    def on_resize(self, event: Resize) -> None:
        for node in self._node_of.values():
            self._relabel(node)

    def has(self, sock: int) -> bool:
        return sock in self._node_of

    def select_socket(self, sock: int) -> None:
        """Put the cursor on a socket's node, even one added since the last refresh."""
        node = self._node_of.get(sock)
        if node is None:
            return
        _ = self.last_line  # lays the lines out again if nodes came since: lines are right
        self.move_cursor(node)

    @property
    def selected(self) -> int | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def render_label(self, node: TreeNode[int], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        if node is self.cursor_node:
            return Text.assemble((MARK, base_style + Style(bold=True)), label)
        return Text.assemble((" " * len(MARK), base_style), label)
