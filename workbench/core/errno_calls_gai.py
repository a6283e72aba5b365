"""Per-call words for the resolver's EAI_* errors. The workbench resolves a host name
in a step's address (`localhost:80`) when the step runs, so bind, connect and sendto
can fail with these; the words say it was the name, not the socket. Merged into
errno_calls.CALLS.
"""

from __future__ import annotations

_RESOLVING = "resolving the host name in the address failed"
_CALLS = ("bind", "connect", "send")


def _each(meaning: str, hint: str) -> dict[str, tuple[str, str]]:
    return {call: (f"{_RESOLVING}: {meaning}", hint) for call in _CALLS}


GAI_CALLS: dict[str, dict[str, tuple[str, str]]] = {
    "EAI_NONAME": _each(
        "neither /etc/hosts nor DNS knows the name (or a name was given where only a "
        "numeric address is allowed)",
        "check the spelling (`getent hosts NAME`), or write a numeric address"),
    "EAI_AGAIN": _each(
        "the name server did not answer in time, or answered with a temporary failure",
        "retry; check /etc/resolv.conf and that its name server is reachable"),
    "EAI_FAIL": _each("the name server failed for good (refused, or a malformed answer)",
                      "check the name server with `dig NAME`"),
    "EAI_NODATA": _each("the name exists but has no address records",
                        "check its A and AAAA records with `dig NAME`"),
    "EAI_ADDRFAMILY": _each(
        "the name has no address of the socket's family (an IPv4-only name for an "
        "inet6 socket, or the other way round)",
        "use a socket of the family the name has, or a numeric address"),
    "EAI_SERVICE": _each("the port is a service name unknown for this socket type",
                         "use a numeric port"),
    "EAI_SYSTEM": _each("a system call inside the resolver failed",
                        "check that /etc/nsswitch.conf, /etc/hosts and /etc/resolv.conf "
                        "are readable"),
    "EAI_MEMORY": _each("the resolver ran out of memory", "free memory and retry"),
}
