"""Comparing a replay with its recording: outcomes of calls and bytes received."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core.steps import NotKept, Step

CONTEXT = 16  # bytes of context shown around the first difference


@dataclass
class Mismatch:
    """One way the replay differed from the recording."""

    kind: str  # "outcome" | "bytes" | "datagrams" | "event" | "missing"
    message: str
    step: int | None = None
    sock: int | None = None
    offset: int | None = None  # the first byte that differs
    expected: bytes = b""  # context from both sides, from the line holding `offset`
    received: bytes = b""

    @property
    def context_offset(self) -> int:
        """Where the context starts: the 16-byte line holding the first difference."""
        offset = self.offset or 0
        return offset - offset % CONTEXT

    def render(self) -> str:
        lines = [self.message]
        if self.kind in ("bytes", "datagrams") and self.offset is not None:
            lines.append("  expected: " + hex_line(self.context_offset, self.expected))
            lines.append("  received: " + hex_line(self.context_offset, self.received))
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        for key in ("step", "sock", "offset"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.kind in ("bytes", "datagrams"):
            if self.offset is not None:
                out["context_offset"] = self.context_offset
            out["expected_hex"] = self.expected.hex(" ")
            out["received_hex"] = self.received.hex(" ")
        return out


@dataclass
class Expected:
    """What one recorded socket received: its bytes, datagrams and end events."""

    stream: bool = True
    chunks: list[bytes | NotKept] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # "eof", errno names of auto steps

    @property
    def size(self) -> int:
        return sum(len(c) for c in self.chunks)

    def count(self) -> int:
        return self.size if self.stream else len(self.chunks)


def join_kept(expected: list[bytes | NotKept], received: list[bytes | NotKept]
              ) -> tuple[bytes, bytes]:
    """Both streams joined; a stretch either side did not keep is blanked in both, so
    it compares by length alone."""
    joined = [bytearray(), bytearray()]
    gaps: list[tuple[int, int]] = []
    for chunks, out in zip((expected, received), joined, strict=True):
        for chunk in chunks:
            if isinstance(chunk, NotKept):
                gaps.append((len(out), len(out) + chunk.size))
                out += bytes(chunk.size)
            else:
                out += chunk
    for lo, hi in gaps:
        for out in joined:
            if lo < len(out):
                out[lo:min(hi, len(out))] = bytes(min(hi, len(out)) - lo)
    return bytes(joined[0]), bytes(joined[1])


def hex_line(offset: int, data: bytes) -> str:
    """`00000010  de ad be ef ...  |....|`, or a note when nothing is there."""
    if not data:
        return f"{offset:08x}  (nothing)"
    shown = " ".join(f"{b:02x}" for b in data)
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in data)
    return f"{offset:08x}  {shown:<{CONTEXT * 3}} |{text}|"


def outcome_key(step: Step) -> str:
    return step.error.name if step.error is not None else "ok"


def compare_outcome(recorded: Step, live: Step) -> Mismatch | None:
    want, got = outcome_key(recorded), outcome_key(live)
    if want == got:
        return None
    got_text = got if got != "ok" else f"ok ({live.outcome()})"
    return Mismatch(
        "outcome",
        f"step {recorded.seq} {recorded.describe()}: expected {want}, got {got_text}",
        step=recorded.seq, sock=recorded.sock,
    )


def compare_stream(sock: int, expected: bytes, received: bytes) -> Mismatch | None:
    """The first offset where two byte streams differ, with context from both."""
    if expected == received:
        return None
    limit = min(len(expected), len(received))
    at = next((i for i in range(limit) if expected[i] != received[i]), limit)
    start = at - at % CONTEXT
    if at == limit and len(received) < len(expected):
        what = f"received {len(received)} of {len(expected)} bytes"
    elif at == limit:
        what = f"received {len(received) - len(expected)} more bytes than recorded"
    else:
        what = "bytes differ"
    return Mismatch(
        "bytes", f"socket #{sock}: {what} (first difference at offset {at})",
        sock=sock, offset=at,
        expected=expected[start:start + CONTEXT], received=received[start:start + CONTEXT],
    )


def compare_datagrams(sock: int, expected: list[bytes | NotKept],
                      received: list[bytes | NotKept]) -> Mismatch | None:
    for i, (want, got) in enumerate(zip(expected, received, strict=False)):
        if isinstance(want, NotKept) or isinstance(got, NotKept):  # past a budget: by length
            if len(want) != len(got):
                return Mismatch("datagrams", f"socket #{sock}: datagram {i} is {len(got)} "
                                f"bytes, recorded {len(want)} (not kept: compared by length)",
                                sock=sock)
            continue
        if want != got:
            diff = compare_stream(sock, want, got)
            assert diff is not None
            diff.kind = "datagrams"
            diff.message = f"socket #{sock}: datagram {i} differs: {diff.message.split(': ', 1)[1]}"
            return diff
    if len(expected) != len(received):
        return Mismatch("datagrams", f"socket #{sock}: received {len(received)} datagrams, "
                        f"recorded {len(expected)}", sock=sock)
    return None


def compare_events(sock: int, expected: list[str], received: list[str]) -> Mismatch | None:
    if expected == received:
        return None
    return Mismatch("event", f"socket #{sock}: expected end events {expected or ['none']}, "
                    f"got {received or ['none']}", sock=sock)
