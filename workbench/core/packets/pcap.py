"""The classic pcap file format (what `tcpdump -w` writes): read and write, on bytes."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAGIC_US, MAGIC_NS = 0xA1B2C3D4, 0xA1B23C4D
LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL = 1, 101, 113
LINKS = {LINKTYPE_ETHERNET: "ethernet", LINKTYPE_RAW: "ip"}
HEADER, RECORD = 24, 16


class PcapError(ValueError):
    """Not a pcap file, or one cut short; the message says which."""


@dataclass(frozen=True)
class Record:
    seconds: float
    data: bytes
    original_length: int  # on the wire; more than len(data) when the snap length cut it


@dataclass(frozen=True)
class Pcap:
    linktype: int
    snaplen: int
    records: tuple[Record, ...]

    @property
    def link(self) -> str | None:
        """The decode link for these records, None when the decoders do not know it."""
        return LINKS.get(self.linktype)


def _byte_order(head: bytes) -> tuple[str, int]:
    for order in ("<", ">"):
        magic = struct.unpack(order + "I", head[:4])[0]
        if magic in (MAGIC_US, MAGIC_NS):
            return order, 1_000_000 if magic == MAGIC_US else 1_000_000_000
    raise PcapError("not a pcap file: the magic number is wrong (pcapng is not read)")


def records(data: bytes, order: str, scale: int) -> Iterator[Record]:
    at = HEADER
    while at < len(data):
        if at + RECORD > len(data):
            raise PcapError(f"pcap record header at byte {at} is cut short")
        sec, frac, caplen, origlen = struct.unpack_from(order + "IIII", data, at)
        at += RECORD
        if at + caplen > len(data):
            raise PcapError(f"pcap record at byte {at} holds {caplen} bytes, "
                            f"{len(data) - at} present")
        yield Record(sec + frac / scale, data[at : at + caplen], origlen)
        at += caplen


def read(data: bytes) -> Pcap:
    """Every record of a pcap file's bytes, in either byte order, µs or ns stamps."""
    if len(data) < HEADER:
        raise PcapError(f"a pcap file starts with {HEADER} bytes of header, this has {len(data)}")
    order, scale = _byte_order(data)
    snaplen, linktype = struct.unpack_from(order + "II", data, 16)
    return Pcap(linktype & 0xFFFF, snaplen, tuple(records(data, order, scale)))


def write(packets: Iterable[tuple[float, bytes]], linktype: int = LINKTYPE_ETHERNET,
          snaplen: int = 262144) -> bytes:
    """A pcap file (µs stamps, this machine's byte order) of (time, bytes) pairs."""
    out = [struct.pack("=IHHiIII", MAGIC_US, 2, 4, 0, 0, snaplen, linktype)]
    for stamp, data in packets:
        sec = int(stamp)
        usec = min(999_999, round((stamp - sec) * 1_000_000))
        out.append(struct.pack("=IIII", sec, usec, len(data), len(data)) + data)
    return b"".join(out)
