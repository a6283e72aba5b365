"""pcap files: written and read back, both byte orders and stamp units, and damaged
files refused with a message that says what is wrong."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.packets import pcap


@given(st.lists(st.tuples(st.integers(0, 2**31 - 1), st.integers(0, 999_999),
                          st.binary(max_size=100)), max_size=8))
def test_written_records_read_back(items: list[tuple[int, int, bytes]]) -> None:
    packets = [(sec + usec / 1e6, data) for sec, usec, data in items]
    found = pcap.read(pcap.write(packets, pcap.LINKTYPE_RAW))
    assert (found.linktype, found.link) == (pcap.LINKTYPE_RAW, "ip")
    assert [r.data for r in found.records] == [d for _, _, d in items]
    for record, (sec, usec, _) in zip(found.records, items, strict=True):
        assert f"{record.seconds:.6f}" == f"{sec}.{usec:06d}"


def test_big_endian_nanosecond_file() -> None:
    head = struct.pack(">IHHiIII", pcap.MAGIC_NS, 2, 4, 0, 0, 65535, 1)
    body = struct.pack(">IIII", 5, 500_000_000, 3, 60) + b"abc"
    found = pcap.read(head + body)
    assert found.link == "ethernet"
    assert found.records == (pcap.Record(5.5, b"abc", 60),)


@pytest.mark.parametrize(("data", "message"), [
    (b"\0" * 10, "starts with 24 bytes of header, this has 10"),
    (b"\x0a\x0d\x0d\x0a" + b"\0" * 20, "not a pcap file"),
    (pcap.write([(0.0, b"abcd")])[:-1], "holds 4 bytes, 3 present"),
    (pcap.write([(0.0, b"")]) + b"\0" * 5, "record header at byte 40 is cut short"),
])
def test_damaged_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(pcap.PcapError, match=message):
        pcap.read(data)
