"""struct tcp_info decoded by length: older kernels (shorter), newer ones (longer)."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from workbench.core.tcp_info import (
    FULL_SIZE,
    LAYOUT,
    decode_tcp_info,
    encode_tcp_info,
    format_tcp_info,
    state_name,
)

FIELD_SIZES = {"B": 1, "H": 2, "I": 4, "Q": 8, "bits": 1}


def test_layout_matches_the_c_struct() -> None:
    offsets = {name: offset for name, _fmt, offset in LAYOUT}
    # Offsets from linux/tcp.h, as a C compiler lays them out.
    assert offsets["rto"] == 8 and offsets["total_retrans"] == 100
    assert offsets["pacing_rate"] == 104 and offsets["segs_out"] == 136
    assert offsets["delivery_rate"] == 160 and offsets["delivered"] == 192
    assert offsets["bytes_sent"] == 200 and offsets["snd_wnd"] == 228
    assert offsets["total_rto"] == 240 and offsets["total_rto_time"] == 244
    assert FULL_SIZE == 280


FIELDS = st.fixed_dictionaries({
    "state": st.integers(0, 255), "rtt": st.integers(0, 2**32 - 1),
    "snd_cwnd": st.integers(0, 2**32 - 1), "bytes_acked": st.integers(0, 2**64 - 1),
    "snd_wscale": st.integers(0, 15), "rcv_wscale": st.integers(0, 15),
    "delivery_rate_app_limited": st.integers(0, 1), "fastopen_client_fail": st.integers(0, 3),
    "total_rto": st.integers(0, 2**16 - 1), "snd_wnd": st.integers(0, 2**32 - 1),
})


@given(FIELDS)
def test_full_struct_round_trips(fields: dict[str, int]) -> None:
    decoded = decode_tcp_info(encode_tcp_info(fields))
    for name, value in fields.items():
        assert decoded[name] == value, name


@given(FIELDS, st.integers(0, FULL_SIZE))
def test_a_shorter_struct_gives_exactly_the_fields_it_holds(fields: dict[str, int],
                                                            size: int) -> None:
    decoded = decode_tcp_info(encode_tcp_info(fields, size))
    for name, fmt, offset in LAYOUT:
        whole = offset + FIELD_SIZES[fmt] <= size
        keys = {"wscale": ("snd_wscale", "rcv_wscale"),
                "app_limited": ("delivery_rate_app_limited", "fastopen_client_fail")
                }.get(name, (name,))
        for key in keys:
            assert (key in decoded) == whole, (key, size)
            if whole and key in fields:
                assert decoded[key] == fields[key]


def test_old_kernel_sizes() -> None:
    # Linux 2.6 ended at total_retrans (104 bytes); 4.x added up to 232 and so on.
    assert list(decode_tcp_info(encode_tcp_info({}, 104)))[-1] == "total_retrans"
    assert list(decode_tcp_info(encode_tcp_info({}, 232)))[-1] == "snd_wnd"


def test_a_newer_kernel_tail_is_ignored() -> None:
    raw = encode_tcp_info({"snd_cwnd": 10}) + b"\xff" * 40
    assert decode_tcp_info(raw)["snd_cwnd"] == 10
    assert len(decode_tcp_info(raw)) == len(decode_tcp_info(raw[:FULL_SIZE]))


def test_native_byte_order() -> None:
    raw = bytearray(FULL_SIZE)
    struct.pack_into("=I", raw, 8, 200_000)  # rto
    assert decode_tcp_info(bytes(raw))["rto"] == 200_000


def test_format_and_state_names() -> None:
    assert state_name(1) == "ESTABLISHED" and state_name(10) == "LISTEN"
    assert state_name(99) == "99"
    assert format_tcp_info(None, {"state": 1, "rtt": 1500, "snd_cwnd": 10}) == \
        "ESTABLISHED, rtt 1.5 ms, cwnd 10"
    assert format_tcp_info(None, {}) == "0"
