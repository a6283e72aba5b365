"""What the Options pane shows, as plain data: one row per option, one per TCP_INFO field.

Pure: it takes the catalog, what a sweep read and what the session set, and returns
text; the widgets only lay it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.diagnosis import words_for_step
from workbench.core.options import (
    NOT_SWEPT,
    OptionSpec,
    Unreadable,
    all_options,
    applies,
    format_option_value,
    state_note,
)
from workbench.core.steps import Step
from workbench.ui.widgets.socket_tree import human_bytes


@dataclass(frozen=True)
class SetResult:
    """The last setsockopt of an option on a socket: what was asked, what the kernel
    kept, and why they differ (empty when they do not)."""

    requested: Any
    effective: Any = None
    why: str = ""
    error: str = ""  # the errno name when the set failed
    meaning: str = ""  # what that errno means for a setsockopt

    @classmethod
    def of(cls, step: Step) -> SetResult:
        if step.error is not None:
            meaning, hint = words_for_step(step)
            return cls(step.args.get("value"), error=step.error.name,
                       meaning=f"{meaning}; {hint}" if hint else meaning)
        result = step.result if isinstance(step.result, dict) else {}
        return cls(step.args.get("value"), result.get("effective"), str(result.get("why", "")))


@dataclass(frozen=True)
class OptionRow:
    spec: OptionSpec
    value: str  # what the sweep read, formatted; "" when not read
    note: str  # requested → effective, an errno, or why it does not apply
    usable: bool  # applies to this socket (others are shown greyed)
    changed: bool = False  # the kernel kept something other than what was asked


def _shown(spec: OptionSpec, value: Any) -> str:
    if isinstance(value, Unreadable):
        return value.errno
    if value is None:
        return ""
    try:
        return format_option_value(spec, value)
    except (TypeError, ValueError, KeyError):  # a reading the codec did not expect
        return repr(value)


def _note(spec: OptionSpec, done: SetResult | None) -> tuple[str, bool]:
    """What the session asked of it: the kernel kept it ("set"), kept something else
    ("asked X"), or refused it (the errno)."""
    if done is None:
        return ("g reads it" if spec.name in NOT_SWEPT else "set only" if spec.writeonly
                else "read-only" if spec.readonly else ""), False
    if done.error:
        return done.error, False
    if done.effective is None or done.effective == done.requested:
        return "set", False
    asked = done.requested
    plain = isinstance(asked, int) and spec.codec == "int"  # the number, as it was typed
    return f"asked {asked if plain else _shown(spec, asked)}", True


def option_rows(family: str, sock_type: str, readings: dict[str, Any],
                sets: dict[str, SetResult]) -> list[OptionRow]:
    """Options that apply first, in catalog order; then the others, greyed, with why."""
    usable: list[OptionRow] = []
    other: list[OptionRow] = []
    for spec in all_options():
        reason = applies(spec, family, sock_type)
        if reason is not None:
            other.append(OptionRow(spec, "", reason, False))
            continue
        note, changed = _note(spec, sets.get(spec.name))
        usable.append(OptionRow(spec, _shown(spec, readings.get(spec.name)), note, True,
                                changed))
    return usable + other


def option_detail(row: OptionRow, done: SetResult | None, state: str = "") -> str:
    """The lines under the table for the row the cursor is on, the most telling first
    (the box is a few lines high: what does not fit is what matters least)."""
    spec = row.spec
    mode = "read-only" if spec.readonly else "set only" if spec.writeonly else "read-write"
    when = f" · {spec.states}" if spec.states and spec.states != "any" else ""
    lines = [f"{spec.name} · {spec.level_name} · {mode}{when}"]
    if not row.usable:
        lines.append(f"not for this socket: {row.note}")
    elif spec.name in NOT_SWEPT:
        lines.append(f"not read here: {NOT_SWEPT[spec.name]}")
    elif done is not None and done.error:
        lines.append(f"last set failed: {done.error} — {done.meaning}")
    elif done is not None and done.why:
        lines.append(f"asked {_shown(spec, done.requested)}, kernel kept "
                     f"{_shown(spec, done.effective)}: {done.why}")
    note = state_note(spec, state) if row.usable and state else None
    if note:
        lines.append(f"now: {note}")
    lines.append(spec.summary)
    if spec.when:
        lines.append(f"use: {spec.when}")
    if spec.pitfalls:
        lines.append(f"mind: {spec.pitfalls}")
    return "\n".join(lines)


# TCP_INFO fields worth a line, with how to show them. Times in the struct are
# microseconds (rtt, rttvar, rto, ato, min_rtt) or milliseconds (last_*).
_USEC = "µs"
TCP_INFO_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("state", "", "TCP state"),
    ("rtt", _USEC, "smoothed round-trip time"),
    ("rttvar", _USEC, "round-trip time variation"),
    ("min_rtt", _USEC, "lowest round-trip time seen"),
    ("rto", _USEC, "retransmission timeout"),
    ("snd_mss", "B", "segment size sent"),
    ("rcv_mss", "B", "segment size received"),
    ("snd_cwnd", "seg", "congestion window"),
    ("snd_ssthresh", "seg", "slow-start threshold"),
    ("unacked", "seg", "segments sent, not yet acknowledged"),
    ("retransmits", "", "retransmissions of the current segment"),
    ("total_retrans", "", "retransmissions over the connection's life"),
    ("lost", "seg", "segments thought lost"),
    ("bytes_acked", "B", "bytes the peer acknowledged"),
    ("bytes_received", "B", "bytes received"),
    ("notsent_bytes", "B", "bytes queued, not yet sent"),
    ("delivery_rate", "B/s", "recent delivery rate"),
    ("pacing_rate", "B/s", "pacing rate"),
)

TCP_STATES = ("", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
              "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING")
NO_RATE = 2**64 - 1  # pacing_rate when no pacing is in force
NO_THRESHOLD = 0x7FFFFFFF  # snd_ssthresh before the first loss: still in slow start


def _tcp_value(name: str, unit: str, value: int) -> str:
    if name == "state":
        return TCP_STATES[value] if 0 < value < len(TCP_STATES) else str(value)
    if unit == _USEC:
        return f"{value / 1000:.3f} ms" if value >= 1000 else f"{value} µs"
    if name == "snd_ssthresh" and value >= NO_THRESHOLD:
        return "infinite"
    if unit == "B/s":
        return "unlimited" if value >= NO_RATE else f"{human_bytes(value)}/s"
    return f"{value:,} {unit}".rstrip()


def tcp_meaning(field: str) -> str:
    return next((m for name, _, m in TCP_INFO_FIELDS if name == field), "")


def tcp_info_rows(info: dict[str, int]) -> list[tuple[str, str, str]]:
    """(field, value, meaning) for the fields this kernel reported."""
    return [(name, _tcp_value(name, unit, info[name]), meaning)
            for name, unit, meaning in TCP_INFO_FIELDS if name in info]
