"""A small table that renders as HTML in notebooks and as aligned text in a terminal.

Text columns are left-aligned and number columns right-aligned, in both renderings.

Static mimebundles only (no widgets), so saved notebooks read well on GitHub/nbviewer.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

__all__ = ["Table", "show"]


class Table:
    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str = "", note: str = "") -> None:
        self.headers = [str(h) for h in headers]
        self.rows = [["" if c is None else str(c) for c in row] for row in rows]
        self.title = title
        self.note = note

    @property
    def numeric(self) -> list[bool]:
        """Which columns hold numbers (right-aligned); the others are text (left-aligned)."""
        from llm_magics.fmt import numeric_columns

        cols = numeric_columns(self.rows)
        return cols + [False] * (len(self.headers) - len(cols))

    def __str__(self) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        numeric = self.numeric

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

        lines = [self.title] if self.title else []
        if self.note:
            lines.append(self.note)
        if self.rows:
            lines.append(line(self.headers))
            lines.append("  ".join("─" * w for w in widths))
            lines.extend(line(row) for row in self.rows)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        from llm_magics.fmt import cell_style

        styles = [cell_style(n) + ";padding:2px 8px" for n in self.numeric]
        head = "".join(f"<th style='{st}'>{html.escape(h)}</th>" for h, st in zip(self.headers, styles))
        body = "".join(
            "<tr>" + "".join(f"<td style='{st}'>{html.escape(c)}</td>" for c, st in zip(row, styles)) + "</tr>"
            for row in self.rows
        )
        title = f"<p><strong>{html.escape(self.title)}</strong></p>" if self.title else ""
        note = f"<p><em>{html.escape(self.note)}</em></p>" if self.note else ""
        table = (f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                 if self.rows else "")
        return title + note + table


def show(obj: Any) -> None:
    """Display an object (HTML in a notebook, text in a terminal) without adding it to Out[]."""
    from IPython.display import display

    display(obj)
