"""A small table that renders as HTML in notebooks and as aligned text in a terminal.

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

    def __str__(self) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [self.title] if self.title else []
        if self.note:
            lines.append(self.note)
        if self.rows:
            lines.append(fmt.format(*self.headers).rstrip())
            lines.append(fmt.format(*("─" * w for w in widths)).rstrip())
            lines.extend(fmt.format(*row).rstrip() for row in self.rows)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        title = f"<p><strong>{html.escape(self.title)}</strong></p>" if self.title else ""
        note = f"<p><em>{html.escape(self.note)}</em></p>" if self.note else ""
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if self.rows else ""
        return title + note + table


def show(obj: Any) -> None:
    """Display an object (HTML in a notebook, text in a terminal) without adding it to Out[]."""
    from IPython.display import display

    display(obj)
