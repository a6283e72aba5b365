"""A journal's files on disk: a private folder made fresh, files only ever created new,
and read back read-only, never through a symlink.

A journal folder is new or empty when a journal starts in it (mode 0700 when made
here); a folder that is a symlink, or holds anything, is refused, so a file planted
in it is never written through. `steps.jsonl` and `data.bin` are created with
O_EXCL | O_NOFOLLOW (mode 0600): a name that appeared meanwhile fails the start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from workbench.core.errors import InputError
from workbench.io.capture import ByteLog
from workbench.io.sidecars import open_readonly

NEW_FILE = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
SHOWN_LINES = 5  # lines named in the message about a short data file; the rest counted


def make_journal_dir(directory: Path, marker: str) -> None:
    """Make `directory` (0700), or take it if it is an empty folder; InputError if it is a
    symlink, not a folder, a journal already (holds `marker`), or holds anything."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(directory, 0o700)
        return
    except FileExistsError:
        pass
    mode = os.lstat(directory).st_mode
    if stat.S_ISLNK(mode):
        raise InputError(f"journal folder {directory} is a symbolic link, which is never "
                         "followed: give a new folder or an empty real one")
    if not stat.S_ISDIR(mode):
        raise InputError(f"{directory} is not a folder: give a new or empty folder for "
                         "the journal")
    if os.path.isfile(directory / marker) and not os.path.islink(directory / marker):
        raise InputError(f"{directory} already holds a journal; choose a new directory")
    with os.scandir(directory) as entries:
        if next(entries, None) is not None:
            raise InputError(f"{directory} is not empty and not a journal: give a new or "
                             "empty folder for the journal")


def create_new(path: Path, flags: int) -> int:
    """A file that did not exist, made 0600; never through a symlink."""
    return os.open(path, flags | NEW_FILE, 0o600)


def read_whole(path: Path) -> bytes:
    """A journal file's bytes, read-only; InputError if it is a symlink or not a file."""
    source = open_readonly(path, str(path))
    try:
        return source.read(0, len(source))
    finally:
        source.close()


def open_data(path: Path) -> ByteLog | None:
    """The journal's data file read-only, or None if it has none."""
    return open_readonly(path, str(path)) if os.path.lexists(path) else None


class Shortfalls:
    """References past the end of a journal's data file, by journal line."""

    def __init__(self) -> None:
        self.line = 0  # the line being read
        self.missing: dict[int, int] = {}  # line -> bytes missing
        self.end = 0  # the furthest byte referred to

    def note(self, name: str, at: int, size: int, length: int) -> None:
        missing = min(size, at + size - length)
        self.missing[self.line] = self.missing.get(self.line, 0) + missing
        self.end = max(self.end, at + size)

    def check(self, data: Path, length: int) -> None:
        """InputError naming the lines that refer to bytes the data file lacks."""
        if not self.missing:
            return
        lines = sorted(self.missing)
        named = ", ".join(f"line {n} ({self.missing[n]} bytes)" for n in lines[:SHOWN_LINES])
        more = f" and {len(lines) - SHOWN_LINES} more lines" if len(lines) > SHOWN_LINES else ""
        raise InputError(
            f"{data} holds {length} bytes but the steps refer to {self.end}: bytes missing "
            f"for {named}{more}; the data file was cut short, so those steps cannot be "
            "brought back (delete their lines from steps.jsonl to keep the others)")
