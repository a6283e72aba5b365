"""The asyncio I/O model of exported Python programs, as source text: every socket
non-blocking, each wait an awaited loop call bounded by --timeout. See py_runtime.py
for the helpers it builds on."""

from __future__ import annotations

ASYNCIO = r'''
class Run(Base):
    """asyncio: every socket non-blocking, each wait an awaited loop call bounded by
    --timeout; a call the session made non-blocking runs as it did."""

    def prepare(self, sock):
        sock.setblocking(False)

    async def waited(self, seq, what, sid, awaitable):
        try:
            return await asyncio.wait_for(awaitable, self.args.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise Differs(f"step {seq}: {what}: socket {sid} waited over "
                          f"{self.args.timeout:g} s") from None

    async def connect(self, seq, what, expect, sid, address, blocking):
        sock = self.socks[sid]
        if not blocking:
            self.call(seq, what, expect, sock.connect, address)
            return
        loop, exc = asyncio.get_running_loop(), None
        try:
            await self.waited(seq, what, sid, loop.sock_connect(sock, address))
        except OSError as error:
            exc = error
        differs = self.outcome(seq, what, expect, exc)
        if differs:
            raise differs
        if exc is None:
            self.say(seq, f"{what}: ok")

    async def accept(self, seq, what, expect, sid, new, blocking):
        sock, loop = self.socks[sid], asyncio.get_running_loop()
        if not blocking:
            made = self.call(seq, what, expect, sock.accept)
        else:
            made = await self.waited(seq, what, sid, loop.sock_accept(sock))
            self.say(seq, f"{what}: {show(made)}")
        if made is not None:
            self.add(new, made[0])

    async def send(self, seq, what, expect, sid, data, flags):
        sock = self.socks[sid]
        if expect is not None or flags:
            self.call(seq, what, expect, sock.send, data, flags)
            return
        try:
            first = sock.send(data)
        except BlockingIOError:
            first = 0
        except OSError as exc:
            raise self.failed(seq, what, exc) from None
        if first == len(data):
            self.say(seq, f"{what}: {len(data)} bytes sent")
            return
        # The rest waits for room: meanwhile the program's own sockets take their bytes.
        others = [asyncio.ensure_future(self.take_owed(other, peer))
                  for other, peer in self.socks.items() if peer is not sock
                  and self.owed(other, peer)]
        loop = asyncio.get_running_loop()
        try:
            await self.waited(seq, what, sid, loop.sock_sendall(sock, data[first:]))
        except OSError as exc:
            raise self.failed(seq, what, exc) from None
        finally:
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
        self.say(seq, f"{what}: {len(data)} bytes sent")

    async def take_owed(self, sid, sock):
        """While a send waits, the program's other stream sockets take their bytes."""
        loop = asyncio.get_running_loop()
        while self.owed(sid, sock):
            want = min(65536, len(RECEIVED[sid]) - len(self.rx[sid]))
            try:
                self.drain(sid, sock, await loop.sock_recv(sock, want))
            except OSError:
                self.stopped.add(sid)

    async def sendto(self, seq, what, expect, sid, data, flags, address):
        sent = self.call(seq, what, expect, self.socks[sid].sendto, data, flags, address)
        if sent is not None and sent != len(data):
            raise Differs(f"step {seq}: {what} sent {sent} of {len(data)} bytes")

    async def take(self, seq, what, sid, size, datagram):
        sock, loop = self.socks[sid], asyncio.get_running_loop()
        read = loop.sock_recvfrom(sock, size) if datagram else loop.sock_recv(sock, size)
        try:
            got = await self.waited(seq, what, sid, read)
        except OSError as exc:
            raise self.failed(seq, what, exc) from None
        return got[0] if datagram else got

    async def recv(self, seq, what, expect, sid, total, eof=False, size=65536, flags=0):
        if expect is not None:
            await self.settle(seq, what, sid, expect)
            self.call(seq, what, expect, self.socks[sid].recv, size, flags)
            return
        got = self.rx[sid]
        while len(got) < total:
            chunk = await self.take(seq, what, sid, min(size, total - len(got)), False)
            if not chunk:
                raise Differs(f"step {seq}: {what}: socket {sid} reached end of stream "
                              f"after {len(got)} bytes; the recording had {total}")
            self.got_bytes(seq, sid, chunk)
        if eof:
            chunk = await self.take(seq, what, sid, size, False)
            if chunk:
                self.got_bytes(seq, sid, chunk)
                raise Differs(f"step {seq}: {what}: socket {sid} received {len(chunk)} "
                              "more bytes where the recording read end of stream")
        self.say(seq, f"{what}: {'end of stream' if eof else f'{len(got)} bytes in all'}")

    async def recv_datagram(self, seq, what, expect, sid, count, size=65536, flags=0):
        if expect is not None:
            await self.settle(seq, what, sid, expect)
            self.call(seq, what, expect, self.socks[sid].recvfrom, size, flags)
            return
        while self.datagrams[sid] < count:
            self.got_datagram(seq, sid, await self.take(seq, what, sid, size, True))
        self.say(seq, f"{what}: datagram {count} received")

    async def expect(self, seq, what, error, sid, at, data, count=None):
        if count is None:
            await self.recv(seq, what, None, sid, at + len(data))
        else:
            await self.recv_datagram(seq, what, None, sid, count)
        self.check_expect(seq, what, sid, at, data)

    async def ready(self, seq, what, sid, writing):
        """Wait (at most --timeout) until the socket is writable, or readable."""
        sock, loop, ready = self.socks[sid], asyncio.get_running_loop(), asyncio.Event()
        (loop.add_writer if writing else loop.add_reader)(sock, ready.set)
        try:
            await self.waited(seq, what, sid, ready.wait())
        finally:
            (loop.remove_writer if writing else loop.remove_reader)(sock)

    async def settle(self, seq, what, sid, expect):
        """Before a receive the recording saw fail: an error (a reset, a refusal) makes
        the socket readable when it comes; only EAGAIN is met at once."""
        if expect not in ("EAGAIN", "EWOULDBLOCK"):
            await self.ready(seq, what, sid, False)

    async def so_error(self, seq, what, error, sid, expect, settle):
        sock = self.socks[sid]
        if settle:  # the recording read it once the connect completed
            await self.ready(seq, what, sid, True)
        got = errno_name(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        if got != (expect or "no error"):
            raise Differs(f"step {seq}: {what}: {got}; the recording: {expect or 'no error'}")
        self.say(seq, f"{what}: {got}, as recorded")

    async def pause(self, seq, what, expect, seconds):
        await asyncio.sleep(seconds)
        self.say(seq, f"waited {seconds:g} s")
'''
