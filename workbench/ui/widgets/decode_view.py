"""The decode view: the header fields of the packet under the hex view's cursor, as a tree.

It shows one chunk (a datagram, frame or ICMP message) of a raw, packet or ping
socket, decoded with the link its socket and frame say (`receive_link`, `send_link`).
Moving its cursor posts `FieldChosen`, so the Data pane highlights that field's bytes
in the hex view; `select_byte` goes the other way: the field holding a byte (path_at).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from workbench.core.capture_index import ChunkInfo
from workbench.core.packets.decode import decode, receive_link, send_link
from workbench.core.packets.field import Field, path_at
from workbench.core.packets.sockaddr import is_packet_address, parse_packet_address
from workbench.core.raw_approval import describe
from workbench.core.steps import Step

IN = 0  # the capture's direction of received bytes (io.capture.IN)


@dataclass(frozen=True)
class SocketKind:
    """What a socket's chunks start with depends on these (IP_HDRINCL: what it sends)."""

    family: str
    type: str
    proto: int
    hdrincl: bool = False

    def link(self, chunk: ChunkInfo) -> str:
        if chunk.direction == IN:
            return receive_link(self.family, self.type, self.proto, ethertype_of(chunk.peer))
        return send_link(self.family, self.type, self.proto, self.hdrincl)


def ethertype_of(peer: str) -> int | None:
    """The ethertype a packet socket's recvfrom recorded in the chunk's peer text."""
    if not is_packet_address(peer):
        return None
    try:
        return parse_packet_address(peer).ethertype
    except ValueError:
        return None


def socket_kind(steps: Iterable[Step], sid: int) -> SocketKind | None:
    """The kind of a raw, packet or ping socket from the session's steps; None for
    another socket (its bytes are not packets)."""
    made: dict[str, object] | None = None
    hdrincl = False
    for step in steps:
        if step.op == "socket" and step.ok and (step.result or {}).get("sock") == sid:
            made = step.args
        elif step.sock == sid and step.op == "setsockopt" and step.ok \
                and step.args.get("option") == "IP_HDRINCL":
            hdrincl = bool(step.args.get("value"))
    if made is None:
        return None
    family, sock_type = str(made.get("family")), str(made.get("type"))
    proto = made.get("proto", 0)
    if not isinstance(proto, int) or describe(family, sock_type, proto) is None:
        return None
    return SocketKind(family, sock_type, proto, hdrincl)


class DecodeView(Tree[Field]):
    """Up/down move between fields (the hex view highlights the field's bytes); left and
    right fold and unfold a layer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "fold", "fold", show=False, id="decode.fold",
                tooltip="fold the layer (or go to it)"),
        Binding("right", "unfold", "unfold", show=False, id="decode.unfold",
                tooltip="unfold the layer"),
    ]

    DEFAULT_CSS = """
    DecodeView { height: 45%; min-height: 6; border-left: blank; background: $surface; }
    DecodeView:focus { border-left: outer $accent; }
    """

    class FieldChosen(Message):
        """The decode view's cursor is on `field` of `chunk`; `from_hex` when the hex
        view's cursor put it there (then the hex cursor stays)."""

        def __init__(self, field: Field, chunk: ChunkInfo, from_hex: bool) -> None:
            super().__init__()
            self.field, self.chunk, self.from_hex = field, chunk, from_hex

    def __init__(self, id: str | None = None) -> None:
        super().__init__(Text("no packet under the cursor"), id=id)
        self.show_root = True
        self.chunk: ChunkInfo | None = None
        self.packet: Field | None = None
        self._field_nodes: dict[int, TreeNode[Field]] = {}
        self._from_hex = False

    def show_message(self, text: str) -> None:
        """Nothing to decode: say why."""
        self.chunk = self.packet = None
        self.clear()
        self.root.set_label(Text(text))
        self._field_nodes = {}

    def show_chunk(self, data: bytes, chunk: ChunkInfo, link: str) -> None:
        """Decode one chunk's bytes (a no-op when it is already shown)."""
        if self.chunk is not None and self.chunk.index == chunk.index and self.packet:
            return
        root = decode(data, link)
        said = "< received" if chunk.direction == IN else "> sent"
        self.clear()
        self.root.set_label(Text(f"{said} {root.text}"))
        self.root.data = root
        self._field_nodes = {id(root): self.root}
        for child in root.children:
            self._add(self.root, child)
        self.root.expand()
        self.chunk, self.packet = chunk, root

    def _add(self, parent: TreeNode[Field], field: Field) -> None:
        node = parent.add(Text(field.text), data=field, expand=True,
                          allow_expand=bool(field.children))
        self._field_nodes[id(field)] = node
        for child in field.children:
            self._add(node, child)

    def select_byte(self, byte: int) -> None:
        """Put the cursor on the deepest field holding `byte` of the shown packet."""
        if self.packet is None:
            return
        path = path_at(self.packet, byte)
        node = self._field_nodes.get(id(path[-1])) if path else None
        if node is None:
            return
        for field in path[:-1]:
            self._field_nodes[id(field)].expand()
        # A node just added has no line until the tree is laid out again.
        self.call_after_refresh(self._move_from_hex, node)

    def _move_from_hex(self, node: TreeNode[Field]) -> None:
        if self._field_nodes.get(id(node.data)) is not node:
            return  # another packet is shown since
        if self.cursor_node is node:  # already there: no highlight event comes
            self._chosen(node, from_hex=True)
            return
        self._from_hex = True
        self.move_cursor(node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Field]) -> None:
        event.stop()
        self._chosen(event.node)

    def _chosen(self, node: TreeNode[Field], from_hex: bool = False) -> None:
        from_hex, self._from_hex = from_hex or self._from_hex, False
        if node.data is not None and self.chunk is not None:
            self.post_message(self.FieldChosen(node.data, self.chunk, from_hex))

    def action_fold(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.children:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    def action_unfold(self) -> None:
        if self.cursor_node is not None:
            self.cursor_node.expand()
