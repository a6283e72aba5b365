"""Journals on disk, as a whole: list them, tell which hold unsaved steps, prune old ones.

A journal is "saved" once a session file was written from it: `Workspace.save` (and
`workbench recover`) leave a `saved` marker in its folder with the file's path and how
many steps the journal held then; steps journaled later are unsaved. Pruning removes
only journals with no unsaved steps (saved, or empty), never one still being written
(it holds a lock on its steps file), and never the newest `keep`. A journal with
unsaved steps is never removed: it is listed, so the user can recover or delete it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.sizes import format_size
from workbench.io.atomic_write import write_atomic
from workbench.io.journal import STEPS

SAVED = "saved"  # the marker file a save leaves in the journal's folder
PRUNE_DAYS = 7.0  # at start, saved journals older than this are removed
DAY = 86400.0
STEP_LINE = b'\n{"op":'  # every step line starts so; peer lines do not
READ_BLOCK = 1 << 20


@dataclass
class JournalInfo:
    path: Path
    started: str  # from the folder's name (YYYYmmdd-HHMMSS-pid), else its time
    modified: float  # the newest change to any of its files
    size: int  # bytes of its files
    in_use: bool  # a running workbench writes it
    saved_steps: int | None = None  # steps it held when last saved; None: never saved
    saved_to: str = ""
    steps: int | None = None  # counted on demand: see `count_steps`

    @property
    def unsaved(self) -> int:
        """Steps not in any saved file (counts the steps if not yet counted)."""
        if self.steps is None:
            self.steps = count_steps(self.path)
        return max(0, self.steps - (self.saved_steps or 0))

    @property
    def status(self) -> str:
        if self.in_use:
            return "in use"
        if self.unsaved:
            return f"unsaved ({self.unsaved} steps)"
        return "saved" if self.saved_steps is not None else "empty"

    def age_days(self, now: float) -> float:
        return max(0.0, now - self.modified) / DAY

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "started": self.started, "size": self.size,
                "steps": self.steps if self.steps is not None else count_steps(self.path),
                "status": self.status.split(" (")[0], "unsaved_steps": self.unsaved,
                "saved_to": self.saved_to, "modified": round(self.modified, 3)}


@dataclass
class Pruned:
    removed: list[JournalInfo] = field(default_factory=list)
    unsaved: list[JournalInfo] = field(default_factory=list)  # old enough, but kept

    @property
    def freed(self) -> int:
        return sum(j.size for j in self.removed)


def list_journals(root: Path) -> list[JournalInfo]:
    """The journals under `root`, newest first (steps not counted yet)."""
    found = []
    with contextlib.suppress(FileNotFoundError), os.scandir(root) as entries:
        for entry in entries:
            info = _journal_info(Path(entry.path))
            if info is not None:
                found.append(info)
    return sorted(found, key=lambda j: (j.modified, j.path.name), reverse=True)


def usage(root: Path) -> int:
    """Bytes all journals under `root` take."""
    return sum(j.size for j in list_journals(root))


def prune(root: Path, older_than_days: float = PRUNE_DAYS, keep: int = 0,
          dry_run: bool = False, now: float | None = None) -> Pruned:
    """Remove journals with no unsaved steps whose last change is older than the given
    days, except the newest `keep`; list the old ones with unsaved steps instead."""
    now = time.time() if now is None else now
    out = Pruned()
    for info in list_journals(root)[max(0, keep):]:
        if info.in_use or info.age_days(now) < older_than_days:
            continue
        if info.unsaved:
            out.unsaved.append(info)
        elif dry_run or _remove(info.path):
            out.removed.append(info)
    return out


def tidy_at_start(root: Path) -> list[str]:
    """Prune saved journals older than a week; one-line notices of what was done and of
    old journals that hold unsaved steps (never removed)."""
    done = prune(root, PRUNE_DAYS)
    notices = []
    if done.removed:
        notices.append(f"removed {len(done.removed)} saved journals older than "
                       f"{PRUNE_DAYS:g} days ({format_size(done.freed)})")
    if done.unsaved:
        size = format_size(sum(j.size for j in done.unsaved))
        notices.append(f"{len(done.unsaved)} journals older than {PRUNE_DAYS:g} days hold "
                       f"unsaved steps ({size}), kept: `workbench journals` lists them, "
                       "`workbench recover DIR -o FILE` saves one")
    return notices


def mark_saved(journal_dir: Path, target: Path, steps: int) -> None:
    """Note in the journal's folder that a file holding its first `steps` steps was
    written; the journal may then be pruned once it is old (and has no more)."""
    doc = {"path": str(Path(target).absolute()), "steps": steps,
           "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_atomic(journal_dir / SAVED, (json.dumps(doc) + "\n").encode())


def count_steps(directory: Path) -> int:
    """Step lines in a journal's steps file (peer lines and the header not counted)."""
    count, carry = 0, b""
    try:
        fd = os.open(directory / STEPS, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return 0
    with os.fdopen(fd, "rb") as f:
        while block := f.read(READ_BLOCK):
            data = carry + block
            count += data.count(STEP_LINE)
            carry = data[-(len(STEP_LINE) - 1):]
    return count


# -- one journal ---------------------------------------------------------------------------


def _journal_info(path: Path) -> JournalInfo | None:
    """A real folder (not a symlink) holding a regular steps file; else None."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return None
        steps = os.lstat(path / STEPS)
        if not stat.S_ISREG(steps.st_mode):
            return None
        size, modified = _files(path)
    except OSError:
        return None
    info = JournalInfo(path, _started(path, steps.st_mtime), modified, size, _in_use(path))
    _read_marker(info, steps.st_mtime)
    return info


def _files(path: Path) -> tuple[int, float]:
    """(bytes, newest change) of the regular files in a journal's folder."""
    size, modified = 0, 0.0
    with os.scandir(path) as entries:
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                size += st.st_size
                modified = max(modified, st.st_mtime)
    return size, modified


def _started(path: Path, fallback: float) -> str:
    parts = path.name.split("-")
    try:
        when = time.strptime("-".join(parts[:2]), "%Y%m%d-%H%M%S")
        return time.strftime("%Y-%m-%d %H:%M:%S", when)
    except ValueError:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(fallback))


def _in_use(path: Path) -> bool:
    """A running journal holds an exclusive lock on its steps file."""
    try:
        fd = os.open(path / STEPS, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def _read_marker(info: JournalInfo, steps_mtime: float) -> None:
    """The saved marker's path and step count; steps left uncounted when nothing was
    journaled after the save (the usual case: no need to read the steps)."""
    try:
        fd = os.open(info.path / SAVED, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            marker_mtime = os.fstat(f.fileno()).st_mtime
            doc = json.loads(f.read(64 << 10))
        steps = doc["steps"]
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            return
    except (OSError, ValueError, KeyError, TypeError):
        return  # no marker, or one that is not ours: unsaved unless empty
    info.saved_steps, info.saved_to = steps, str(doc.get("path", ""))
    if steps_mtime < marker_mtime:  # coarse clocks: equal times may hide a later line
        info.steps = steps


def _remove(path: Path) -> bool:
    """Remove a journal's folder (never following a symlink in it); whether it is gone."""
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)
