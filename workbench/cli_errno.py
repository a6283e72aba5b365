"""`workbench errno NAME|NUMBER [--call CALL] [--family FAMILY] [--json]`: what an errno
means for a socket call, its likely causes and what to try. Imports only the core (no
textual, no sockets opened): it answers at once.

`--address` adds what this machine shows now about that address (listeners, the
path, privileges, routes: see io/evidence) and the likely cause it points to.

`--json` prints the findings shape every headless command shares: {"operation",
"target", "address", "status", "findings", "recommendations", "artifacts"}; each finding
is one errno entry (see entry_json), with "diagnosis" when --address is given.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from workbench.core.errno_calls import ALIASES, ANY, CALL_NAMES, call_of
from workbench.core.errors import InputError

if TYPE_CHECKING:  # the knowledge itself loads when the command runs, not for every command
    from workbench.core.diagnosis import Diagnosis
    from workbench.core.errnos import ErrnoInfo

OK = 0
FAMILIES = ("inet", "inet6", "unix")
_CALL_CHOICES = (*CALL_NAMES, *ALIASES)


def _call(text: str) -> str:
    name = text.strip().lower()
    if name not in _CALL_CHOICES:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise argparse.ArgumentTypeError(f"unknown call {shown!r}: use one of "
                                         f"{', '.join(CALL_NAMES)}")
    return name


def add_errno_parser(sub: Any) -> None:
    err = sub.add_parser(
        "errno", help="explain an errno by name or number",
        description="What an errno means for a socket call, why it happens and what to try. "
                    "Without NAME, list every errno and resolver (EAI_*) error.")
    err.add_argument("key", nargs="?",
                     help="e.g. ECONNREFUSED, 111 or EAI_NONAME; omit to list all")
    err.add_argument("--call", type=_call, metavar="CALL",
                     help=f"the call that failed: {', '.join(CALL_NAMES)} (sendto, recvfrom "
                          "and socketpair too)")
    err.add_argument("--family", choices=FAMILIES,
                     help="the socket's family, where the meaning differs (e.g. unix paths)")
    err.add_argument("--address", metavar="ADDRESS",
                     help="the address the call used (127.0.0.1:80, [::1]:80, unix:/path): "
                          "adds what this machine shows about it now and the likely cause")
    err.add_argument("--local", metavar="ADDRESS",
                     help="with --address: the address the socket was bound to, if any")
    err.add_argument("--set", action="append", default=[], metavar="OPTION",
                     help="with --address: an option the socket had on, e.g. SO_REUSEADDR, "
                          "SO_REUSEPORT or SO_BROADCAST (repeat for more)")
    err.add_argument("--type", choices=("stream", "dgram", "seqpacket"), default="stream",
                     help="the socket's type, with --address (default stream)")
    err.add_argument("--json", action="store_true", help="print findings as JSON")
    err.set_defaults(run=cmd_errno, buffered=True)


def _find(key: str) -> ErrnoInfo:
    from workbench.core.errnos import lookup

    try:
        return lookup(key)
    except KeyError:
        shown = key if len(key) <= 40 else key[:37] + "..."
        raise InputError(f"unknown errno {shown!r}: use a name like ECONNREFUSED "
                         "or a number like 111") from None


def cmd_errno(args: argparse.Namespace) -> int:
    call, family = args.call, args.family or ""
    if args.key is None:
        if args.address is not None:
            raise InputError("--address needs an errno: e.g. workbench errno ECONNREFUSED "
                             "--call connect --address 127.0.0.1:8080")
        return _list(call, family, args.json)
    info = _find(args.key)
    diagnosis = _diagnose(info, args) if args.address is not None else None
    if diagnosis is not None:
        family = family or _family_of(args.address)
    if args.json:
        _print_json([info], info.name, call, family, "explained", diagnosis, args.address)
    else:
        print("\n".join(render(info, call, family)))
        if diagnosis is not None:
            print("\n".join(render_diagnosis(diagnosis)))
    return OK


def _family_of(address: str) -> str:
    from workbench.core.endpoints import parse_endpoint

    return parse_endpoint(address).family_name


def _diagnose(info: ErrnoInfo, args: argparse.Namespace) -> Diagnosis:
    """The errno for the call and address given, with evidence gathered now."""
    from workbench.core.diagnosis import FailedCall, diagnose
    from workbench.core.endpoints import parse_endpoint
    from workbench.io.evidence import gather

    if args.call is None:
        raise InputError("--address needs --call: say which call failed, e.g. --call connect")
    try:
        endpoint = parse_endpoint(args.address)
    except InputError as exc:
        raise InputError(f"--address: {exc}") from None
    if not endpoint.family_name:
        raise InputError(f"--address {args.address[:60]!r} must be an IP literal or a unix: "
                         "path, e.g. 127.0.0.1:8080 (names are not resolved here)")
    failed = FailedCall(args.call, info.name, info.number, info.message,
                        {"address": args.address}, args.family or endpoint.family_name,
                        args.type, local=args.local or "", options=_options(args.set))
    return diagnose(failed, gather(failed))


def _options(names: list[str]) -> dict[str, int]:
    """--set names, checked against the option catalog: each one on (1)."""
    from workbench.core.options import lookup_option

    out = {}
    for name in names:
        try:
            out[lookup_option(name.strip().upper()).name] = 1
        except (InputError, KeyError):
            raise InputError(f"--set {name[:40]!r}: not a socket option; use a name like "
                             "SO_REUSEADDR") from None
    return out


def render_diagnosis(d: Diagnosis) -> list[str]:
    """What this machine shows now: the causes with their evidence, then the facts."""
    lines = ["  on this machine now:"]
    found = [c for c in d.causes if c.evidence]
    lines += [f"    cause: {c.text} [{', '.join(c.evidence)}]" for c in found] or [
        "    no cause found in the evidence; the usual causes are above"]
    lines += [f"    fix: {f.text}" for f in d.fixes if f.evidence]
    lines += [f"    seen: {fact.text} ({fact.source})" for fact in d.facts
              if not fact.key.startswith("step.")]
    return lines


def _list(call: str | None, family: str, as_json: bool) -> int:
    """Every errno; with --call, those the call can return, each with its meaning there."""
    from workbench.core.errnos import all_errnos, gai_errors

    infos = all_errnos() + gai_errors()
    if call is not None:
        infos = [i for i in infos if _written_for(i, call)]
    if as_json:
        _print_json(infos, call_of(call) if call else "all", call, family, "listed")
        return OK
    for info in infos:
        said = f": {info.for_call(call, family)[0]}" if call else ""
        print(f"{info.name} ({info.number}): {info.message}{said}")
    return OK


def _written_for(info: ErrnoInfo, call: str) -> bool:
    names = {n.split("/")[0] for n in info.call_names()}
    return call_of(call) in names or ANY in names


def render(info: ErrnoInfo, call: str | None = None, family: str = "") -> list[str]:
    """The human explanation: meaning and hint first, as the app's notification shows."""
    lines = [f"{info.name} ({info.number}): {info.message}"]
    meaning, hint = info.for_call(call or "", family)
    lines += [f"  meaning: {meaning}", f"  try: {hint}"]
    if call and not _written_for(info, call):
        lines.append(f"  note: {call_of(call)} does not return {info.name} on Linux; "
                     "this is the general meaning")
    if not call:
        for name, (m, h) in _by_call(info, family).items():
            lines += [f"  on {name}: {m}", f"    try: {h}"]
    from workbench.core.errnos import for_family

    causes, fixes = for_family(info.causes, family), for_family(info.fixes, family)
    if causes:
        lines.append("  causes: " + "; ".join(causes))
    if fixes:
        lines.append("  fixes: " + "; ".join(fixes))
    if info.socket_error:
        lines.append("  retry: " + ("soft: a retry with nothing changed may succeed" if info.soft
                                    else "hard: something must change before it can succeed"))
    elsewhere = info.elsewhere()
    if elsewhere:
        lines.append("  elsewhere: " + elsewhere)
    if info.related:
        lines.append("  related options: " + ", ".join(info.related))
    return lines


def _by_call(info: ErrnoInfo, family: str) -> dict[str, tuple[str, str]]:
    """Each call's words once, for the family given (plain entries when none)."""
    out: dict[str, tuple[str, str]] = {}
    for name in info.call_names():
        call = name.split("/")[0]
        if call not in out:
            out["any call" if call == ANY else call] = info.for_call(call, family)
    return out


def entry_json(info: ErrnoInfo, call: str | None = None, family: str = "") -> dict[str, Any]:
    meaning, hint = info.for_call(call or "", family)
    port = info.port
    return {
        "errno": info.name, "number": info.number, "message": info.message,
        "call": call_of(call) if call else None, "meaning": meaning, "hint": hint,
        "written_for_call": _written_for(info, call) if call else None,
        "calls": {name: {"meaning": m, "hint": h} for name, m, h in info.calls},
        "causes": list(info.causes), "fixes": list(info.fixes),
        "soft": info.soft, "socket_error": info.socket_error,
        "winsock": {"name": port.winsock, "number": port.winsock_number} if port.winsock
        else None,
        "freebsd": port.freebsd, "macos": port.macos, "related": list(info.related),
    }


def _print_json(infos: list[ErrnoInfo], target: str, call: str | None, family: str,
                status: str, diagnosis: Diagnosis | None = None, address: str | None = None
                ) -> None:
    findings = [entry_json(info, call, family) for info in infos]
    single = findings[0] if len(findings) == 1 else None
    recommendations = [single["hint"], *single["fixes"]] if single else []
    if single is not None and diagnosis is not None:
        single["diagnosis"] = diagnosis.to_json()
        recommendations = [f.text for f in diagnosis.fixes if f.evidence] + recommendations
    print(json.dumps({
        "operation": "errno", "target": target, "address": address or "", "status": status,
        "findings": findings, "recommendations": list(dict.fromkeys(recommendations)),
        "artifacts": [],
    }, indent=2))
