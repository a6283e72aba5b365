"""Exported programs run on sessions built step by step for what the examples do not
show: a socketpair with peek, EAGAIN and end of stream; a flood to the program's own
socket; bytes not kept; IPv6; datagram and seqpacket messages; a reset that comes
while the program receives. Every I/O model, C and Python."""

from __future__ import annotations

import random
import re
import socket
import struct
from pathlib import Path

import pytest
from export_programs import TIMEOUT, VARIANTS, Program, address_text, build, session_of
from support import HAS_IPV6, wait_until

from workbench.core.ops import normalise
from workbench.core.session import Session
from workbench.core.steps import NotKept, Step, StepError


def socketpair_session() -> Session:
    """A socketpair talking to itself: peek, a receive in pieces, a half-close, end of
    stream, an address read, a non-blocking receive that finds nothing (EAGAIN)."""
    steps = [
        Step("socketpair", None, normalise("socketpair", {}), result={"socks": [1, 2]}),
        Step("send", 1, normalise("send", {"data": b"abc\x00def"}), result={"sent": 7}),
        Step("recv", 2, normalise("recv", {"size": 3, "flags": ["MSG_PEEK"]}),
             result={"data": b"abc", "peek": True}),
        Step("recv", 2, normalise("recv", {"size": 4}), result={"data": b"abc\x00", "at": 0}),
        Step("recv", 2, {}, auto=True, result={"data": b"def", "at": 4}),
        Step("getsockname", 2, {}, result={"address": "unix:"}),
        Step("set_inheritable", 1, normalise("set_inheritable", {"inheritable": True})),
        Step("set_blocking", 2, normalise("set_blocking", {"blocking": False})),
        Step("recv", 2, normalise("recv", {}), error=StepError("EAGAIN", 11, "again")),
        Step("shutdown", 1, normalise("shutdown", {"how": "wr"})),
        Step("recv", 2, {}, auto=True, result={"data": b"", "at": 7, "eof": True}),
        Step("close", 1, {}), Step("close", 2, {})]
    return session_of("a socketpair", steps)


@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_a_socketpair_session_with_peek_eagain_and_eof(lang: str, model: str,
                                                       tmp_path: Path) -> None:
    argv = build(socketpair_session(), lang, model, tmp_path)
    code, out, err = Program(argv).finish()
    assert code == 0, f"{out}\n{err}"
    assert re.search(r"^step 8: recv\(#2.*\): EAGAIN, as recorded$", out, re.M), out
    assert re.search(r"^step 10: (recv\(#2\): )?end of stream$", out, re.M), out
    assert re.search(r"^step 6: set_inheritable\(#1.*\): ok$", out, re.M), out


def flood_session(size: int) -> Session:
    """One socket of a pair sends more than the socket buffers hold to the other, which
    the workbench auto-received while the send went on."""
    data = random.Random(3).randbytes(size)
    steps = [Step("socketpair", None, normalise("socketpair", {}), result={"socks": [1, 2]}),
             Step("send", 1, normalise("send", {"data": data}), result={"sent": size})]
    for at in range(0, size, 1 << 16):
        steps.append(Step("recv", 2, {}, auto=True,
                          result={"data": data[at:at + (1 << 16)], "at": at}))
    steps += [Step("close", 1, {}),
              Step("recv", 2, {}, auto=True, result={"data": b"", "at": size, "eof": True}),
              Step("close", 2, {})]
    return session_of("a flood to the program's own socket", steps)


@pytest.mark.parametrize(("lang", "model"), [v for v in VARIANTS if v[1] != "blocking"],
                         ids=[f"{a}-{b}" for a, b in VARIANTS if b != "blocking"])
def test_a_send_to_the_programs_own_socket_does_not_wait_for_ever(lang: str, model: str,
                                                                  tmp_path: Path) -> None:
    """1 MiB over a socketpair (buffers of a few hundred KiB): while the send waits, the
    receiving socket takes its bytes, as auto-receive did in the recording."""
    argv = build(flood_session(1 << 20), lang, model, tmp_path)
    code, out, err = Program([*argv, "--timeout", "10"]).finish()
    assert code == 0, f"{out[-2000:]}\n{err}"
    assert f"{1 << 20} bytes sent" in out


def gap_session(sent: bytes) -> Session:
    """A socketpair whose receiving side did not keep its middle bytes (a capture budget)."""
    steps = [Step("socketpair", None, normalise("socketpair", {}), result={"socks": [1, 2]}),
             Step("send", 1, normalise("send", {"data": sent}), result={"sent": len(sent)}),
             Step("recv", 2, {}, auto=True, result={"data": b"head", "at": 0}),
             Step("recv", 2, {}, auto=True, result={"data": NotKept(6, "budget"), "at": 4}),
             Step("recv", 2, {}, auto=True, result={"data": b"tail", "at": 10}),
             Step("close", 1, {}), Step("close", 2, {})]
    return session_of("bytes not kept", steps)


@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_bytes_not_kept_are_read_but_not_compared(lang: str, model: str,
                                                  tmp_path: Path) -> None:
    code, out, err = Program(build(gap_session(b"head??????tail"), lang, model,
                                   tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    (tmp_path / "again").mkdir()
    session = gap_session(b"head??????tail")
    session.steps[1].args["data"] = b"HEAD??????tail"  # the kept bytes differ now
    code, out, err = Program(build(session, lang, model, tmp_path / "again")).finish()
    assert code == 1 and "first difference at offset 0" in err, f"{out}\n{err}"


def ipv6_session() -> Session:
    """A listener on [::1] and a client of it: v6 addresses bound, connected, accepted."""
    inet6 = {"family": "inet6"}
    steps = [Step("socket", None, normalise("socket", inet6), result={"sock": 1}),
             Step("bind", 1, normalise("bind", {"address": "[::1]:0"}),
                  result={"local": "[::1]:40000"}),
             Step("listen", 1, normalise("listen", {}), result={"local": "[::1]:40000"}),
             Step("socket", None, normalise("socket", inet6), result={"sock": 2}),
             Step("connect", 2, normalise("connect", {"address": "sock:1"}),
                  result={"peer": "[::1]:40000", "local": "[::1]:40001"}),
             Step("accept", 1, {}, auto=True, result={"sock": 3, "peer": "[::1]:40001"}),
             Step("send", 2, normalise("send", {"data": b"over v6"}), result={"sent": 7}),
             Step("recv", 3, {}, auto=True, result={"data": b"over v6", "at": 0}),
             Step("close", 2, {}),
             Step("recv", 3, {}, auto=True, result={"data": b"", "at": 7, "eof": True}),
             Step("close", 3, {}), Step("close", 1, {})]
    return session_of("IPv6 on loopback", steps)


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback here")
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_an_ipv6_session_runs(lang: str, model: str, tmp_path: Path) -> None:
    code, out, err = Program(build(ipv6_session(), lang, model, tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    assert re.search(r"^step 1: .*bound to \[::1\]:\d+$", out, re.M), out


def datagram_pair_session(kind: str = "dgram") -> Session:
    """A datagram (or seqpacket) socketpair: an expect that needs the second message,
    then the auto receives it covered, then an empty message."""
    dgram = {"type": kind}
    steps = [Step("socketpair", None, normalise("socketpair", dgram), result={"socks": [1, 2]}),
             Step("send", 1, normalise("send", {"data": b"one"}), result={"sent": 3}),
             Step("send", 1, normalise("send", {"data": b"two\x00"}), result={"sent": 4}),
             Step("expect", 2, normalise("expect", {"data": b"two"}), result={"at": 3}),
             Step("recv", 2, {}, auto=True, result={"data": b"one", "at": 0}),
             Step("recv", 2, {}, auto=True, result={"data": b"two\x00", "at": 3}),
             Step("send", 1, normalise("send", {"data": b""}), result={"sent": 0}),
             Step("recv", 2, {}, auto=True, result={"data": b"", "at": 7}),
             Step("close", 1, {}), Step("close", 2, {})]
    return session_of("datagrams over a socketpair", steps)


@pytest.mark.parametrize("kind", ["dgram", "seqpacket"])
@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_datagram_expect_and_an_empty_datagram(lang: str, model: str, kind: str,
                                               tmp_path: Path) -> None:
    code, out, err = Program(build(datagram_pair_session(kind), lang, model,
                                   tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    assert re.search(r"^step 3: expect\(#2.*\): found at 3$", out, re.M), out


def reset_session() -> Session:
    """A client whose peer resets the connection while the workbench was receiving."""
    steps = [Step("socket", None, normalise("socket", {}), result={"sock": 1}),
             Step("connect", 1, normalise("connect", {"address": "peer:rst"}),
                  result={"peer": "127.0.0.1:9", "local": "127.0.0.1:40000"}),
             Step("send", 1, normalise("send", {"data": b"x"}), result={"sent": 1}),
             Step("recv", 1, {}, auto=True,
                  error=StepError("ECONNRESET", 104, "Connection reset by peer")),
             Step("close", 1, {})]
    return session_of("a reset", steps, peers=("rst",))


@pytest.mark.parametrize(("lang", "model"), VARIANTS, ids=[f"{a}-{b}" for a, b in VARIANTS])
def test_an_error_a_receive_met_later_is_waited_for(lang: str, model: str,
                                                    tmp_path: Path) -> None:
    """The reset comes only once the program is receiving (after it said step 2): a
    non-blocking program must wait for it, not meet EAGAIN first."""
    argv = build(reset_session(), lang, model, tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as server:
        program = Program([*argv, "--peer", f"rst={address_text(server.getsockname())}"])
        server.settimeout(TIMEOUT)
        conn, _ = server.accept()
        with conn:
            assert conn.recv(1) == b"x"
            wait_until(lambda: any(line.startswith("step 2:") for line in program.lines)
                       or program.proc.poll() is not None, "the program to send", TIMEOUT)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        code, out, err = program.finish()  # closed with linger {1, 0}: a reset
    assert code == 0, f"{out}\n{err}"
    assert "step 3: recv(#1): ECONNRESET, as recorded" in out


BAD_LINES = [(["--bogus"], "--bogus"), (["--peer"], "--peer"), (["--timeout", "-1"], "--timeout"),
             (["--peer", "rst=[::1]:7"], "::1"),  # a v6 address for an IPv4 socket
             (["--target", "1=peer:nosuch"], "peer:nosuch"), (["--target", "1=sock:9"], "sock:9")]


@pytest.mark.parametrize("lang", ["c", "python"])
@pytest.mark.parametrize(("args", "named"), BAD_LINES, ids=[a[0][0] + str(i) for i, a
                                                          in enumerate(BAD_LINES)])
def test_a_bad_command_line_is_one_line_and_exit_2(lang: str, args: list[str], named: str,
                                                   tmp_path: Path) -> None:
    code, out, err = Program([*build(reset_session(), lang, "blocking", tmp_path),
                              *args]).finish()
    assert code == 2, f"{out}\n{err}"
    assert len(err.splitlines()) == 1 and named in err and "Traceback" not in err, err


def option_reads_session() -> Session:
    """A read that fails as recorded (TCP_INFO on UDP) and a struct read back."""
    steps = [Step("socket", None, normalise("socket", {"type": "dgram"}), result={"sock": 1}),
             Step("getsockopt", 1, normalise("getsockopt", {"option": "TCP_INFO"}),
                  error=StepError("EOPNOTSUPP", 95, "Operation not supported")),
             Step("getsockopt", 1, normalise("getsockopt", {"option": "IP_MULTICAST_IF"}),
                  result={"value": "0.0.0.0"}),
             Step("close", 1, {})]
    return session_of("option reads", steps)


@pytest.mark.parametrize("lang", ["c", "python"])
def test_an_option_read_shows_its_bytes_but_not_after_an_error(lang: str,
                                                               tmp_path: Path) -> None:
    code, out, err = Program(build(option_reads_session(), lang, "blocking", tmp_path)).finish()
    assert code == 0, f"{out}\n{err}"
    lines = [line for line in out.splitlines() if line.startswith("step 1:")]
    assert lines == ["step 1: getsockopt(#1, option=TCP_INFO): EOPNOTSUPP, as recorded"], out
    assert re.search(r"^step 2: .*(4 bytes: 00 00 00 00|b'\\x00\\x00\\x00\\x00')$", out,
                     re.M), out
