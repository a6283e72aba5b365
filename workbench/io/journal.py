"""The journal: each step appended to disk as it happens, so nothing is lost.

A journal is a directory with `steps.jsonl` (a header line, then one line per step
or started peer, written with one write() each) and `data.bin` (the engine's byte log: every byte
sent or received that was kept). A step's line is written only once the bytes it
refers to are in `data.bin`, so a process killed with SIGKILL leaves a journal whose
every line is whole: the kernel holds every write already. Reopening reads the lines
back, skipping a line the kill cut short. While a journal is written it holds a lock
on `steps.jsonl`, so pruning (`journals.py`) never removes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.session import (
    PayloadReader,
    PeerSpec,
    Session,
    SessionFormatError,
    check_header,
    inline_payload,
    not_kept_json,
    peers_from_json,
    session_header,
    step_from_json,
    step_to_json,
)
from workbench.core.session_checks import parse_json
from workbench.core.steps import DataRef, NotKept, Payload
from workbench.io.capture import ByteLog
from workbench.io.journal_files import (
    Shortfalls,
    create_new,
    make_journal_dir,
    open_data,
    read_whole,
)
from workbench.io.sidecars import checked_reader

JOURNAL_FORMAT = "socket-workbench-journal"
STEPS, DATA = "steps.jsonl", "data.bin"
INLINE_MAX = 4096


def journals_root() -> Path:
    """Where journals live unless told otherwise ($XDG_STATE_HOME respected)."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(state) / "socket-workbench" / "journals"


def default_journal_dir() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = journals_root() / f"{stamp}-{os.getpid()}"
    for n in range(2, 1000):  # a journal starts only in a new folder: another this second
        if not os.path.lexists(base):
            break
        base = base.with_name(f"{stamp}-{os.getpid()}-{n}")
    return base


class Journal:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        make_journal_dir(self.dir, STEPS)  # new or empty: nothing planted is written through
        self._fd = create_new(self.dir / STEPS, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # in use: never pruned
            self.log = ByteLog(path=str(self.dir / DATA), exclusive=True)
        except BaseException:
            os.close(self._fd)
            raise
        self._lock = threading.Lock()
        self._waiting: deque[tuple[int, bytes]] = deque()  # (bytes needed, line), in order

    def start(self, session: Session) -> None:
        header = session_header(session)
        header["format"] = JOURNAL_FORMAT
        self._write(header)

    def peer(self, spec: PeerSpec) -> None:
        """Journal a started peer, in step order: a recovered session starts it again."""
        self.enqueue(0, _line({"peer": spec.to_json()}))

    def append(self, step: Any) -> None:
        """Queue the step's line; it is written once its bytes are in data.bin."""
        self.enqueue(*self.encode(step))

    def encode(self, step: Any) -> tuple[int, bytes]:
        """The step's line, and how much of data.bin must be written before it."""
        need = [0]

        def payload(value: Payload) -> dict[str, Any]:
            obj = self._payload(value)
            if "file" in obj:
                need[0] = max(need[0], obj["at"] + obj["size"])
            return obj

        line = _line(step_to_json(step, payload))
        return need[0], line

    def enqueue(self, need: int, line: bytes) -> None:
        """Queue a line for writing once data.bin holds `need` bytes (call in step order)."""
        with self._lock:
            self._waiting.append((need, line))
        self.log.when_durable(need, self._write_ready)

    def _payload(self, value: Payload) -> dict[str, Any]:
        if isinstance(value, NotKept):
            return not_kept_json(value)
        if isinstance(value, DataRef) and value.source is self.log:
            return {"file": DATA, "at": value.at, "size": value.size}
        if len(value) <= INLINE_MAX:
            return inline_payload(value)
        data = value.load() if isinstance(value, DataRef) else bytes(value)
        return {"file": DATA, "at": self.log.append(data), "size": len(data)}

    def _write_ready(self) -> None:
        """Write the queued lines whose bytes are in the file, in order."""
        with self._lock:
            while self._waiting and self._waiting[0][0] <= self.log.durable:
                os.write(self._fd, self._waiting.popleft()[1])

    def _write(self, obj: dict[str, Any]) -> None:
        os.write(self._fd, _line(obj))  # one write per line: a kill never leaves half of one

    def close(self) -> None:
        self.log.close()  # writes every byte, and with them the lines still waiting
        self._write_ready()
        os.close(self._fd)


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def is_journal(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / STEPS).is_file()


def load_journal(directory: str | os.PathLike[str]) -> Session:
    """Reopen a journal as a session; a last line cut short by a kill is skipped."""
    path = Path(directory)
    lines = read_whole(path / STEPS).split(b"\n")
    if not lines or not lines[0].strip():
        raise SessionFormatError(f"{path}: the journal is empty")
    header = _parse_line(lines[0], path, 1)
    check_header(header, JOURNAL_FORMAT)
    session = Session(peers=peers_from_json(header.get("peers", [])),
                      title=str(header.get("title", "")), created=str(header.get("created", "")))
    log = open_data(path / DATA)  # read-only: a journal in a read-only folder reads back
    short = Shortfalls()
    read = checked_reader(lambda name: _data_file(path, name, log), short.note)
    if log is not None:
        session.closers.append(log.close)
    try:
        _read_steps(session, lines, path, read, short)
        short.check(path / DATA, len(log) if log is not None else 0)
    except BaseException:
        session.close()
        raise
    return session


def _read_steps(session: Session, lines: list[bytes], path: Path, read: PayloadReader,
                short: Shortfalls) -> None:
    for number, raw in enumerate(lines[1:], start=2):
        short.line = number
        if not raw.strip():
            continue
        try:
            obj = parse_json(raw)
        except InputError as exc:
            if number == len(lines) or not any(x.strip() for x in lines[number:]):
                break  # the last line, cut short
            raise SessionFormatError(f"{path}: line {number} is not valid JSON ({exc})") from None
        if isinstance(obj, dict) and "peer" in obj and "op" not in obj:
            _add_peer(session, obj["peer"], f"{path.name} line {number}")
            continue
        session.add(step_from_json(obj, read, f"{path.name} line {number}"))


def _add_peer(session: Session, obj: Any, where: str) -> None:
    """A `{"peer": {...}}` line: a peer started during the run (older journals have none)."""
    try:
        (spec,) = peers_from_json([obj])
    except SessionFormatError as exc:
        raise SessionFormatError(f"{where}: {exc}") from None
    if session.peer(spec.name) is None:  # the header may declare it too
        session.peers.append(spec)


def _parse_line(raw: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        return parse_json(raw)
    except InputError as exc:
        raise SessionFormatError(f"{path}: line {number} is not valid JSON ({exc})") from None


def _data_file(path: Path, name: str, log: ByteLog | None) -> ByteLog:
    if name != DATA or log is None:
        raise InputError(f"{path}: payload refers to {name!r}, which the journal does not have")
    return log
