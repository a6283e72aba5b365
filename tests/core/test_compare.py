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


def test_the_json_offset_is_the_first_difference_and_context_starts_on_its_line() -> None:
    want = bytes(range(32))
    got = want[:20] + b"\xff" + want[21:]
    diff = compare_stream(3, want, got)
    assert diff is not None and "first difference at offset 20" in diff.message
    found = diff.to_json()
    assert (found["offset"], found["context_offset"]) == (20, 16)
    assert found["expected_hex"].split()[4] == "14" and found["received_hex"].split()[4] == "ff"
    assert "  expected: 00000010 " in diff.render()
