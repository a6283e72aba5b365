"""The sysctls that bound socket option values, read from /proc/sys.

`core.options.effective_why` explains a read-back with them (SO_RCVBUF clamped to
net.core.rmem_max, ...). A sysctl that cannot be read (not Linux, a container
without /proc/sys) is left out, and the explanation says less.
"""

from __future__ import annotations

from pathlib import Path

SYSCTLS = (
    "net.core.rmem_max", "net.core.wmem_max", "net.core.rmem_default",
    "net.core.wmem_default", "net.core.optmem_max", "net.core.busy_read",
    "net.ipv4.tcp_fin_timeout", "net.ipv4.igmp_max_memberships", "net.ipv4.tcp_fastopen",
)
ROOT = Path("/proc/sys")


def read_sysctl(name: str, root: Path = ROOT) -> int | None:
    """One integer sysctl ("net.core.rmem_max"), or None if it cannot be read."""
    try:
        text = (root / name.replace(".", "/")).read_text(encoding="ascii").split()
        return int(text[0]) if text else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def read_limits(root: Path = ROOT) -> dict[str, int]:
    """Every sysctl in SYSCTLS that could be read, by name."""
    out = {}
    for name in SYSCTLS:
        value = read_sysctl(name, root)
        if value is not None:
            out[name] = value
    return out


def congestion_choices(root: Path = ROOT) -> list[str]:
    """Congestion control algorithms a socket may pick without privilege."""
    try:
        path = root / "net/ipv4/tcp_allowed_congestion_control"
        return path.read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return []
