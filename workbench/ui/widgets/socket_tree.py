"""The socket tree: one node per socket, accepted sockets under their listener."""

from __future__ import annotations

from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from workbench.io.engine import SocketInfo

SHORT = {("inet", "stream"): "tcp4", ("inet6", "stream"): "tcp6", ("inet", "dgram"): "udp4",
         ("inet6", "dgram"): "udp6", ("unix", "stream"): "unix-s", ("unix", "dgram"): "unix-d",
         ("unix", "seqpacket"): "unix-p"}


def kind_label(info: SocketInfo) -> str:
    return SHORT.get((info.family, info.type), f"{info.family}/{info.type}")


def human_bytes(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n}"


def socket_label(info: SocketInfo, wide: bool = False) -> str:
    state = f"{info.pending}…" if info.pending else info.state
    label = f"#{info.id} {kind_label(info)} {state}"
    if info.bytes_in or info.bytes_out:
        label += f" ↓{human_bytes(info.bytes_in)} ↑{human_bytes(info.bytes_out)}"
    if wide and (info.local or info.peer):
        label += f"  {info.local or '-'} → {info.peer or '-'}"
    return label


class SocketTree(Tree[int]):
    def __init__(self) -> None:
        super().__init__("sockets", id="sockets")
        self.show_root = False
        self.guide_depth = 2
        self._node_of: dict[int, TreeNode[int]] = {}

    def show(self, info: SocketInfo) -> TreeNode[int]:
        """Add or relabel the node of one socket."""
        wide = self.size.width >= 60
        node = self._node_of.get(info.id)
        if node is None:
            parent = self._node_of.get(info.parent or -1, self.root)
            node = parent.add(socket_label(info, wide), data=info.id, expand=True,
                              allow_expand=False)
            parent.allow_expand = parent is not self.root or parent.allow_expand
            parent.expand()
            self._node_of[info.id] = node
        else:
            label = socket_label(info, wide)
            if str(node.label) != label:  # a new label re-lays the tree out: only on change
                node.set_label(label)
        return node

    def has(self, sock: int) -> bool:
        return sock in self._node_of

    def select_socket(self, sock: int) -> None:
        node = self._node_of.get(sock)
        if node is not None:
            self.move_cursor(node)

    @property
    def selected(self) -> int | None:
        node = self.cursor_node
        return node.data if node is not None else None
