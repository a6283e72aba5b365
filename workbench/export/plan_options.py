"""Socket options as an exported program sets them: the value a setsockopt step
recorded, normalised through the option catalog, with the exact bytes the workbench
gave the kernel (`encode_option`) and, for a capture filter, the compiled program.
Also the one-line title of a step, which shows a struct as people write it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from workbench.core.errors import InputError
from workbench.core.options import (
    check_option_value,
    encode_option,
    format_option_value,
    lookup_option,
)
from workbench.core.packets import bpf
from workbench.core.steps import Step


class ExportError(InputError):
    """A session that cannot be exported as it stands; one line saying why."""


@dataclass(frozen=True)
class Option:
    name: str  # "SO_RCVBUF"
    level: str  # "SOL_SOCKET"
    optname: int
    levelnum: int
    kind: str  # "int", "linger", "timeval", the codec of a struct or name, or "raw" (a read)
    value: Any  # the normal value: int; {"on": bool, "seconds": int}; float seconds; ...
    encoded: bytes = b""  # what setsockopt takes when it is not an int (the exact bytes)
    program: tuple[tuple[int, int, int, int], ...] = ()  # SO_ATTACH_FILTER: the filter


def step_title(step: Step) -> str:
    """A one-line signature of the step, for comments and messages."""
    value = step.args.get("value")
    if step.op == "setsockopt" and isinstance(value, dict | list):
        try:  # a struct as people write it: "239.255.0.1 on 127.0.0.1", "pass 129"
            spec = lookup_option(step.args["option"])
            shown = format_option_value(spec, check_option_value(spec, value))
            return f"setsockopt(#{step.sock}, option={step.args['option']}, value={shown})"
        except InputError:
            pass
    try:
        return step.describe()
    except ValueError:  # a payload that was not kept
        return f"{step.op}(#{step.sock})"


def option_of(name: str, value: Any, link: str = "ip") -> Option:
    """The option of a setsockopt (value given) or getsockopt (value None) step; `link`
    is what the socket's packets start with (a capture filter is compiled for it)."""
    try:
        spec = lookup_option(name)
    except InputError as exc:
        raise ExportError(f"export: {exc}") from None
    level = getattr(spec, "c_level", "") or spec.level_name
    c_name = getattr(spec, "c_name", "") or spec.name
    codec = getattr(spec, "codec", "int")
    if value is None:  # a read: an int, a name, or the raw bytes of a struct
        kind = {"int": "int", "bool": "int", "string": "string"}.get(codec, "raw")
        return Option(c_name, level, spec.optname, spec.level, kind, None)
    kind = CODEC_KINDS.get(codec, codec)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return Option(c_name, level, spec.optname, spec.level, kind, value)
    try:
        value = check_option_value(spec, value)
    except InputError as exc:
        if kind in ("int", "linger", "timeval"):  # as recorded, when it has the right shape
            kind = _value_kind(spec.name, value)
            return Option(c_name, level, spec.optname, spec.level, kind, value)
        raise ExportError(f"export: {exc}") from None
    if kind in ("linger", "timeval"):
        return Option(c_name, level, spec.optname, spec.level, kind, value)
    if kind == "bpf":  # compiled for what the socket's packets start with, as the engine does
        program = bpf.compile_filter(bpf.parse(value, link))
        return Option(c_name, level, spec.optname, spec.level, kind, value,
                      bpf.program_bytes(program), tuple(_insn(i) for i in program))
    encoded = encode_option(spec, value)
    if isinstance(encoded, int):
        return Option(c_name, level, spec.optname, spec.level, "int", encoded)
    return Option(c_name, level, spec.optname, spec.level, kind, value, encoded)


def _insn(insn: Any) -> tuple[int, int, int, int]:
    return (int(insn.code), int(insn.jt), int(insn.jf), int(insn.k))


CODEC_KINDS = {"int": "int", "bool": "int", "linger": "linger", "timeval": "timeval"}


def _value_kind(name: str, value: Any) -> str:
    if isinstance(value, bool | int):
        return "int"
    if (isinstance(value, dict) and set(value) == {"on", "seconds"}
            and isinstance(value["seconds"], int)):
        return "linger"
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return "timeval"
    kind = type(value).__name__
    raise ExportError(f"export: option {name} with a value of kind {kind} is not exported yet")
