"""A live workspace: the engine, the peers it started, its journal and its file.

The TUI drives one of these; it holds no widgets and imports nothing from textual,
so everything it does is testable headless.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.session import PeerSpec, Session
from workbench.io.engine import Call, Engine, Listener
from workbench.io.journal import Journal, default_journal_dir
from workbench.io.peers import Peer, format_address, parse_kind, parse_transport
from workbench.io.peerset import peer_sockaddr
from workbench.io.sessionfile import load_session, save_session

DEMO_PORT = 47007  # the fixed demo port used when ports must be stable (screenshots, tests)


class Workspace:
    def __init__(self, listener: Listener | None = None, journal_dir: Path | None = None,
                 journal: bool = True, port_base: int | None = None,
                 lossless: bool = False) -> None:
        self.listener = listener
        self.port_base = port_base  # peers get fixed ports from here: stable screenshots
        self.path: Path | None = None
        self.recorded: Session | None = None  # a loaded session, for stepping through
        self._peers: list[Peer] = []
        self._scratch = contextlib.ExitStack()
        self._scratch_dir = self._scratch.enter_context(
            tempfile.TemporaryDirectory(prefix="workbench-"))
        self.journal = Journal(journal_dir or default_journal_dir()) if journal else None
        self.session = Session(created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        if self.journal is not None:
            self.journal.start(self.session)
        self.engine = Engine(self.session, listener=self._relay, journal=self.journal)
        self.engine.log.lossless = lossless
        self.dirty = False

    def _relay(self, event: Any) -> None:
        self.dirty = True
        if self.listener is not None:
            self.listener(event)

    # -- steps ---------------------------------------------------------------------------

    def submit(self, op: str, sock: int | None = None, **args: Any) -> Call:
        """Start a step; InputError (one line) for a mistake in its arguments."""
        return self.engine.submit(op, sock, **args)

    # -- peers ---------------------------------------------------------------------------

    def start_peer(self, kind: str, transport: str = "tcp", address: str = "",
                   name: str = "") -> str:
        """Start a built-in peer that steps reach as `peer:NAME`; returns the name."""
        kind, transport = parse_kind(kind), parse_transport(transport)
        name = name or self._free_name(kind)
        if not address and self.port_base is not None and not transport.startswith("unix"):
            address = f"127.0.0.1:{self.port_base + len(self._peers)}"
        spec = PeerSpec(name, kind, transport, address)
        try:
            peer = Peer(kind, transport, peer_sockaddr(spec, self._scratch_dir)).start()
        except OSError as exc:
            raise InputError(f"cannot start {kind} peer on {address or 'loopback'}: "
                             f"{exc.strerror}; try another address or port") from None
        self._peers.append(peer)
        self.engine.peers[name] = format_address(peer.address)
        self.session.peers.append(spec)
        return name

    def _free_name(self, kind: str) -> str:
        taken = set(self.engine.peers)
        return next(f"{kind}{n or ''}" for n in range(1000) if f"{kind}{n or ''}" not in taken)

    def peer_addresses(self) -> dict[str, str]:
        return dict(self.engine.peers)

    # -- files ---------------------------------------------------------------------------

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path else self.path
        if target is None:
            raise InputError("no file yet: use save as and give a path, e.g. session.json")
        if target.is_dir():
            raise InputError(f"{target} is a directory: give a file name, e.g. {target}/s.json")
        if not target.parent.exists():
            raise InputError(f"folder {target.parent} does not exist: create it or pick another")
        self.path = save_session(self.session, target)
        self.dirty = False
        return self.path

    def load(self, path: str | Path, recorded: Session | None = None) -> Session:
        """Load a session to step through; its peers start so its steps can run.

        `recorded` is the session already read from `path`, if the caller has it.
        """
        recorded = recorded or load_session(path)
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
        self.engine.shutdown()
        if self.journal is not None:
            self.journal.close()
        self._scratch.close()

