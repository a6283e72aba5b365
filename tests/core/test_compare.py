"""Replay comparison of streams with stretches that were not kept."""

from __future__ import annotations

from workbench.core.compare import compare_stream, join_kept
from workbench.core.steps import NotKept


def test_a_stretch_not_kept_compares_by_length_alone() -> None:
    want, got = join_kept([b"abc", NotKept(4), b"xyz"], [b"abcdefgxyz"])
    assert compare_stream(1, want, got) is None


def test_bytes_outside_the_gap_still_differ() -> None:
    want, got = join_kept([b"abc", NotKept(4), b"xyz"], [b"abcdefgxyQ"])
    diff = compare_stream(1, want, got)
    assert diff is not None and "first difference at offset 9" in diff.message


def test_a_gap_on_the_live_side_blanks_the_recording_too() -> None:
    want, got = join_kept([b"0123456789"], [b"01", NotKept(5), b"789"])
    assert compare_stream(1, want, got) is None
    short = join_kept([b"0123456789"], [b"01", NotKept(5)])
    diff = compare_stream(1, *short)
    assert diff is not None and "received 7 of 10 bytes" in diff.message
