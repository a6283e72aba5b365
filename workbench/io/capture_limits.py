"""How much of what a session receives its capture may keep on disk.

- The budget: received bytes one session keeps (default: the smaller of 1 GiB and 10%
  of the free space where its bytes go). It keeps the head of each stream, which
  replay compares; past it the capture counts on and records gaps that say "budget".
  Sent bytes are the session's own payloads and are always kept.
- The journals cap: bytes all journals in the default folder take together (default:
  the smaller of 5 GiB and 20% of the space free for them). A new session's budget is
  at most what is left under it, less room for its step lines.
- The floor: free disk space under which nothing received is kept (default 512 MiB).

Each comes from the command line (`--capture-budget`), else the settings file, else
the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.core.session import Session
from workbench.core.sizes import AUTO, Budget, format_size
from workbench.core.steps import NotKept
from workbench.io.capture import ByteLog
from workbench.io.capture_files import free_space
from workbench.io.journals import usage
from workbench.io.settings import Settings

BUDGET_MAX, BUDGET_SHARE = 1 << 30, 0.10
CAP_MAX, CAP_SHARE = 5 << 30, 0.20
FLOOR = 512 << 20
LINES_ROOM = 1 << 20  # under the cap, left for a session's step lines (or 1/16 of what is)


@dataclass(frozen=True)
class CaptureLimits:
    budget: int | None  # received bytes the session may keep; None: no budget
    floor: int  # free bytes under which nothing received is kept
    notices: tuple[str, ...] = ()  # one line each: what the user should know

    def apply(self, log: ByteLog) -> None:
        log.budget, log.floor = self.budget, self.floor


def capture_limits(folder: Path, requested: Budget = AUTO, settings: Settings | None = None,
                   journals: Path | None = None, at_least: int = 0) -> CaptureLimits:
    """The limits for a capture whose bytes go to `folder`. `journals`: the journals
    folder, when the journal is in it (then its cap applies). `at_least`: a budget not
    given on the command line is never under this (replay: what the recording kept)."""
    settings = settings or Settings()
    free = free_space(str(folder))
    budget = requested if requested != AUTO else settings.capture_budget
    if budget == AUTO:
        budget = min(BUDGET_MAX, int(free * BUDGET_SHARE)) if free is not None else BUDGET_MAX
    if requested == AUTO and budget is not None:  # not from the command line: a default
        budget = max(budget, at_least)
    notices = []
    if journals is not None and budget is not None:
        budget, notice = _under_cap(journals, budget, free or 0, settings.journals_cap)
        notices += [notice] if notice else []
    floor = FLOOR if settings.free_space_floor == AUTO else int(settings.free_space_floor or 0)
    if free is not None and free < floor:
        notices.append(f"only {format_size(free)} free in {folder}: nothing received is "
                       f"kept while under {format_size(floor)} (free some space, or set "
                       "free_space_floor in settings.json)")
    return CaptureLimits(budget, floor, tuple(notices))


def _under_cap(root: Path, budget: int, free: int, cap: Budget) -> tuple[int, str]:
    """The budget cut to what is left under the journals cap, and a notice if it was."""
    if cap is None:
        return budget, ""
    used = usage(root)
    if cap == AUTO:
        cap = min(CAP_MAX, int((free + used) * CAP_SHARE))
    left = max(0, cap - used)
    left -= min(left, max(LINES_ROOM, left // 16))  # the journal's step lines need room too
    if budget <= left:
        return budget, ""
    return left, (f"journals take {format_size(used)} of their {format_size(cap)} cap: "
                  f"this session keeps at most {format_size(left)} received "
                  "(`workbench journals prune` frees space)")


def kept_received(session: Session) -> int:
    """Received bytes a session kept: replay keeps at least as much by default."""
    total = 0
    for step in session.steps:
        data = (step.result or {}).get("data") if step.op in ("recv", "recvfrom") else None
        if data is not None and not isinstance(data, NotKept):
            total += len(data)
    return total


def full_text(log: ByteLog) -> str:
    """'capture full (1.0G kept of 1.0G budget)' once received bytes go unkept by limit."""
    if log.full == "budget" and log.budget is not None:
        return (f"capture full ({format_size(log.kept_received)} kept of "
                f"{format_size(log.budget)} budget)")
    if log.full == "disk":
        return (f"capture full ({format_size(log.kept_received)} kept; disk under "
                f"{format_size(log.floor)} free)")
    return ""
