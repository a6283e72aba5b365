"""Linux `struct tcp_info` (getsockopt TCP_INFO), decoded by length.

The kernel copies as much of the struct as both sides know, and the struct only
grows at its end: so a field is decoded only when the raw bytes reach past it, and
older and newer kernels both work (newer fields are left out, unknown tail bytes
ignored). Offsets follow the C layout: each field aligned to its own size.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from workbench.core.option_codecs import Bounds, Codec, refusing

# (name, struct format) in declaration order. "bits" marks the two bytes of bit fields.
_FIELDS: tuple[tuple[str, str], ...] = (
    ("state", "B"), ("ca_state", "B"), ("retransmits", "B"), ("probes", "B"),
    ("backoff", "B"), ("options", "B"), ("wscale", "bits"), ("app_limited", "bits"),
    ("rto", "I"), ("ato", "I"), ("snd_mss", "I"), ("rcv_mss", "I"),
    ("unacked", "I"), ("sacked", "I"), ("lost", "I"), ("retrans", "I"), ("fackets", "I"),
    ("last_data_sent", "I"), ("last_ack_sent", "I"), ("last_data_recv", "I"),
    ("last_ack_recv", "I"),
    ("pmtu", "I"), ("rcv_ssthresh", "I"), ("rtt", "I"), ("rttvar", "I"),
    ("snd_ssthresh", "I"), ("snd_cwnd", "I"), ("advmss", "I"), ("reordering", "I"),
    ("rcv_rtt", "I"), ("rcv_space", "I"), ("total_retrans", "I"),
    ("pacing_rate", "Q"), ("max_pacing_rate", "Q"), ("bytes_acked", "Q"),
    ("bytes_received", "Q"), ("segs_out", "I"), ("segs_in", "I"),
    ("notsent_bytes", "I"), ("min_rtt", "I"), ("data_segs_in", "I"), ("data_segs_out", "I"),
    ("delivery_rate", "Q"), ("busy_time", "Q"), ("rwnd_limited", "Q"),
    ("sndbuf_limited", "Q"), ("delivered", "I"), ("delivered_ce", "I"),
    ("bytes_sent", "Q"), ("bytes_retrans", "Q"), ("dsack_dups", "I"), ("reord_seen", "I"),
    ("rcv_ooopack", "I"), ("snd_wnd", "I"), ("rcv_wnd", "I"), ("rehash", "I"),
    ("total_rto", "H"), ("total_rto_recoveries", "H"), ("total_rto_time", "I"),
    ("received_ce", "I"), ("delivered_e1_bytes", "I"), ("delivered_e0_bytes", "I"),
    ("delivered_ce_bytes", "I"), ("received_e1_bytes", "I"), ("received_e0_bytes", "I"),
    ("received_ce_bytes", "I"), ("accecn_fail_mode", "H"), ("accecn_opt_seen", "H"),
)

# TCP states as tcpi_state numbers them (include/net/tcp_states.h).
TCP_STATES = ("", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
              "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
              "NEW_SYN_RECV", "BOUND_INACTIVE")
CA_STATES = ("open", "disorder", "cwr", "recovery", "loss")


def _layout() -> tuple[tuple[str, str, int], ...]:
    out, offset = [], 0
    for name, fmt in _FIELDS:
        size = 1 if fmt == "bits" else struct.calcsize(fmt)
        offset += -offset % size  # natural alignment
        out.append((name, fmt, offset))
        offset += size
    return tuple(out)


LAYOUT = _layout()
FULL_SIZE = LAYOUT[-1][2] + struct.calcsize(LAYOUT[-1][1])
BUFFER = 512  # what getsockopt is asked for: room for fields newer kernels add


def decode_tcp_info(raw: bytes) -> dict[str, int]:
    """Field name -> value for every field the raw bytes hold whole."""
    out: dict[str, int] = {}
    for name, fmt, offset in LAYOUT:
        if fmt == "bits":
            if offset >= len(raw):
                break
            _bits(name, raw[offset], out)
            continue
        end = offset + struct.calcsize(fmt)
        if end > len(raw):
            break
        out[name] = struct.unpack_from("=" + fmt, raw, offset)[0]
    return out


def _bits(name: str, byte: int, out: dict[str, int]) -> None:
    if name == "wscale":  # little-endian bit fields: the first declared is the low bits
        out["snd_wscale"], out["rcv_wscale"] = byte & 0x0F, byte >> 4
    else:
        out["delivery_rate_app_limited"] = byte & 1
        out["fastopen_client_fail"] = (byte >> 1) & 3


def encode_tcp_info(fields: Mapping[str, int], size: int = FULL_SIZE) -> bytes:
    """The raw struct for these fields, `size` bytes long (for tests and fixtures)."""
    raw = bytearray(FULL_SIZE)
    for name, fmt, offset in LAYOUT:
        if name == "wscale":
            raw[offset] = fields.get("snd_wscale", 0) | fields.get("rcv_wscale", 0) << 4
        elif name == "app_limited":
            raw[offset] = (fields.get("delivery_rate_app_limited", 0)
                           | fields.get("fastopen_client_fail", 0) << 1)
        else:
            struct.pack_into("=" + fmt, raw, offset, fields.get(name, 0))
    return bytes(raw[:size])


def state_name(number: int) -> str:
    return TCP_STATES[number] if 0 < number < len(TCP_STATES) else str(number)


def format_tcp_info(spec: Bounds | None, info: Mapping[str, Any]) -> str:
    """One short line: state, smoothed rtt, congestion window."""
    parts = [state_name(int(info.get("state", 0)))]
    if "rtt" in info:
        parts.append(f"rtt {info['rtt'] / 1000:g} ms")
    if "snd_cwnd" in info:
        parts.append(f"cwnd {info['snd_cwnd']}")
    return ", ".join(parts)


def _decode(spec: Bounds, raw: int | bytes) -> dict[str, int]:
    return decode_tcp_info(raw if isinstance(raw, bytes) else b"")


TCP_INFO_CODEC: Codec = refusing("tcp_info", _decode, format_tcp_info, BUFFER)
