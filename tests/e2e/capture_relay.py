"""A capturing relay: it stands between a program under test and a real peer and
keeps every byte that passed each way, so a test checks what each side received
without taking the program's word for it.

Streams: each accepted connection is joined to a new connection to the upstream
address (given at start, or later by `set_upstream` once the program says where its
own listener is); an end of stream is passed on as shutdown(SHUT_WR). Datagrams:
each one from the client goes upstream from the relay's own socket, each answer goes
back to the client that sent last. One thread, one selector, bounded by `stop()`.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable


class Relay:
    def __init__(self, family: int, kind: int, listen: object,
                 upstream: object | None = None) -> None:
        self.family, self.kind = family, kind
        self.to_peer: list[bytes] = []  # what the peer was sent (datagrams, or chunks)
        self.to_client: list[bytes] = []
        self._upstream = upstream
        self._ready = threading.Event()
        if upstream is not None:
            self._ready.set()
        self._sel = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self.sock = socket.socket(family, kind)
        self.sock.bind(listen)
        if kind == socket.SOCK_STREAM:
            self.sock.listen(8)
        self.address = self.sock.getsockname()
        self._others: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def set_upstream(self, address: object) -> None:
        self._upstream = address
        self._ready.set()

    @property
    def sent_to_peer(self) -> bytes:
        return b"".join(self.to_peer)

    @property
    def sent_to_client(self) -> bytes:
        return b"".join(self.to_client)

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(10)
        assert not self._thread.is_alive(), "the relay's thread did not end"
        for sock in (self.sock, self._wake_r, self._wake_w, *self._others):
            sock.close()
        self._sel.close()

    # -- the loop --------------------------------------------------------------------------

    def _run(self) -> None:
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        if self.kind == socket.SOCK_STREAM:
            self._sel.register(self.sock, selectors.EVENT_READ, self._accept)
        else:
            self._datagrams()
        while not self._stop.is_set():
            for key, _ in self._sel.select(1.0):
                if key.data is not None:
                    key.data(key.fileobj)

    def _accept(self, listener: socket.socket) -> None:
        client, _ = listener.accept()
        if not self._ready.wait(10):
            client.close()
            return
        upstream = socket.socket(self.family, self.kind)
        upstream.connect(self._upstream)
        self._others += [client, upstream]
        self._sel.register(client, selectors.EVENT_READ,
                           self._pipe(upstream, self.to_peer))
        self._sel.register(upstream, selectors.EVENT_READ,
                           self._pipe(client, self.to_client))

    def _pipe(self, out: socket.socket, log: list[bytes]) -> Callable[[socket.socket], None]:
        def move(src: socket.socket) -> None:
            try:
                data = src.recv(1 << 16)
            except OSError:
                data = b""
            if data:
                log.append(data)
                with contextlib.suppress(OSError):
                    out.sendall(data)
                return
            self._sel.unregister(src)
            with contextlib.suppress(OSError):
                out.shutdown(socket.SHUT_WR)

        return move

    def _datagrams(self) -> None:
        upstream = socket.socket(self.family, self.kind)
        if self.family == socket.AF_UNIX:
            upstream.bind("")  # autobind, so the peer's answers find their way back
        self._others.append(upstream)
        client: list[object] = []

        def from_client(sock: socket.socket) -> None:
            data, sender = sock.recvfrom(1 << 16)
            client[:] = [sender]
            self.to_peer.append(data)
            upstream.sendto(data, self._upstream)

        def from_peer(sock: socket.socket) -> None:
            data = sock.recv(1 << 16)
            self.to_client.append(data)
            if client:
                self.sock.sendto(data, client[0])

        self._sel.register(self.sock, selectors.EVENT_READ, from_client)
        self._sel.register(upstream, selectors.EVENT_READ, from_peer)
