"""Raw, packet and ping socket kinds: names to numbers, bad combinations refused."""

from __future__ import annotations

import socket

import pytest

from workbench.core.errors import InputError
from workbench.core.packets.kinds import AF_PACKET, check, proto_number, socket_args


@pytest.mark.parametrize(("args", "expected"), [
    (("inet", "raw", "icmp"), (socket.AF_INET, socket.SOCK_RAW, 1)),
    (("inet", "raw", 255), (socket.AF_INET, socket.SOCK_RAW, 255)),
    (("inet6", "raw", "icmpv6"), (socket.AF_INET6, socket.SOCK_RAW, 58)),
    (("inet", "dgram", "icmp"), (socket.AF_INET, socket.SOCK_DGRAM, 1)),
    (("inet6", "dgram", 58), (socket.AF_INET6, socket.SOCK_DGRAM, 58)),
    (("packet", "raw", "all"), (AF_PACKET, socket.SOCK_RAW, socket.htons(3))),
    (("packet", "dgram", "0x86dd"), (AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x86DD))),
    (("packet", "raw", 0), (AF_PACKET, socket.SOCK_RAW, 0)),
])
def test_socket_args(args: tuple, expected: tuple[int, int, int]) -> None:
    assert socket_args(*args) == expected


@pytest.mark.parametrize(("args", "message"), [
    (("unix", "raw", 1), "unknown family 'unix' for a raw socket: use inet, inet6 or packet"),
    (("inet", "stream", 6), "type 'stream' is not raw"),
    (("inet", "raw", 0), "a raw inet socket needs a protocol"),
    (("inet", "raw", 256), "protocol 256 is out of range for inet: use 0 to 255"),
    (("packet", "raw", 70000), "out of range for packet: use 0 to 65535"),
    (("inet", "raw", "sctpx"), "protocol 'sctpx' not known for inet: use a number or one of"),
    (("inet", "dgram", "udp"), "a dgram inet socket here is a ping socket: use protocol 1"),
    (("inet6", "dgram", 1), r"use protocol 58 \(icmpv6\)"),
    (("inet", "raw", True), "out of range"),
])
def test_bad_kinds_are_one_line_errors(args: tuple, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        check(*args)
    assert "\n" not in str(info.value)


def test_names_and_numbers() -> None:
    assert proto_number("packet", "ARP") == 0x0806
    assert proto_number("inet", " 17 ") == 17
    assert proto_number("inet6", "raw") == 255
