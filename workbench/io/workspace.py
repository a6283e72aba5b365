"""A live workspace: the engine, the peers it started, its journal and its file.

This is the front door for the UI: it subscribes to events, submits steps, reads
socket snapshots and captures, cancels, inspects, and asks which ops make sense now,
all without touching engine internals. It holds no widgets and imports nothing from
textual, so everything it does is testable headless.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

from workbench.core.capture_rows import NewChunks
from workbench.core.errors import InputError
from workbench.core.packets.sockaddr import parse_packet_address
from workbench.core.session import PeerSpec, Session
from workbench.core.session_checks import check_total
from workbench.core.sizes import AUTO, Budget
from workbench.core.sockstate import Kind, State, why_not
from workbench.core.steps import FAMILIES, Step
from workbench.io.addresses import check_family, endpoint_for
from workbench.io.capture_limits import capture_limits, full_text
from workbench.io.engine import Call, Engine, EngineEvent, Listener, SocketInfo
from workbench.io.evidence import diagnose_recorded
from workbench.io.inspectors import looker
from workbench.io.journal import Journal, default_journal_dir, journals_root
from workbench.io.journals import mark_saved, tidy_at_start
from workbench.io.peers import Peer, format_address, parse_kind, parse_transport
from workbench.io.peerset import check_loopback, peer_sockaddr
from workbench.io.sessionfile import load_session, save_session
from workbench.io.settings import load_settings


class CaptureView(Protocol):
    """What a view reads of one socket's capture: copies and reads, no locks."""

    totals: list[int]
    lost: list[int]

    def index_since(self, start: int) -> NewChunks | None: ...

    def read(self, direction: int, offset: int, size: int) -> bytes: ...

    def read_log(self, pos: int, size: int) -> bytes: ...

    def why(self, index: int) -> str: ...


class Workspace:
    def __init__(self, journal_dir: Path | None = None, journal: bool = True,
                 lossless: bool = False, allow_public_peers: bool = False,
                 capture_budget: Budget = AUTO) -> None:
        """`capture_budget`: received bytes the capture may keep (None: no budget; AUTO:
        the settings file's, else the default). In the default journals folder, saved
        journals older than a week are pruned first, and the folder's cap applies."""
        self.path: Path | None = None
        self.notices: list[str] = []  # one line each, for the user at start
        self._saved: tuple[Path, int] | None = None  # the last save: file, steps
        self.allow_public_peers = allow_public_peers  # for peers a loaded file declares
        self.recorded: Session | None = None  # a loaded session, for stepping through
        self._peers: list[Peer] = []
        self._scratch = contextlib.ExitStack()
        self._scratch_dir = self._scratch.enter_context(
            tempfile.TemporaryDirectory(prefix="workbench-"))
        settings, warning = load_settings()
        self.notices += [warning] if warning else []
        root = journals_root() if journal and journal_dir is None else None
        if root is not None:
            self.notices += tidy_at_start(root)
        self.journal = Journal(journal_dir or default_journal_dir()) if journal else None
        self.session = Session(created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        if self.journal is not None:
            self.journal.start(self.session)
        self.engine = Engine(self.session, journal=self.journal, ready_ring=True)
        self.engine.log.lossless = lossless
        folder = self.journal.dir if self.journal is not None else Path(tempfile.gettempdir())
        limits = capture_limits(folder, capture_budget, settings, journals=root)
        limits.apply(self.engine.log)
        self.notices += limits.notices
        self.dirty = False
        self.engine.subscribe(self._mark_dirty)

    def _mark_dirty(self, event: EngineEvent) -> None:
        self.dirty = True

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Feed `callback` every engine event (on engine threads); returns the unsubscribe."""
        return self.engine.subscribe(callback)

    def subscriber_count(self) -> int:
        return self.engine.subscriber_count

    def set_clock(self, clock: Callable[[], float]) -> None:
        """A frozen clock: stable screenshots."""
        self.engine.clock = clock

    # -- steps ---------------------------------------------------------------------------

    def submit(self, op: str, sock: int | None = None, **args: Any) -> Call:
        """Start a step; InputError (one line) for a mistake in its arguments."""
        return self.engine.submit(op, sock, **args)

    def call(self, op: str, sock: int | None = None, within: float | None = 10.0,
             **args: Any) -> Step:
        """Submit and wait for the step (scripts, the demo, replay)."""
        return self.engine.call(op, sock, within, **args)

    def steps(self) -> list[Step]:
        return self.engine.steps()

    def cancel_pending(self, sock: int) -> int:
        """Cancel what is in progress on one socket; how many calls that was."""
        return self.engine.cancel_pending(sock)

    def inspect(self, sock: int, what: str) -> Future:
        """A read that is not a step (`local`, `peer`, `options`, `option:NAME`,
        `tcp_info`, `flags`), run on the socket's actor; the future holds the value or
        the OSError."""
        return self.engine.inspect(sock, looker(what))

    def diagnose(self, step_seq: int) -> Future:
        """Explain a failed step with evidence gathered now (io/evidence), on a thread of
        its own: it may read /proc and run `ip` for a second. The future holds the
        Diagnosis; an InputError when no step has that number."""
        done: Future = Future()
        step = next((s for s in self.steps() if s.seq == step_seq), None)
        if step is None:
            done.set_exception(InputError(f"no step #{step_seq}"))
            return done

        def run() -> None:
            if done.set_running_or_notify_cancel():
                try:
                    done.set_result(diagnose_recorded(self.engine, step))
                except Exception as exc:  # a diagnosis is best effort; say why it is missing
                    done.set_exception(exc)

        threading.Thread(target=run, name=f"diagnose-{step_seq}", daemon=True).start()
        return done

    # -- sockets -------------------------------------------------------------------------

    def sockets(self) -> list[SocketInfo]:
        return self.engine.sockets()

    def socket_info(self, sock: int) -> SocketInfo | None:
        """A snapshot of one socket, or None if there is no such socket."""
        try:
            return self.engine.socket_info(sock)
        except InputError:
            return None

    def capture(self, sock: int) -> CaptureView:
        return self.engine.capture(sock)

    def why_not(self, sock: int | None, op: str) -> str | None:
        """Why `op` makes no sense on this socket now, or None if it may."""
        info = self.socket_info(sock) if sock is not None else None
        if info is None:
            return "no socket selected: press n to create one"
        return why_not(Kind(info.kind), State(info.state), op, info.family)

    def check_address(self, sock: int, text: str) -> str:
        """Parse an address and check it fits the socket's family (before any syscall)."""
        info = self.socket_info(sock)
        if info is None:
            raise InputError(f"no socket #{sock}")
        if info.family == "packet":  # an interface: iface:lo
            parse_packet_address(text)
            return text.strip()
        endpoint = endpoint_for(text, self.engine.peers, self._local_of)
        check_family(endpoint, FAMILIES[info.family], info.id)
        return text.strip()

    def _local_of(self, sid: int) -> str:
        info = self.socket_info(sid)
        if info is None:
            raise InputError(f"no socket #{sid}: use sock:N with an existing socket")
        return info.local

    # -- capture -------------------------------------------------------------------------

    @property
    def lossless(self) -> bool:
        return self.engine.log.lossless

    def set_lossless(self, on: bool) -> None:
        """Keep every byte (back-pressure) or keep up with the stream (gaps marked)."""
        self.engine.log.lossless = on

    def capture_full(self) -> str:
        """'capture full (1.0G kept of 1.0G budget)' once the budget or the disk's free
        space stops received bytes from being kept; "" until then."""
        return full_text(self.engine.log)

    # -- peers ---------------------------------------------------------------------------

    def start_peer(self, kind: str, transport: str = "tcp", address: str = "",
                   name: str = "") -> str:
        """Start a built-in peer that steps reach as `peer:NAME`; returns the name."""
        kind, transport = parse_kind(kind), parse_transport(transport)
        name = name or self._free_name(kind)
        spec = PeerSpec(name, kind, transport, address)
        try:
            peer = Peer(kind, transport, peer_sockaddr(spec, self._scratch_dir)).start()
        except OSError as exc:
            raise InputError(f"cannot start {kind} peer on {address or 'loopback'}: "
                             f"{exc.strerror}; try another address or port") from None
        self._peers.append(peer)
        self.engine.peers[name] = format_address(peer.address)
        self.session.peers.append(spec)
        if self.journal is not None:  # the header is long written: recover needs the peer
            self.journal.peer(spec)
        return name

    def _free_name(self, kind: str) -> str:
        taken = set(self.engine.peers)
        return next(f"{kind}{n or ''}" for n in range(1000) if f"{kind}{n or ''}" not in taken)

    def peer_addresses(self) -> dict[str, str]:
        return dict(self.engine.peers)

    # -- files ---------------------------------------------------------------------------

    def save(self, path: str | Path | None = None) -> Path:
        if isinstance(path, str) and path.endswith("/"):  # Path() would drop the slash
            raise InputError(f"{path!r} names a folder: give a file name, e.g. {path}s.json")
        target = Path(path) if path else self.path
        if target is None:
            raise InputError("no file yet: use save as and give a path, e.g. session.json")
        if target.is_dir():
            raise InputError(f"{target} is a directory: give a file name, e.g. {target}/s.json")
        if not target.parent.exists():
            raise InputError(f"folder {target.parent} does not exist: create it or pick another")
        steps = len(self.session.steps)  # what the file holds: later steps are unsaved
        self.path = save_session(self.session, target)
        self.dirty = False
        self._mark_saved(self.path, steps)
        return self.path

    def _mark_saved(self, path: Path, steps: int) -> None:
        """Note in the journal that a file holds its first `steps` steps (for pruning)."""
        self._saved = (path, steps)
        if self.journal is not None:
            with contextlib.suppress(OSError, InputError):  # the file is saved regardless
                mark_saved(self.journal.dir, path, steps)

    def load(self, path: str | Path, recorded: Session | None = None) -> Session:
        """Load a session to step through; its peers start so its steps can run.

        `recorded` is the session already read from `path`, if the caller has it.
        """
        loaded = recorded is None
        recorded = recorded or load_session(path)
        check_total(recorded.steps)  # stepping through compares in memory, as replay does
        try:
            if not self.allow_public_peers:
                check_loopback(recorded.peers)  # before any of them starts
        except InputError:
            if loaded:
                recorded.close()  # its sidecars
            raise
        if self.recorded is not None and self.recorded is not recorded:
            self.recorded.close()  # the previous session's sidecars
        for spec in recorded.peers:
            if spec.name not in self.engine.peers:
                self.start_peer(spec.kind, spec.transport, spec.address, spec.name)
        self.recorded = recorded
        self.path = Path(path) if not Path(path).is_dir() else None
        self.session.title = recorded.title
        return recorded

    def close(self) -> None:
        # Peers first: the server side closes first and keeps the TIME_WAIT, so a
        # client that binds a fixed port can connect again at once next time.
        for peer in self._peers:
            peer.stop()
        saved = self._saved if self._saved and self._saved[1] == len(self.session.steps) else None
        self.engine.shutdown()
        if self.journal is not None:
            self.journal.close()
            if saved is not None:  # nothing since the save but the closing: still saved
                self._mark_saved(saved[0], len(self.session.steps))
        self._scratch.close()

