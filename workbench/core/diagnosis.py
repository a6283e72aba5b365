"""Why a step failed on this machine now: what the errno means for the call that
returned it, the likely cause, and what to do, each claim naming its evidence.

Pure: facts gathered from the live system come in (io/evidence gathers them), a
Diagnosis comes out. A Fact is one observation with a stable key (`sysctl.
ip_unprivileged_port_start`, `tcp.listeners`, `unix.path`, …), a JSON-able value,
where it was read and one line of text. A Claim (a cause or a fix) cites facts by key.
Rules live in diagnosis_rules and diagnosis_net: one function per situation,
registered for errno names; new evidence (the connection table's holders of a port)
is one more gatherer in io/evidence and one more rule there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from workbench.core.endpoints import Endpoint, parse_endpoint
from workbench.core.errno_calls import call_of
from workbench.core.errnos import FALLBACK_HINT, ErrnoInfo, for_family, lookup
from workbench.core.errors import InputError
from workbench.core.steps import CANCELLED, DataRef, Step, StepError


@dataclass(frozen=True)
class Fact:
    key: str  # stable id, e.g. "sysctl.ip_unprivileged_port_start"
    value: Any  # JSON-able
    source: str  # where it was read: "/proc/sys/net/ipv4/ip_unprivileged_port_start"
    text: str  # one line for people: "net.ipv4.ip_unprivileged_port_start = 1024"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "source": self.source, "text": self.text}


@dataclass(frozen=True)
class Claim:
    text: str
    evidence: tuple[str, ...] = ()  # keys of the facts it rests on; () for general knowledge
    kind: str = "cause"  # "cause" or "fix"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "evidence": list(self.evidence)}


def cause(text: str, *evidence: str) -> Claim:
    return Claim(text, evidence, "cause")


def fix(text: str, *evidence: str) -> Claim:
    return Claim(text, evidence, "fix")


@dataclass(frozen=True)
class FailedCall:
    """The failed step as the diagnosis needs it: the call, its errno, its socket."""

    op: str  # the step's op: "bind", "connect", "sendto", …
    error: str  # errno name, "EADDRINUSE"
    number: int = 0
    message: str = ""
    args: Mapping[str, Any] = field(default_factory=dict)
    family: str = ""  # "inet", "inet6", "unix"; "" when unknown
    type: str = ""  # "stream", "dgram", "seqpacket", "raw"
    proto: int = 0
    resolved: str = ""  # the address the call used, when args name peer:/sock:/a host
    options: Mapping[str, int] = field(default_factory=dict)  # options set on the socket
    blocking: bool | None = None
    local: str = ""  # the socket's own address, when it is bound
    state: str = ""  # the socket's lifecycle state in the workbench (core/sockstate) now

    @property
    def call(self) -> str:
        return call_of(self.op)

    @property
    def cancelled(self) -> bool:
        """The user cancelled it: the engine records that as EINTR with its own message."""
        return (self.error, self.message) == (CANCELLED.name, CANCELLED.message)

    @property
    def address(self) -> str:
        """The address the call was about: its own argument, or for listen (which takes
        none) the address the socket is bound to."""
        given = self.resolved or str(self.args.get("address", "") or "")
        return given or (self.local if self.call == "listen" else "")

    def endpoint(self) -> Endpoint | None:
        """The target address parsed, or None when absent or not a literal address."""
        if not self.address:
            return None
        try:
            ep = parse_endpoint(self.address)
        except InputError:
            return None
        return ep if ep.kind in ("inet", "inet6", "unix") else None

    @classmethod
    def from_step(cls, step: Step, family: str = "", sock_type: str = "", proto: int = 0,
                  **more: Any) -> FailedCall:
        """From a recorded failed step; the socket's family and type come from its
        snapshot (a socket step carries them in its own arguments)."""
        error = step.error if step.error is not None else deferred_connect_error(step)
        op = "connect" if step.error is None and error is not None else step.op
        args = dict(step.args)
        if step.op in ("socket", "socketpair"):
            family = str(args.get("family", family))
            sock_type = str(args.get("type", sock_type))
            given = args.get("proto", proto)
            proto = given if isinstance(given, int) else 0
        made = cls(op, error.name if error else "", error.number if error else 0,
                   error.message if error else "", args, family, sock_type, proto, **more)
        if not family:  # a literal address says the family: 127.0.0.1 is inet, unix:… unix
            ep = made.endpoint()
            made = replace(made, family=ep.family_name) if ep is not None else made
        return made


@dataclass(frozen=True)
class Diagnosis:
    name: str
    number: int
    message: str
    call: str  # the call it is explained for
    meaning: str  # what the errno means for that call
    hint: str  # one line: what to try
    soft: bool  # a retry with nothing changed may succeed
    causes: tuple[Claim, ...]  # most likely first; those with evidence come from this machine
    fixes: tuple[Claim, ...]
    facts: tuple[Fact, ...]  # cited facts first, then the rest gathered
    related: tuple[str, ...] = ()  # socket options worth reading about
    cancelled: bool = False

    @property
    def cause(self) -> Claim | None:
        return self.causes[0] if self.causes else None

    def fact(self, key: str) -> Fact | None:
        return next((f for f in self.facts if f.key == key), None)

    def summary(self) -> str:
        """One line for a notification: the meaning for the call, the cause found, the hint."""
        found = self.cause if self.cause is not None and self.cause.evidence else None
        if self.cancelled:
            found = None  # the meaning says it already
        why = f"; here: {found.text}" if found else ""
        return f"{self.meaning}{why}; try: {self.hint}"

    def to_finding(self, step: int | None = None, sock: int | None = None) -> dict[str, Any]:
        """One finding of a findings report (replay --json, export): kind "error", as
        replay's mismatches are kind "bytes", "outcome", …; the diagnosis in full."""
        out: dict[str, Any] = {"kind": "error",
                               "message": f"{self.call}: {self.name} — {self.summary()}"}
        for key, value in (("step", step), ("sock", sock)):
            if value is not None:
                out[key] = value
        out["diagnosis"] = self.to_json()
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "errno": self.name, "number": self.number, "message": self.message,
            "call": self.call, "meaning": self.meaning, "hint": self.hint, "soft": self.soft,
            "cancelled": self.cancelled,
            "causes": [c.to_json() for c in self.causes],
            "fixes": [f.to_json() for f in self.fixes],
            "evidence": [f.to_json() for f in self.facts],
            "related": list(self.related),
        }


_CANCELLED_WORDS = {
    "connect": ("you cancelled the connect while it waited (esc); no signal was involved. "
                "The attempt is abandoned and the socket cannot connect again",
                "create a new socket and connect again when the peer is ready"),
}
_CANCELLED_ANY = ("you cancelled the call while it waited (esc); no signal was involved, "
                  "and nothing failed in the kernel",
                  "run the step again when the peer is ready; in non-blocking mode the call "
                  "returns at once (EAGAIN) instead of waiting")


def explain(name: str, number: int = 0, message: str = "") -> ErrnoInfo:
    """The entry for an errno name; for names no table knows (INPUT, INTERNAL, E99999) an
    entry built from the recorded message. Never raises."""
    try:
        return lookup(name)
    except KeyError:
        pass
    if number > 0:
        try:
            return lookup(number)
        except KeyError:
            pass
    text = message or name or "unknown error"
    return ErrnoInfo(name or "EUNKNOWN", number, text, f"the call failed: {text}",
                     FALLBACK_HINT, socket_error=False)


def options_set(steps: Iterable[Step], sock: int | None) -> dict[str, int]:
    """The options a socket had on, from its recorded setsockopt steps (the last value
    of each, numbers only): what rules such as SO_REUSEPORT's need to know."""
    out: dict[str, int] = {}
    for step in steps:
        if step.op == "setsockopt" and step.sock == sock and step.error is None:
            name, value = step.args.get("option"), step.args.get("value")
            if isinstance(name, str) and isinstance(value, int) and not isinstance(value, bool):
                out[name] = value
    return out


def deferred_connect_error(step: Step) -> StepError | None:
    """A non-blocking connect that failed: the engine records its end as the SO_ERROR
    read a program makes (getsockopt, no error, `errno` in the result)."""
    result = step.result or {}
    name, number = result.get("errno"), result.get("value")
    if step.op != "getsockopt" or step.args.get("option") != "SO_ERROR":
        return None
    if not isinstance(name, str) or not isinstance(number, int) or not number:
        return None
    return StepError(name, number, explain(name, number).message)


def words_for_step(step: Step, family: str = "", brief: bool = False) -> tuple[str, str]:
    """(meaning, hint) of a failed step for the call it made, with no look at the system:
    for the event log and notifications (`brief`: the first clause of each, which fits
    a notification). ("", "") for a step that did not fail; an error that is no errno
    (INPUT, INTERNAL) gives its own message and no hint."""
    failed = FailedCall.from_step(step, family)
    if not failed.error:
        return "", ""
    if failed.cancelled:
        meaning, hint = _CANCELLED_WORDS.get(failed.call, _CANCELLED_ANY)
    else:
        try:
            info = lookup(failed.error)
        except KeyError:
            return failed.message, ""
        meaning, hint = info.for_call(failed.op, failed.family)
    return (first_clause(meaning), first_clause(hint)) if brief else (meaning, hint)


def first_clause(text: str, least: int = 16) -> str:
    """Text up to its first ': ' or '; ' that leaves at least `least` characters."""
    cuts = [i for sep in (": ", "; ") for i in [text.find(sep, least)] if i > 0]
    return text[:min(cuts)] if cuts else text


def _step_facts(failed: FailedCall) -> dict[str, Fact]:
    """What the step itself shows: evidence that needs no look at the system."""
    facts: dict[str, Fact] = {}
    if failed.cancelled:
        facts["step.cancelled"] = Fact("step.cancelled", True, "the recorded step",
                                       f"the step's error is {CANCELLED.message!r}")
    if failed.address:
        facts["step.address"] = Fact("step.address", failed.address, "the recorded step",
                                     f"{failed.call} to {failed.address}")
    data = failed.args.get("data")
    if isinstance(data, bytes | bytearray | DataRef):  # a big payload is kept as a DataRef
        facts["step.size"] = Fact("step.size", len(data), "the recorded step",
                                  f"the payload is {len(data)} bytes")
    if failed.blocking is not None:
        mode = "blocking" if failed.blocking else "non-blocking"
        facts["step.blocking"] = Fact("step.blocking", failed.blocking, "the socket", f"{mode}")
    if failed.state:
        facts["socket.state"] = Fact("socket.state", failed.state, "the workbench's socket "
                                     "state", f"the socket is {failed.state} now")
    for name, value in failed.options.items():
        key = f"option.{name}"
        facts[key] = Fact(key, value, "the socket's options", f"{name} = {value}")
    return facts


def diagnose(failed: FailedCall, facts: Mapping[str, Fact] | Iterable[Fact] = ()) -> Diagnosis:
    """Explain a failed call with the facts gathered for it."""
    gathered = dict(facts) if isinstance(facts, Mapping) else {f.key: f for f in facts}
    known = {**_step_facts(failed), **gathered}
    info = explain(failed.error, failed.number, failed.message)
    meaning, hint = info.for_call(failed.op, failed.family)
    if failed.cancelled:
        meaning, hint = _CANCELLED_WORDS.get(failed.call, _CANCELLED_ANY)
    claims = [replace(c, evidence=tuple(k for k in c.evidence if k in known))  # only facts had
              for c in diagnosis_rules.run_rules(failed, known)]
    causes = tuple(c for c in claims if c.kind == "cause") or tuple(
        cause(text) for text in for_family(info.causes, failed.family))
    fixes = (*(c for c in claims if c.kind == "fix"), fix(hint),
             *(fix(text) for text in for_family(info.fixes, failed.family)))
    return Diagnosis(info.name, info.number, info.message, failed.call, meaning, hint,
                     info.soft or failed.cancelled, causes, _dedupe(fixes),
                     _ordered(known, causes + fixes), info.related, failed.cancelled)


def _dedupe(claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    seen: set[str] = set()
    out = []
    for claim in claims:
        if claim.text not in seen:
            seen.add(claim.text)
            out.append(claim)
    return tuple(out)


def _ordered(facts: dict[str, Fact], claims: tuple[Claim, ...]) -> tuple[Fact, ...]:
    cited = [k for c in claims for k in c.evidence if k in facts]
    order = list(dict.fromkeys(cited + list(facts)))
    return tuple(facts[k] for k in order)


# The rules register themselves against the types above. Imported now, not when first
# needed: at EMFILE no module file could be opened any more.
from workbench.core import diagnosis_rules  # noqa: E402
