"""The one Markdown table writer (GitHub-flavoured pipe tables), shared by every table the project writes:
the paper tables, significance, runs and cost (curiosft.report) and the benchmarks' printed results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_RULE = {"l": ":---", "r": "---:", "c": ":---:", "-": "---"}


def _cell(value: object) -> str:
    """A cell's text on one line, its pipes escaped (a `|` would end the cell)."""
    return " ".join(str(value).split("\n")).replace("|", "\\|")


def markdown_table(header: Sequence[object], rows: Iterable[Sequence[object]], align: str | None = None) -> list[str]:
    """The lines of a pipe table. `align`: one letter per column, l(eft), r(ight), c(entre) or - (none);
    None leaves every column unaligned. ValueError when a row or `align` has another number of columns."""
    align = align or "-" * len(header)
    if len(align) != len(header) or set(align) - set(_RULE):
        raise ValueError(f"align {align!r} must give one of l, r, c, - for each of the {len(header)} columns")
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join(_RULE[a] for a in align) + "|"]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(header)} columns: {list(row)}")
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return lines
