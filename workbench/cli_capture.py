"""The command line's side of disk use: `--capture-budget`, and `workbench journals`.

`workbench journals [--json]` lists the journals (start, size, steps, saved or not);
`workbench journals prune [--older-than DAYS] [--keep N] [--dry-run] [--json]` removes
those with no unsaved steps. Imports nothing from textual.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING, Any

from workbench.core.errors import InputError
from workbench.core.sizes import Budget, format_size, parse_budget

if TYPE_CHECKING:
    from pathlib import Path

BUDGET_HELP = ("bytes of received data the session may keep on disk, e.g. 64M or 2G; 0 keeps "
               "nothing received, none sets no budget (default: the capture_budget setting, "
               "else the smaller of 1G and 10%% of the free space where the journal lives); "
               "sent bytes are always kept")
DAYS_MAX = 36500.0


def budget_arg(text: str) -> Budget:
    """An argparse type: a size, none or auto, with a one-line error otherwise."""
    try:
        return parse_budget(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= DAYS_MAX):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of days from 0 up "
                                         f"to {DAYS_MAX:g}: use e.g. 7")
    return value


def _count(text: str) -> int:
    if not text.strip().isdigit() or not text.strip().isascii():
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number of journals "
                                         "from 0: use e.g. 5")
    return int(text)


def add_journals_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    journals = sub.add_parser(
        "journals", help="list the journals, or prune old ones",
        description="List the journals in $XDG_STATE_HOME/socket-workbench/journals/ "
                    "(default ~/.local/state/...): when each started, its size and steps, "
                    "and whether a session file was saved from it. A journal with unsaved "
                    "steps is never pruned.")
    journals.add_argument("--json", action="store_true", help="print a JSON report")
    journals.set_defaults(run=cmd_journals, buffered=True)
    inner = journals.add_subparsers(dest="journals_command", metavar="ACTION",
                                    parser_class=parser_class)
    prune = inner.add_parser(
        "prune", help="remove old journals that hold no unsaved steps",
        description="Remove journals with no unsaved steps (saved as a session file, or "
                    "empty) whose last change is older than --older-than days, except the "
                    "newest --keep. Journals in use or with unsaved steps are never "
                    "removed: they are listed instead.")
    prune.add_argument("--older-than", type=_days, default=7.0, metavar="DAYS",
                       help="only journals unchanged for this many days (default 7; 0: any)")
    prune.add_argument("--keep", type=_count, default=0, metavar="N",
                       help="never remove the newest N journals (default 0)")
    prune.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    prune.add_argument("--json", action="store_true", help="print a JSON report")
    prune.set_defaults(run=cmd_prune, buffered=True)


def cmd_journals(args: argparse.Namespace) -> int:
    from workbench.io.journal import journals_root
    from workbench.io.journals import list_journals

    root = journals_root()
    found = list_journals(root)
    if args.json:
        import json

        print(json.dumps(_report("journals", root, [j.to_json() for j in found]), indent=2))
        return 0
    if not found:
        print(f"no journals in {root}")
        return 0
    print(f"{'started':<19}  {'size':>7}  {'steps':>6}  {'status':<22}  journal")
    for j in found:
        unsaved = j.unsaved  # counts the steps when the saved marker cannot tell
        saved = f" (saved to {j.saved_to})" if j.saved_to and not unsaved else ""
        print(f"{j.started:<19}  {format_size(j.size):>7}  {j.steps or 0:>6}  "
              f"{j.status:<22}  {j.path}{saved}")
    unsaved = sum(1 for j in found if j.unsaved and not j.in_use)
    print(f"{len(found)} journals, {format_size(sum(j.size for j in found))}"
          + (f"; {unsaved} with unsaved steps: `workbench recover DIR -o FILE` saves one"
             if unsaved else ""))
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from workbench.io.journal import journals_root
    from workbench.io.journals import prune

    root = journals_root()
    done = prune(root, args.older_than, args.keep, args.dry_run)
    if args.json:
        findings = ([dict(j.to_json(), action="would remove" if args.dry_run else "removed")
                     for j in done.removed]
                    + [dict(j.to_json(), action="kept: unsaved steps") for j in done.unsaved])
        import json

        print(json.dumps(_report("journals prune", root, findings), indent=2))
        return 0
    verb = "would remove" if args.dry_run else "removed"
    for j in done.removed:
        print(f"{verb} {j.path} ({format_size(j.size)}, {j.status})")
    for j in done.unsaved:
        print(f"kept {j.path}: {j.unsaved} unsaved steps (`workbench recover {j.path} "
              "-o FILE` saves them)")
    print(f"{verb} {len(done.removed)} journals ({format_size(done.freed)})"
          + (f"; kept {len(done.unsaved)} with unsaved steps" if done.unsaved else ""))
    return 0


def _report(operation: str, root: Path, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The findings form every headless command's --json shares."""
    return {"operation": operation, "target": str(root), "address": "", "status": "ok",
            "findings": findings, "recommendations": [], "artifacts": []}


def replay_limits(budget: Budget, session: Any, journal_dir: str | None) -> Any:
    """The replay's capture limits: by default at least what the recording kept, so
    replay compares every byte it has. Warnings and notices go to stderr."""
    import tempfile
    from pathlib import Path

    from workbench.io.capture_limits import capture_limits, kept_received
    from workbench.io.settings import load_settings

    settings, warning = load_settings()
    folder = Path(journal_dir) if journal_dir else Path(tempfile.gettempdir())
    limits = capture_limits(folder, budget, settings, at_least=kept_received(session))
    for line in ([warning] if warning else []) + list(limits.notices):
        print(f"workbench: {line}", file=sys.stderr)
    return limits


def mark_recovered(journal: str, output: str, steps: int) -> None:
    """`recover` saved the journal: note it, so pruning may remove it once old."""
    import contextlib
    from pathlib import Path

    from workbench.io.journal import journals_root
    from workbench.io.journals import mark_saved

    with contextlib.suppress(OSError, InputError, ValueError):  # read-only: left unmarked
        if Path(journal).resolve().parent == journals_root().resolve():  # only ours
            mark_saved(Path(journal), Path(output), steps)
