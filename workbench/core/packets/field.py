"""The decode tree: one Field per header field, layer, option or run of data.

Every node knows where its bytes sit in the packet (`offset`, `length`), so a decode
view can highlight a field's bytes in the hex view, and `path_at` finds the field
under a byte the other way round. Bit fields (IPv4 flags, TCP flags, the IPv6 flow
label) also name their bits within those bytes: `bits` is (first bit, bit count),
counting from the most significant bit of the first byte.

Decoders never raise on bad input: they build fields with a `Reader`, which raises
`Short` when a field runs past the end; the layer catches it and adds a "truncated"
node saying what was missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

TRUNCATED = "truncated"


@dataclass(frozen=True)
class Field:
    """A node of the decode tree; `text` is the line a decode view shows."""

    name: str
    value: Any
    text: str
    offset: int
    length: int
    children: tuple[Field, ...] = ()
    bits: tuple[int, int] | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    def child(self, name: str) -> Field | None:
        """The first direct child with this name."""
        return next((c for c in self.children if c.name == name), None)

    def find(self, *names: str) -> Field | None:
        """The field at a path of names, e.g. find("ipv4", "ttl") from the root."""
        node: Field | None = self
        for name in names:
            node = node.child(name) if node else None
        return node

    def search(self, name: str) -> Field | None:
        """The first node anywhere below with this name, depth first."""
        return next((n for n in self.walk() if n.name == name and n is not self), None)

    def walk(self) -> Iterator[Field]:
        yield self
        for c in self.children:
            yield from c.walk()

    def rows(self, depth: int = 0) -> Iterator[tuple[int, Field]]:
        """Every node with its depth, in the order a tree view lists them."""
        yield depth, self
        for c in self.children:
            yield from c.rows(depth + 1)

    @property
    def truncated(self) -> bool:
        return any(n.name == TRUNCATED for n in self.walk())


def path_at(root: Field, offset: int) -> tuple[Field, ...]:
    """The nodes from the root down to the deepest one whose bytes hold `offset`.

    Among fields sharing a byte (bit fields), the first is taken; none: empty."""
    if not root.offset <= offset < root.end:
        return ()
    path = [root]
    while True:
        inner = next((c for c in path[-1].children if c.offset <= offset < c.end), None)
        if inner is None:
            return tuple(path)
        path.append(inner)


def bit_pattern(node: Field, packet: bytes) -> str:
    """A bit field's bits among its bytes, the others as dots, a space every 4 bits:
    DF in the IPv4 flags byte 0x40 is ".1.. ....". Empty for a field of whole bytes."""
    if node.bits is None:
        return ""
    first, count = node.bits
    raw = packet[node.offset : node.end].ljust(node.length, b"\0")
    bits = "".join(f"{b:08b}" for b in raw)
    shown = "".join(c if first <= i < first + count else "." for i, c in enumerate(bits))
    return " ".join(shown[i : i + 4] for i in range(0, len(shown), 4))


class Short(Exception):
    """A field needs bytes past the end of what is there."""

    def __init__(self, what: str, need: int, have: int) -> None:
        super().__init__(what)
        self.what, self.need, self.have = what, need, have


@dataclass
class Reader:
    """Reads fields of one layer from `data[pos:end]`, collecting the nodes."""

    data: bytes
    pos: int
    end: int
    fields: list[Field] = field(default_factory=list)

    @property
    def left(self) -> int:
        return max(0, self.end - self.pos)

    def take(self, what: str, n: int) -> bytes:
        if n > self.left:
            raise Short(what, n, self.left)
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def add(self, name: str, value: Any, text: str, offset: int, length: int,
            children: tuple[Field, ...] | list[Field] = (),
            bits: tuple[int, int] | None = None) -> Field:
        node = Field(name, value, text, offset, length, tuple(children), bits)
        self.fields.append(node)
        return node

    def uint(self, name: str, size: int, label: str, show: Callable[[int], str] = str) -> int:
        """Read a big-endian unsigned field of `size` bytes and add its node."""
        at = self.pos
        value = int.from_bytes(self.take(label, size), "big")
        self.add(name, value, f"{label}: {show(value)}", at, size)
        return value

    def raw(self, name: str, size: int, label: str, text: str | None = None) -> bytes:
        at = self.pos
        chunk = self.take(label, size)
        self.add(name, chunk, text or f"{label}: {chunk.hex()}", at, size)
        return chunk

    def peek(self, size: int, at: int | None = None, what: str = "header") -> int:
        """A big-endian value at `at` (default: here) without moving; Short past the end."""
        start = self.pos if at is None else at
        if start + size > self.end:
            raise Short(what, size, max(0, self.end - start))
        return int.from_bytes(self.data[start : start + size], "big")

    def shown(self, name: str, size: int, label: str, show: Callable[[bytes], str]) -> str:
        """Read `size` bytes shown as text (an address), add the node, return the text."""
        at = self.pos
        text = show(self.take(label, size))
        self.add(name, text, f"{label}: {text}", at, size)
        return text

    def truncated(self, what: str, need: int, have: int) -> Field:
        """The node saying what was cut short; it holds the bytes left, and ends the layer."""
        node = self.add(TRUNCATED, need - have,
                        f"truncated: {what} needs {need} bytes, {have} present",
                        self.pos, self.left)
        self.pos = max(self.pos, self.end)
        return node

    def rest(self, name: str = "data", label: str = "data") -> None:
        """The bytes left in this layer as one data node (nothing when none are left)."""
        if self.left:
            at, n = self.pos, self.left
            chunk = self.take(label, n)
            self.add(name, chunk, f"{label}: {n} bytes", at, n)


def layer(name: str, text: str, start: int, end: int, fields: list[Field],
          value: Any = None) -> Field:
    """A layer node spanning its fields' bytes (from `start` to `end`)."""
    return Field(name, value, text, start, max(0, end - start), tuple(fields))


def bit_field(name: str, value: int, text: str, offset: int, length: int,
              first_bit: int, nbits: int) -> Field:
    return Field(name, value, text, offset, length, (), (first_bit, nbits))


def flag_nodes(value: int, names: tuple[str, ...], offset: int, length: int,
               first_bit: int) -> list[Field]:
    """One node per flag bit, most significant first; `names` from the top bit down."""
    nodes = []
    top = len(names) - 1
    for i, name in enumerate(names):
        on = bool(value >> (top - i) & 1)
        nodes.append(bit_field(name.lower(), on, f"{name}: {'set' if on else 'not set'}",
                               offset, length, first_bit + i, 1))
    return nodes

