"""Side-by-side result tables shared by the benchmark scripts."""

from __future__ import annotations

HEADER = ("what", "this project", "peer", "ratio")


def format_table(
    rows: list[tuple[str, str, str, str]], header: tuple[str, str, str, str] = HEADER
) -> str:
    """Aligned plain-text table: first column left-aligned, the figures right-aligned."""
    table = [header, *rows]
    widths = [max(len(row[col]) for row in table) for col in range(4)]
    rule = "  ".join("-" * width for width in widths)

    def line(row: tuple[str, str, str, str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def print_table(
    rows: list[tuple[str, str, str, str]], header: tuple[str, str, str, str] = HEADER
) -> None:
    """Print rows of (what, this project, peer, ratio) under a header."""
    print(format_table(rows, header))


def ratio(top: float, bottom: float) -> str:
    """`top / bottom` as "2.50x". For a throughput ratio pass (our rate, peer's rate),
    or the times the other way round: (peer's time, our time)."""
    return f"{top / bottom:.2f}x" if bottom else "n/a"
