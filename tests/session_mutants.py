"""Damaged copies of the example sessions, for fuzzing `workbench replay`.

A mutant starts from an example in sessions/ (its waits shortened so a run stays
short), gets one to three structural mutations (a key deleted or renamed, a value of
another type or out of range, steps deleted, duplicated or reordered) and sometimes
text-level damage (truncation, flipped, inserted, deleted or repeated bytes). Every
choice goes through a `Picker`, so Hypothesis (which shrinks) and a seeded random
generator (for long runs) drive the same code.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = ROOT / "sessions"
TIMEOUT, MAX_WAIT = 0.3, 0.5  # replay --timeout and --max-wait for mutants
SIDECAR = b"sidecar bytes"  # written as s.data beside each mutant
T = TypeVar("T")

KEYS = ("format", "version", "title", "created", "peers", "steps", "name", "kind",
        "transport", "address", "op", "sock", "args", "auto", "t", "dur", "result", "error",
        "errno", "number", "message", "data", "text", "hex", "file", "at", "size", "kept",
        "family", "type", "proto", "option", "value", "flags", "seconds", "timeout", "how",
        "backlog", "blocking", "socks", "peer", "local", "eof", "peek", "sent", "", "x")
VALUES: tuple[Any, ...] = (
    None, True, False, 0, 1, -1, 2, 99, 2**31, 2**63, 10**400, 1e308, -0.0, math.nan,
    math.inf, 0.5, "", "x", "\ud800", "é", "1", "true", "null", "peer:echo", "sock:1",
    "sock:99", "127.0.0.1:0", "[::1]:0", "0.0.0.0:0", "unix:", "unix:/tmp/x", "inet6", "dgram",
    "seqpacket", "MSG_PEEK", "SO_REUSEADDR", "ECONNRESET", "echo", "udp", [], [1], [1, 2],
    ["MSG_OOB"], {}, {"a": 1}, {"text": "hi"}, {"hex": "zz"}, {"kept": False, "size": 3},
    {"file": "s.data", "at": 0, "size": 3}, {"file": "s.data", "at": 5, "size": 99},
    {"file": "nope.data", "at": 0, "size": 1}, {"sock": 1}, {"socks": [1, 2]}, [[[[1]]]],
)


class Picker(Protocol):
    def integer(self, low: int, high: int) -> int: ...


def choice(pick: Picker, items: Sequence[T]) -> T:
    return items[pick.integer(0, len(items) - 1)]


def examples() -> dict[str, dict[str, Any]]:
    """The example sessions by name, each with waits short enough for a quick run."""
    out = {}
    for path in sorted(SESSIONS.glob("*.json")):
        if not path.name.endswith(".schema.json"):
            out[path.stem] = quick(json.loads(path.read_text()))
    return out


def quick(doc: dict[str, Any]) -> dict[str, Any]:
    for step in doc.get("steps", []):
        args = step.get("args", {})
        if step["op"] == "wait":
            args["seconds"] = min(args.get("seconds", 0), 0.05)
        if step["op"] == "expect":
            args["timeout"] = TIMEOUT
    return doc


# -- structural mutations ----------------------------------------------------------------

Path_ = tuple[Any, ...]


def paths(doc: Any) -> list[Path_]:
    """Where every value inside the document is, depth-first."""
    out: list[Path_] = []
    todo: list[tuple[Path_, Any]] = [((), doc)]
    while todo:
        where, value = todo.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value) \
            if isinstance(value, list) else ()
        for key, child in items:
            out.append((*where, key))
            todo.append(((*where, key), child))
    return out


def parent(doc: Any, where: Path_) -> Any:
    for key in where[:-1]:
        doc = doc[key]
    return doc


def delete_key(pick: Picker, doc: Any) -> None:
    keys = [p for p in paths(doc) if isinstance(parent(doc, p), dict)]
    if keys:
        where = choice(pick, keys)
        del parent(doc, where)[where[-1]]


def rename_key(pick: Picker, doc: Any) -> None:
    keys = [p for p in paths(doc) if isinstance(parent(doc, p), dict)]
    if keys:
        where = choice(pick, keys)
        holder = parent(doc, where)
        holder[choice(pick, KEYS)] = holder.pop(where[-1])


def swap_value(pick: Picker, doc: Any) -> None:
    everywhere = paths(doc)
    if everywhere:
        where = choice(pick, everywhere)
        parent(doc, where)[where[-1]] = copy.deepcopy(choice(pick, VALUES))


def out_of_range(pick: Picker, doc: Any) -> None:
    numbers = [p for p in paths(doc) if _number(parent(doc, p)[p[-1]])]
    if numbers:
        where = choice(pick, numbers)
        value = parent(doc, where)[where[-1]]
        bent: list[Callable[[Any], Any]] = [
            lambda v: -v - 1, lambda v: v + 2**31, lambda v: v * 10**6, lambda v: 2**64 + v,
            lambda v: -(2**63), lambda v: 10**400, lambda v: math.nan, lambda v: -math.inf,
            lambda v: float(v) + 0.5, lambda v: 0]
        parent(doc, where)[where[-1]] = choice(pick, bent)(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def reshape_steps(pick: Picker, doc: Any) -> None:
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if not isinstance(steps, list) or not steps:
        return
    i, j = pick.integer(0, len(steps) - 1), pick.integer(0, len(steps) - 1)
    how = pick.integer(0, 3)
    if how == 0:
        del steps[i]
    elif how == 1:
        steps.insert(j, copy.deepcopy(steps[i]))
    elif how == 2:
        steps[i], steps[j] = steps[j], steps[i]
    else:
        steps.insert(j, steps.pop(i))


MUTATIONS = (delete_key, rename_key, swap_value, out_of_range, reshape_steps)


# -- text damage ---------------------------------------------------------------------------


def damage(pick: Picker, text: bytes) -> bytes:
    if not text:
        return text
    at = pick.integer(0, len(text) - 1)
    end = min(len(text), at + pick.integer(1, 64))
    how = pick.integer(0, 5)
    if how == 0:
        return text[:at]  # truncated
    if how == 1:
        return text[:at] + bytes([text[at] ^ (1 << pick.integer(0, 7))]) + text[at + 1:]
    if how == 2:
        return text[:at] + bytes([pick.integer(0, 255)]) + text[at:]
    if how == 3:
        return text[:at] + text[end:]
    if how == 4:
        return text[:end] + text[at:]  # a stretch repeated
    return text[:at] + b"[" * pick.integer(1, 5000) + text[at:]


def mutant(pick: Picker, bases: dict[str, dict[str, Any]], text_damage: bool) -> bytes:
    """One damaged session file's bytes."""
    doc = copy.deepcopy(bases[choice(pick, sorted(bases))])
    for _ in range(pick.integer(1, 3)):
        choice(pick, MUTATIONS)(pick, doc)
    escaped = pick.integer(0, 1) == 1  # a lone surrogate as a JSON escape, or as bad UTF-8
    text = json.dumps(doc, ensure_ascii=escaped).encode("utf-8", "surrogatepass")
    return damage(pick, text) if text_damage else text


def time_bound(text: bytes, bases: dict[str, dict[str, Any]]) -> float:
    """The longest a replay of `text` may take: each step may wait a timeout for its
    bytes, its call's own timeout and its own wait; then a little for peers."""
    try:
        steps = len(json.loads(text)["steps"])
    except Exception:  # damaged beyond reading: it is refused on load
        steps = max(len(b["steps"]) for b in bases.values()) * 2
    return 5.0 + steps * (2 * TIMEOUT + MAX_WAIT)
