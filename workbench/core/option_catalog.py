"""The rows of the socket option catalog: codec, where each applies, range, unit,
when to set it, and an example value (valid on a fresh socket of a type it applies
to; the live tests set it).

Numbers are Linux's (include/uapi/linux/in.h, in6.h, tcp.h, udp.h,
asm-generic/socket.h), used where Python's socket module lacks the constant.
"""

from __future__ import annotations

from typing import NamedTuple

LINUX_NUMBERS = {
    "SO_BINDTODEVICE": 25, "SO_PEERCRED": 17, "SO_TIMESTAMP": 29, "SO_RCVTIMEO": 20,
    "SO_SNDTIMEO": 21, "SO_LINGER": 13, "SO_MARK": 36, "SO_BUSY_POLL": 46,
    "SO_INCOMING_CPU": 49, "SO_DOMAIN": 39, "SO_PROTOCOL": 38, "SO_PASSCRED": 16,
    "SO_DEBUG": 1, "SO_REUSEPORT": 15,
    "IP_OPTIONS": 4, "IP_HDRINCL": 3, "IP_PKTINFO": 8, "IP_MTU_DISCOVER": 10,
    "IP_RECVTTL": 12, "IP_RECVTOS": 13, "IP_MTU": 14, "IP_FREEBIND": 15,
    "IP_TRANSPARENT": 19, "IP_BIND_ADDRESS_NO_PORT": 24, "IP_UNBLOCK_SOURCE": 37,
    "IP_BLOCK_SOURCE": 38, "IP_ADD_SOURCE_MEMBERSHIP": 39, "IP_DROP_SOURCE_MEMBERSHIP": 40,
    "IP_MULTICAST_ALL": 49,
    "IPV6_MTU_DISCOVER": 23, "IPV6_MTU": 24, "IPV6_RECVPKTINFO": 49, "IPV6_DONTFRAG": 62,
    "IPV6_RECVTCLASS": 66, "IPV6_TCLASS": 67,
    "TCP_INFO": 11, "TCP_CONGESTION": 13, "TCP_USER_TIMEOUT": 18, "TCP_FASTOPEN": 23,
    "TCP_NOTSENT_LOWAT": 25,
    "UDP_CORK": 1, "UDP_SEGMENT": 103,
    "SO_ATTACH_FILTER": 26, "SO_DETACH_FILTER": 27, "ICMP6_FILTER": 1,
}
LEVEL_NUMBERS = {"SOL_SOCKET": 1, "IPPROTO_IP": 0, "IPPROTO_IPV6": 41, "IPPROTO_TCP": 6,
                 "IPPROTO_UDP": 17, "IPPROTO_ICMPV6": 58}

IP = ("inet", "inet6")
V4 = ("inet",)
V6 = ("inet6",)
ALL = ("inet", "inet6", "unix")
UNIX = ("unix",)
ANY = ("stream", "dgram", "seqpacket", "raw")
STREAM = ("stream",)
CONN = ("stream", "seqpacket")
DGRAM = ("dgram", "raw")
UDP = ("dgram",)
IP_TYPES = ("stream", "dgram")
RAW = ("raw",)
CAPTURE = ("inet", "inet6", "packet")  # sockets a capture filter (BPF) suits


class Row(NamedTuple):
    name: str
    codec: str
    families: tuple[str, ...]
    types: tuple[str, ...]
    access: str = "rw"  # "rw", "ro" (read-only) or "wo" (write-only: requests)
    low: int | None = None
    high: int | None = None
    unit: str = ""
    states: str = "any"
    example: str = ""


BEFORE_BIND = "before bind"
CONNECTED = "connected"

ROWS: dict[str, tuple[Row, ...]] = {
    "SOL_SOCKET": (
        Row("SO_ACCEPTCONN", "bool", ALL, CONN, "ro"),
        Row("SO_BINDTODEVICE", "string", IP, ANY, high=16, states="before bind or connect",
            example="lo"),
        Row("SO_BROADCAST", "bool", V4, DGRAM, example="on"),
        Row("SO_DEBUG", "bool", IP, STREAM, example="on"),
        Row("SO_DOMAIN", "int", ALL, ANY, "ro"),
        Row("SO_DONTROUTE", "bool", IP, ANY, example="on"),
        Row("SO_ERROR", "int", ALL, ANY, "ro"),
        Row("SO_INCOMING_CPU", "int", IP, IP_TYPES, low=-1, example="0"),
        Row("SO_KEEPALIVE", "bool", IP, STREAM, example="on"),
        Row("SO_LINGER", "linger", ALL, CONN, unit="seconds", example="on 5"),
        Row("SO_MARK", "int", IP, ANY, low=0, example="7"),
        Row("SO_OOBINLINE", "bool", IP, STREAM, example="on"),
        Row("SO_PASSCRED", "bool", UNIX, ("stream", "dgram", "seqpacket"), example="on"),
        Row("SO_PEERCRED", "ucred", UNIX, ("stream", "dgram", "seqpacket"), "ro",
            states=CONNECTED),
        Row("SO_PRIORITY", "int", ALL, ANY, low=0, example="4"),
        Row("SO_PROTOCOL", "int", ALL, ANY, "ro"),
        Row("SO_RCVBUF", "int", ALL, ANY, unit="bytes", example="64k"),
        Row("SO_RCVLOWAT", "int", ALL, STREAM, low=0, unit="bytes", example="16"),
        Row("SO_RCVTIMEO", "timeval", ALL, ANY, unit="seconds", example="1.5"),
        Row("SO_REUSEADDR", "bool", IP, IP_TYPES, states=BEFORE_BIND, example="on"),
        Row("SO_REUSEPORT", "bool", IP, IP_TYPES, states=BEFORE_BIND, example="on"),
        Row("SO_SNDBUF", "int", ALL, ANY, unit="bytes", example="64k"),
        Row("SO_SNDLOWAT", "int", ALL, STREAM, "ro", unit="bytes"),
        Row("SO_SNDTIMEO", "timeval", ALL, ANY, unit="seconds", example="2"),
        Row("SO_TIMESTAMP", "bool", ALL, ANY, example="on"),
        Row("SO_TYPE", "int", ALL, ANY, "ro"),
        Row("SO_BUSY_POLL", "int", IP, IP_TYPES, low=0, unit="us", example="50"),
        Row("SO_ATTACH_FILTER", "bpf", CAPTURE, RAW, "wo", example="udp port 53"),
        Row("SO_DETACH_FILTER", "int", CAPTURE, RAW, "wo", example="0"),
    ),
    "IPPROTO_IP": (
        Row("IP_TOS", "int", V4, ANY, low=0, high=255, example="0x10"),
        Row("IP_TTL", "int", V4, ANY, low=-1, high=255, example="32"),
        Row("IP_HDRINCL", "bool", V4, RAW, example="on"),
        Row("IP_OPTIONS", "bytes", V4, ANY, high=40, example="01 01 01 00"),
        Row("IP_RECVTOS", "bool", V4, DGRAM, example="on"),
        Row("IP_RECVTTL", "bool", V4, DGRAM, example="on"),
        Row("IP_PKTINFO", "bool", V4, DGRAM, example="on"),
        Row("IP_MTU_DISCOVER", "int", V4, ANY, low=0, high=5, example="2"),
        Row("IP_MTU", "int", V4, ANY, "ro", unit="bytes", states=CONNECTED),
        Row("IP_FREEBIND", "bool", V4, ANY, states=BEFORE_BIND, example="on"),
        Row("IP_TRANSPARENT", "bool", V4, ANY, states=BEFORE_BIND, example="on"),
        Row("IP_BIND_ADDRESS_NO_PORT", "bool", V4, IP_TYPES, states=BEFORE_BIND, example="on"),
        Row("IP_MULTICAST_IF", "in_addr", V4, UDP, example="127.0.0.1"),
        Row("IP_MULTICAST_TTL", "int", V4, UDP, low=-1, high=255, example="4"),
        Row("IP_MULTICAST_LOOP", "bool", V4, UDP, example="off"),
        Row("IP_MULTICAST_ALL", "bool", V4, UDP, example="off"),
        Row("IP_ADD_MEMBERSHIP", "ip_mreqn", V4, UDP, "wo", example="239.255.0.1 127.0.0.1"),
        Row("IP_DROP_MEMBERSHIP", "ip_mreqn", V4, UDP, "wo", example="239.255.0.1 127.0.0.1"),
        Row("IP_ADD_SOURCE_MEMBERSHIP", "ip_mreq_source", V4, UDP, "wo",
            example="232.1.1.1 127.0.0.1 127.0.0.1"),
        Row("IP_DROP_SOURCE_MEMBERSHIP", "ip_mreq_source", V4, UDP, "wo",
            example="232.1.1.1 127.0.0.1 127.0.0.1"),
        Row("IP_BLOCK_SOURCE", "ip_mreq_source", V4, UDP, "wo",
            example="239.255.0.2 127.0.0.2 127.0.0.1"),
        Row("IP_UNBLOCK_SOURCE", "ip_mreq_source", V4, UDP, "wo",
            example="239.255.0.2 127.0.0.2 127.0.0.1"),
    ),
    "IPPROTO_IPV6": (
        Row("IPV6_V6ONLY", "bool", V6, IP_TYPES, states=BEFORE_BIND, example="on"),
        Row("IPV6_UNICAST_HOPS", "int", V6, ANY, low=-1, high=255, example="32"),
        Row("IPV6_MULTICAST_IF", "int", V6, UDP, low=0, example="1"),
        Row("IPV6_MULTICAST_HOPS", "int", V6, UDP, low=-1, high=255, example="4"),
        Row("IPV6_MULTICAST_LOOP", "bool", V6, UDP, example="off"),
        Row("IPV6_JOIN_GROUP", "ipv6_mreq", V6, UDP, "wo", example="ff02::1:3 1"),
        Row("IPV6_LEAVE_GROUP", "ipv6_mreq", V6, UDP, "wo", example="ff02::1:3 1"),
        Row("IPV6_RECVPKTINFO", "bool", V6, DGRAM, example="on"),
        Row("IPV6_RECVTCLASS", "bool", V6, DGRAM, example="on"),
        Row("IPV6_TCLASS", "int", V6, ANY, low=-1, high=255, example="0x10"),
        Row("IPV6_DONTFRAG", "bool", V6, DGRAM, example="on"),
        Row("IPV6_MTU", "int", V6, DGRAM, low=0, unit="bytes", states=CONNECTED,
            example="1400"),
        Row("IPV6_MTU_DISCOVER", "int", V6, ANY, low=0, high=5, example="2"),
    ),
    "IPPROTO_ICMPV6": (
        Row("ICMP6_FILTER", "icmp6_filter", V6, RAW, example="129"),
    ),
    "IPPROTO_TCP": (
        Row("TCP_NODELAY", "bool", IP, STREAM, example="on"),
        Row("TCP_MAXSEG", "int", IP, STREAM, low=0, high=32767, unit="bytes",
            states="before connect or listen", example="1000"),
        Row("TCP_CORK", "bool", IP, STREAM, example="on"),
        Row("TCP_KEEPIDLE", "int", IP, STREAM, low=1, high=32767, unit="seconds", example="60"),
        Row("TCP_KEEPINTVL", "int", IP, STREAM, low=1, high=32767, unit="seconds",
            example="10"),
        Row("TCP_KEEPCNT", "int", IP, STREAM, low=1, high=127, example="5"),
        Row("TCP_QUICKACK", "bool", IP, STREAM, example="off"),
        Row("TCP_USER_TIMEOUT", "int", IP, STREAM, low=0, unit="ms", example="30000"),
        Row("TCP_CONGESTION", "string", IP, STREAM, high=16, example="reno"),
        Row("TCP_FASTOPEN", "int", IP, STREAM, low=0, states="before listen", example="16"),
        Row("TCP_NOTSENT_LOWAT", "int", IP, STREAM, low=0, unit="bytes", example="16k"),
        Row("TCP_DEFER_ACCEPT", "int", IP, STREAM, low=0, unit="seconds",
            states="before listen", example="3"),
        Row("TCP_WINDOW_CLAMP", "int", IP, STREAM, low=0, unit="bytes", example="64k"),
        Row("TCP_SYNCNT", "int", IP, STREAM, low=1, high=127, states="before connect",
            example="3"),
        Row("TCP_LINGER2", "int", IP, STREAM, low=-1, unit="seconds", example="30"),
        Row("TCP_INFO", "tcp_info", IP, STREAM, "ro"),
    ),
    "IPPROTO_UDP": (
        Row("UDP_CORK", "bool", IP, UDP, example="on"),
        Row("UDP_SEGMENT", "int", IP, UDP, low=0, high=65535, unit="bytes", example="1200"),
    ),
}
