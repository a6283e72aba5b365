"""The step vocabulary: every action on a socket is one step with its result or error."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol

from workbench.core.errors import InputError

# Names used in steps and session files, mapped to the constants of this platform.
# "packet" is Linux AF_PACKET and "raw" SOCK_RAW: both need an approval (raw_approval).
FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6, "unix": socket.AF_UNIX,
            "packet": getattr(socket, "AF_PACKET", 17)}
TYPES = {
    "stream": socket.SOCK_STREAM,
    "dgram": socket.SOCK_DGRAM,
    "seqpacket": socket.SOCK_SEQPACKET,
    "raw": socket.SOCK_RAW,
}
SHUTDOWN_HOW = {"rd": socket.SHUT_RD, "wr": socket.SHUT_WR, "rdwr": socket.SHUT_RDWR}
SEND_FLAGS = {
    "MSG_OOB": socket.MSG_OOB,
    "MSG_DONTWAIT": socket.MSG_DONTWAIT,
    "MSG_MORE": getattr(socket, "MSG_MORE", 0x8000),
    "MSG_NOSIGNAL": getattr(socket, "MSG_NOSIGNAL", 0x4000),
}
RECV_FLAGS = {
    "MSG_PEEK": socket.MSG_PEEK,
    "MSG_OOB": socket.MSG_OOB,
    "MSG_DONTWAIT": socket.MSG_DONTWAIT,
    "MSG_WAITALL": socket.MSG_WAITALL,
    "MSG_TRUNC": getattr(socket, "MSG_TRUNC", 0x20),
}


def family_name(family: int) -> str:
    for name, value in FAMILIES.items():
        if value == family:
            return name
    return str(int(family))


def type_name(sock_type: int) -> str:
    for name, value in TYPES.items():
        if value == sock_type:
            return name
    return str(int(sock_type))


def choose(kind: str, value: str, table: dict[str, int]) -> int:
    """Look a name up in a table, or raise a one-line InputError listing the choices."""
    try:
        return table[value.lower() if kind != "flag" else value.upper()]
    except (KeyError, AttributeError):
        raise InputError(
            f"unknown {kind} {value!r}: use one of {', '.join(table)}"
        ) from None


def flags_value(names: list[str] | tuple[str, ...], table: dict[str, int]) -> int:
    total = 0
    for name in names:
        total |= choose("flag", name, table)
    return total


class ByteSource(Protocol):
    """Somewhere payload bytes live (memory, a spill file, a journal, a sidecar)."""

    def read(self, at: int, size: int) -> bytes: ...


@dataclass(frozen=True)
class DataRef:
    """Payload bytes kept outside the step, so big captures stay out of memory."""

    source: ByteSource
    at: int
    size: int

    def load(self) -> bytes:
        return self.source.read(self.at, self.size)

    def __len__(self) -> int:
        return self.size


NOT_KEPT = -1  # a capture's position for bytes that passed but were not kept


NOT_KEPT_WHY = {  # why bytes were not kept, as a session records it
    "storage": "storage fell behind the stream",
    "budget": "the capture budget was reached",
    "disk": "free disk space fell below the floor",
}


@dataclass(frozen=True)
class NotKept:
    """Bytes that passed through a socket but were not kept: storage fell behind, the
    capture budget was reached, or the disk was nearly full (`why`).

    Only the size is known; replay compares such a stretch by length alone.
    """

    size: int
    why: str = "storage"

    def __len__(self) -> int:
        return self.size

    def load(self) -> bytes:
        why = NOT_KEPT_WHY.get(self.why, self.why)
        raise ValueError(f"{self.size} bytes were not kept ({why})")


Payload = bytes | DataRef | NotKept


def payload_bytes(value: Payload | None) -> bytes:
    """The bytes of a payload; raises ValueError for bytes that were not kept."""
    if value is None:
        return b""
    return value.load() if isinstance(value, DataRef | NotKept) else bytes(value)


@dataclass(frozen=True)
class StepError:
    """The errno a call failed with: the name is what replay compares (numbers vary)."""

    name: str
    number: int
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


CANCELLED = StepError("EINTR", errno.EINTR, "interrupted: cancelled by the user")


@dataclass
class Step:
    """One socket call (or wait/expect) with what it returned.

    `args` and `result` hold JSON-able values, except payloads (`data`), which are
    bytes or a DataRef. `auto` marks steps the engine recorded on its own
    (auto-receive, auto-accept, completion of a non-blocking connect).
    """

    op: str
    sock: int | None = None
    args: dict[str, Any] = field(default_factory=dict)
    auto: bool = False
    t: float = 0.0
    dur: float = 0.0
    result: dict[str, Any] | None = None
    error: StepError | None = None
    seq: int = -1

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def auto_received(self) -> bool:
        """A receive the engine made on its own that succeeded: what a flood records
        thousands of a second (data, or the end of the stream)."""
        return self.auto and self.error is None and self.op in ("recv", "recvfrom")

    @property
    def data(self) -> bytes:
        """The payload this step sent or received (empty if none)."""
        if self.result and "data" in self.result:
            return payload_bytes(self.result["data"])
        return payload_bytes(self.args.get("data"))

    def outcome(self) -> str:
        """A short human summary of the result, for logs and diffs."""
        if self.error is not None:
            return str(self.error)
        if not self.result:
            return "ok"
        parts = []
        for key, value in self.result.items():
            if key == "data":
                parts.append(f"{len(value)} bytes")
            else:
                parts.append(f"{key}={value}")
        return ", ".join(parts)

    def describe(self) -> str:
        """A one-line call signature without default arguments, e.g. `connect(#1, …)`."""
        from workbench.core.ops import describe  # the op table knows the defaults

        return describe(self)
