"""What the send editor asks for: payload modes, line endings, flags, repeat and history.

Pure: no I/O and no textual. A file payload is read by the caller, which hands the
bytes in; this module only checks the path and words the errors, so every rule of the
editor is tested without a UI.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError
from workbench.core.payload import parse_escapes, parse_hex, parse_text, to_escapes
from workbench.core.steps import SEND_FLAGS

# The order F2 cycles through: text then hex first, as the simple send bar did.
SEND_MODES = ("text", "hex", "escapes", "latin-1", "file")
TEXT_MODES = ("text", "escapes", "latin-1")  # typed text, one character a byte or more
ENDINGS = {"none": b"", "LF": b"\n", "CRLF": b"\r\n"}

COUNT_MAX = 1_000_000
INTERVAL_MIN_MS = 10
INTERVAL_MAX_MS = 3_600_000
MAX_FILE_SIZE = 64 * 1024 * 1024
HISTORY_LIMIT = 200

_MODE_ALIASES = {"utf-8": "text", "utf8": "text", "latin1": "latin-1", "iso-8859-1": "latin-1",
                 "escape": "escapes"}
_ENDING_ALIASES = {"": "none", "\n": "LF", "\r\n": "CRLF", "\\n": "LF", "\\r\\n": "CRLF"}
_FLAG_SEPARATORS = re.compile(r"[\s,|+]+")
_NUMBER = r"\d+(?:_\d+)*"
_REPEAT = re.compile(
    rf"(?:[x\u00d7*]\s*(?P<c1>{_NUMBER})(?![\d.])|(?P<c2>{_NUMBER})(?![\d.])\s*(?:x|\u00d7|times?)?)?\s*"
    rf"(?:(?:every|@)\s*(?P<t1>{_NUMBER}(?:\.\d+)?)\s*(?P<u1>ms|s)?"
    rf"|(?P<t2>{_NUMBER}(?:\.\d+)?)\s*(?P<u2>ms|s))?"
)
_REPEAT_HELP = "write N (e.g. 5), every T (e.g. every 250ms, every 2s) or N every T"


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# -- the parts of a request ------------------------------------------------------------


def parse_mode(mode: str) -> str:
    """A payload mode by name (case-insensitive, utf-8/latin1 accepted)."""
    name = mode.strip().lower()
    name = _MODE_ALIASES.get(name, name)
    if name not in SEND_MODES:
        raise InputError(f"unknown payload mode {mode!r}: use one of {', '.join(SEND_MODES)}")
    return name


def ending_group(mode: str) -> str:
    """The modes that type text, as one group (the editor keeps an ending per mode)."""
    return "text" if mode in TEXT_MODES else mode


def parse_ending(ending: str) -> str:
    """none, LF or CRLF, by name (any case) or as the characters themselves."""
    if ending in _ENDING_ALIASES:
        return _ENDING_ALIASES[ending]
    for name in ENDINGS:
        if ending.strip().lower() == name.lower():
            return name
    raise InputError(f"unknown line ending {_clip(ending)!r}: use none, LF or CRLF")


def parse_flags(flags: str | Iterable[str]) -> list[str]:
    """Send flag names, MSG_ optional, any case; canonical names in SEND_FLAGS order."""
    names = _FLAG_SEPARATORS.split(flags) if isinstance(flags, str) else list(flags)
    chosen: set[str] = set()
    for raw in names:
        if not raw.strip():
            continue
        name = raw.strip().upper()
        name = name if name.startswith("MSG_") else "MSG_" + name
        if name not in SEND_FLAGS:
            raise InputError(
                f"unknown send flag {_clip(raw)!r}: use {', '.join(SEND_FLAGS)}")
        chosen.add(name)
    return [name for name in SEND_FLAGS if name in chosen]


def parse_repeat(text: str) -> tuple[int, int | None]:
    """`5` sends 5 times; `every 250ms` until stopped (count 0); `5 every 1s` 5 times."""
    t = text.strip().lower()
    if not t:
        return 1, None
    match = _REPEAT.fullmatch(t)
    if match is None or not any(match.groups()):
        raise InputError(f"repeat {_clip(text)!r} not understood: {_REPEAT_HELP}")
    count_text = match["c1"] or match["c2"]
    every = match["t1"] or match["t2"]
    interval = _interval_ms(every, match["u1"] or match["u2"] or "ms") if every else None
    count = _count(count_text) if count_text else (0 if interval else 1)
    return count, interval


def _count(text: str) -> int:
    count = int(text.replace("_", ""))
    if not 1 <= count <= COUNT_MAX:
        raise InputError(f"repeat count {count} out of range: use 1-{COUNT_MAX}")
    return count


def _interval_ms(text: str, unit: str) -> int:
    value = Decimal(text.replace("_", "")) * (1000 if unit == "s" else 1)  # exact: 1.1s
    if value != int(value):
        raise InputError(f"interval {text}{unit} is not a whole number of ms: use e.g. 250ms")
    ms = int(value)
    if not INTERVAL_MIN_MS <= ms <= INTERVAL_MAX_MS:
        raise InputError(
            f"interval {ms} ms out of range: use {INTERVAL_MIN_MS}-{INTERVAL_MAX_MS} ms "
            "(10 ms to 1 h)")
    return ms


def format_repeat(count: int, interval_ms: int | None) -> str:
    """The text parse_repeat reads back as (count, interval_ms)."""
    if interval_ms is None:
        return str(count)
    every = f"every {interval_ms}ms"
    return every if count == 0 else f"{count} {every}"


def encode_payload(text: str, mode: str) -> bytes:
    """Typed payload to bytes, for every mode but file (which the caller reads)."""
    if mode == "text":
        return parse_text(text)
    if mode == "latin-1":
        return parse_text(text, "latin-1")
    if mode == "hex":
        return parse_hex(text)
    if mode == "escapes":
        return parse_escapes(text)
    raise InputError(f"mode {mode!r} has no typed payload: use text, hex, escapes or latin-1")


def check_path(text: str) -> str:
    """The path typed in file mode; the caller expands ~ and reads it."""
    path = text.strip()
    if not path:
        raise InputError("file mode needs a path: type the path of the file to send")
    if "\0" in path:
        raise InputError("the file path contains a NUL character: remove it")
    return path


def check_file_size(path: str, size: int) -> None:
    if size > MAX_FILE_SIZE:
        raise InputError(
            f"{_clip(path, 50)} is {size} bytes, over the 64 MiB limit: "
            "send a smaller file or split it")


def file_error(path: str, exc: OSError) -> InputError:
    """A one-line error for a file that could not be read."""
    reason = exc.strerror or type(exc).__name__
    return InputError(f"cannot read {_clip(path, 50)}: {reason}: check the path and permissions")


def check_destination(destination: str, required: bool = False) -> str:
    dest = destination.strip()
    if not dest:
        if required:
            raise InputError("destination needed: this socket is not connected; "
                             "type host:port, e.g. 127.0.0.1:9, or peer:NAME")
        return ""
    if not dest.startswith(("peer:", "sock:")):
        try:
            parse_endpoint(dest)
        except InputError as exc:
            raise InputError(f"destination: {exc}") from None
    return dest


# -- the request -----------------------------------------------------------------------


@dataclass
class SendRequest:
    """One send as the user asked for it; `count` 0 with an interval means until stopped."""

    data: bytes
    destination: str = ""
    flags: list[str] = field(default_factory=list)
    count: int = 1
    interval_ms: int | None = None

    @property
    def op(self) -> str:
        return "sendto" if self.destination else "send"

    @property
    def repeats(self) -> bool:
        return self.count != 1 or self.interval_ms is not None

    def step_args(self) -> dict[str, object]:
        """Arguments of one send step for Engine.submit (flags only when set)."""
        args: dict[str, object] = {"data": self.data}
        if self.flags:
            args["flags"] = list(self.flags)
        if self.destination:
            args["address"] = self.destination
        return args

    def describe(self) -> str:
        """One line for notifications: `send 'hi\\n' (3 bytes), 5 times with MSG_MORE`."""
        shown = _clip(to_escapes(self.data[:64]), 24)
        text = f"{self.op} '{shown}' ({len(self.data)} bytes)"
        if self.destination:
            text += f" to {self.destination}"
        if self.interval_ms is not None:
            text += f" every {self.interval_ms} ms"
            text += " until stopped" if self.count == 0 else f", {self.count} times"
        elif self.count != 1:
            text += f", {self.count} times"
        if self.flags:
            text += " with " + "|".join(self.flags)
        return text


def build_request(text: str, mode: str, ending: str = "none",
                  flags: str | Iterable[str] = (), repeat_text: str = "",
                  destination: str = "", *, file_data: bytes | None = None,
                  require_destination: bool = False) -> SendRequest:
    """Check every field and build the request; the first mistake raises InputError.

    In file mode `text` is the path and `file_data` the bytes the caller read from it.
    """
    mode = parse_mode(mode)
    if mode == "file":
        check_path(text)
        if file_data is None:
            raise InputError("file mode sends the file's bytes: read the file first")
        data = file_data
    else:
        data = encode_payload(text, mode)
    data += ENDINGS[parse_ending(ending)]
    count, interval = parse_repeat(repeat_text)
    return SendRequest(data, check_destination(destination, require_destination),
                       parse_flags(flags), count, interval)


# -- history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    text: str
    mode: str


class SendHistory:
    """Payloads sent, recalled with up/down like a shell: bounded, no repeated neighbours.

    Moving back first keeps what is being typed (the draft) so moving forward past the
    newest entry gives it back.
    """

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self._entries: deque[HistoryEntry] = deque(maxlen=limit)
        self._pos: int | None = None  # index being shown, None while editing the draft
        self._draft = HistoryEntry("", "text")

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[HistoryEntry]:
        return list(self._entries)

    def add(self, text: str, mode: str) -> None:
        entry = HistoryEntry(text, mode)
        if not self._entries or self._entries[-1] != entry:
            self._entries.append(entry)
        self._pos = None

    def previous(self, text: str, mode: str) -> HistoryEntry | None:
        """The entry before the one shown (None at the oldest or with no history)."""
        if not self._entries or self._pos == 0:
            return None
        if self._pos is None:
            self._draft = HistoryEntry(text, mode)
            self._pos = len(self._entries)
        self._pos -= 1
        return self._entries[self._pos]

    def next(self) -> HistoryEntry | None:
        """The entry after the one shown; past the newest, the draft (None if not recalling)."""
        if self._pos is None:
            return None
        self._pos += 1
        if self._pos >= len(self._entries):
            self._pos = None
            return self._draft
        return self._entries[self._pos]
