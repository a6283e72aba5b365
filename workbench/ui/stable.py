"""Stable screenshots: real ports shown as fixed fake ones.

Stable mode binds every port as 0 and keeps the socket, so nothing fixed is ever bound
for real; what the screen shows is then made stable in the exported screenshot only,
by writing each real port that stands in an address (`127.0.0.1:NNNNN`,
`[::1]:NNNNN`, `host:NNNNN`) as its fake. Ephemeral ports on Linux have five digits
and so do the fakes, so every line keeps its width.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.segment import Segment

PEER_PORT = 47007  # peers, in the order they started
SOCKET_PORT = 47107  # the app's own sockets, by id
REFUSED_PORT = 47209  # a port where nothing listens (tests)

# A port in an address: after a host (a name, dotted quad or [v6]) and its colon, the
# whole run of digits, never part of a longer number.
PORT = re.compile(r"(?<=[0-9A-Za-z.\]]):(\d+)(?!\d)")


def _check(port: int, what: str) -> None:
    if not 10000 <= port <= 65535:
        raise ValueError(f"{what} port {port} is not 5 digits: the fake would change "
                         "the width of what is shown")


class FakePorts:
    """Real port -> fake port, and the substitution that shows the fakes."""

    def __init__(self) -> None:
        self._fake: dict[int, int] = {}

    def __contains__(self, real: int) -> bool:
        return real in self._fake

    def __getitem__(self, real: int) -> int:
        return self._fake[real]

    def add(self, real: int, fake: int) -> None:
        """Show `real` as `fake`; both must have 5 digits, and a fake names one port."""
        _check(real, "real")
        _check(fake, "fake")
        if self._fake.get(real, fake) != fake:
            raise ValueError(f"port {real} is already shown as {self._fake[real]}")
        if any(f == fake and r != real for r, f in self._fake.items()):
            raise ValueError(f"fake port {fake} already stands for another port")
        self._fake[real] = fake

    def assign(self, real: int, base: int) -> int:
        """The fake of `real`: the one it has, else the first free one from `base`."""
        if real not in self._fake:
            taken = set(self._fake.values())
            self.add(real, next(p for p in range(base, 65536) if p not in taken))
        return self._fake[real]

    def text(self, text: str) -> str:
        """`text` with each real port in an address replaced by its fake."""
        if not self._fake:
            return text

        def fake(match: re.Match[str]) -> str:
            port = int(match.group(1))
            return f":{self._fake[port]}" if port in self._fake else match.group(0)

        return PORT.sub(fake, text)

    def segments(self, segments: Iterable[Segment]) -> list[Segment]:
        """Rendered segments with the fakes shown, each segment keeping its length.

        An address may be cut across segments (a style changing mid-line), so each run
        of text segments is replaced as one string and cut again where it was cut.
        """
        out: list[Segment] = []
        run: list[Segment] = []

        def flush() -> None:
            whole = "".join(s.text for s in run)
            faked = self.text(whole)
            assert len(faked) == len(whole), "a fake port changed the width"
            at = 0
            for s in run:
                out.append(Segment(faked[at:at + len(s.text)], s.style, s.control))
                at += len(s.text)
            run.clear()

        for segment in segments:
            if segment.control:
                flush()
                out.append(segment)
            else:
                run.append(segment)
        flush()
        return out
