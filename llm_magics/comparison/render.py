"""How a `Comparison` looks: a plain-text table for terminals, HTML for notebooks, Markdown for files.

All three show the same columns; the best value of TTFT, latency and tokens/s is marked (★ / bold)
when at least two targets succeeded. Outputs follow the table: side by side in HTML, one after
another in text and Markdown (which cannot lay out columns portably).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from llm_magics.comparison.stats import METRICS, fmt_metric

if TYPE_CHECKING:
    from llm_magics.comparison.api import Comparison, TargetResult

__all__ = ["text_table", "table_html", "to_text", "to_html", "to_markdown", "HEADERS"]

HEADERS = ("target", "TTFT", "latency", "output tok", "reasoning tok", "tok/s", "cost/run", "finish", "notes")
#: Columns holding text (left-aligned); every other column is a number (right-aligned).
_TEXT_COLUMNS = frozenset({"target", "finish", "notes"})
_MARKED = ("ttft", "latency", "tokens_per_s")
_COLUMNS = ("ttft", "latency", "output_tokens", "reasoning_tokens", "tokens_per_s")


def _best(comp: Comparison) -> dict[str, set[int]]:
    """metric → indexes of the rows holding the best value (ties all marked)."""
    out: dict[str, set[int]] = {}
    for metric in _MARKED:
        vals: dict[int, float] = {}
        for i, r in enumerate(comp.rows):
            v = r.value(metric) if r.ok else None
            if v is not None:
                vals[i] = v
        if len(vals) < 2:
            continue
        best = max(vals.values()) if METRICS[metric][1] else min(vals.values())
        out[metric] = {i for i, v in vals.items() if v == best}
    return out


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _notes(row: TargetResult) -> str:
    if not row.ok:
        if row.suggestions:  # the table cell is narrow: the fix first, the full error below it
            return "not found · Did you mean: " + ", ".join(row.suggestions) + "?"
        return _first_line(row.error or row.status)
    bits = []
    failed = len(row.attempts) - len(row.successful)
    if failed:
        bits.append(f"{failed} of {len(row.attempts)} failed")
    if any(a.tokens_estimated for a in row.successful):
        bits.append("tokens counted from chunks (no usage reported)")
    return "; ".join(bits)


def _error_text(row: TargetResult) -> str:
    text = _first_line(row.error or row.status)
    if row.suggestions:
        text += " Did you mean: " + ", ".join(row.suggestions) + "?"
    return text


def _cost_cell(row: TargetResult) -> str:
    """Median cost per run (with the min–max over repeats); "—" when unpriced or nothing ran."""
    from llm_magics.pricing.cost import format_amount, format_cost

    if not row.ok or not any(a.usage is not None and a.cost is not None for a in row.successful):
        return "—"
    cost = row.cost
    text = format_cost(cost)
    stat = row.stat("cost")
    if cost.known and stat is not None and stat.n > 1 and stat.min != stat.max:
        text += f" ({format_amount(stat.min, cost.currency)}–{format_amount(stat.max, cost.currency)})"
    return text


def _cells(comp: Comparison) -> list[list[tuple[str, bool]]]:
    """Per row: (text, is_best) for every column of HEADERS."""
    best = _best(comp)
    rows: list[list[tuple[str, bool]]] = []
    for i, row in enumerate(comp.rows):
        cells: list[tuple[str, bool]] = [(row.target, False)]
        for metric in _COLUMNS:
            text = fmt_metric(metric, row.stat(metric), unit=metric in ("ttft", "latency")) if row.ok else "—"
            cells.append((text, i in best.get(metric, set())))
        cells.append((_cost_cell(row), False))
        cells.append((row.finish_reason or "—" if row.ok else row.status, False))
        cells.append((_notes(row), False))
        rows.append(cells)
    return rows


def _header_line(comp: Comparison) -> str:
    p = comp.params
    bits = [f"{len(comp.rows)} targets"]
    if p.get("repeat", 1) > 1:
        bits.append(f"median of {p['repeat']} runs (min–max)")
    for key in ("temperature", "max_tokens"):
        if p.get(key) is not None:
            bits.append(f"{key}={p[key]}")
    total = comp.cost
    if total.calls:
        bits.append(f"total cost {total.format()}")
    if comp.status not in ("done",):
        bits.append(f"status: {comp.status}")
    return " · ".join(bits)


def text_table(comp: Comparison) -> str:
    rows = [[t + (" ★" if b else "") for t, b in r] for r in _cells(comp)]
    table = [list(HEADERS), *rows]
    widths = [max(len(r[c]) for r in table) for c in range(len(HEADERS))]
    widths[-1] = min(widths[-1], 80)

    def line(r: list[str]) -> str:
        return "  ".join(
            r[c][: widths[c]].ljust(widths[c]) if HEADERS[c] in _TEXT_COLUMNS else r[c].rjust(widths[c])
            for c in range(len(r))
        ).rstrip()

    out = [line(table[0]), "  ".join("─" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def to_text(comp: Comparison) -> str:
    parts = [f"Comparison {comp.id}: {comp.title}", _header_line(comp), "", text_table(comp)]
    if any(r.ok for r in comp.rows) and len(comp.rows) > 1:
        parts.append("★ = best (lowest TTFT and latency, highest tok/s)")
    for row in comp.rows:
        parts.append(f"\n── {row.target} ({row.provider}) " + "─" * max(0, 40 - len(row.target)))
        if row.reasoning:
            parts.append(f"[reasoning: {len(row.reasoning)} characters]")
        parts.append(row.text if row.text else f"({_error_text(row)})")
    return "\n".join(parts)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(comp: Comparison) -> str:
    prompt = comp.prompt.strip()
    if len(prompt) > 600:  # a long prompt is not repeated in full in the saved notebook (comp.prompt has it)
        cut = prompt[:600].rsplit(None, 1)[0]
        prompt = cut + f"… *({len(prompt[len(cut):].split()):,} more words; the full prompt is `comp.prompt`)*"
    quoted = "\n".join("> " + ln for ln in prompt.splitlines())
    out = [f"## Compare: {comp.title}", "", quoted, "", f"_{_header_line(comp)} · run `{comp.id}`_", ""]
    out.append("| " + " | ".join(HEADERS) + " |")
    out.append("|" + "|".join("---" if h in _TEXT_COLUMNS else "---:" for h in HEADERS) + "|")
    for cells in _cells(comp):
        shown = [f"**{_md_cell(t)}**" if b else _md_cell(t) for t, b in cells]
        out.append("| " + " | ".join(shown) + " |")
    out += ["", "TTFT counts the first reasoning or text token; tok/s = output tokens ÷ (latency − TTFT).", ""]
    for row in comp.rows:
        out.append(f"### {row.target}")
        out.append(f"_{row.provider} · {row.summary()}_" if row.ok else f"_{row.provider} · {row.status}_")
        out.append("")
        if row.reasoning:
            out += ["<details><summary>Reasoning</summary>", "", row.reasoning, "", "</details>", ""]
        if row.text:
            out += [row.text, ""]
        if not row.ok:
            out.append(f"**Error:** {_error_text(row)}")
            if row.hint:
                out.append(f"→ {row.hint}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _align(header: str) -> str:
    return "text-align:left" if header in _TEXT_COLUMNS else "text-align:right;font-variant-numeric:tabular-nums"


def table_html(comp: Comparison, *, errors_in_panes: bool = False) -> str:
    """The metrics table alone (text left, numbers right, best values marked): `.llm-compare-table`.

    `errors_in_panes`: the live view shows each error in its target's pane, so a failed row's
    notes point there instead of repeating the error.
    """
    e = html.escape
    head = "".join(f"<th style='{_align(h)};padding:2px 8px'>{e(h)}</th>" for h in HEADERS)
    body = []
    for row, cells in zip(comp.rows, _cells(comp)):
        if errors_in_panes and not row.ok:
            cells[HEADERS.index("notes")] = ("see its pane for the error", False)
        tds = []
        for h, (t, b) in zip(HEADERS, cells):
            style = f"{_align(h)};padding:2px 8px;" + ("font-weight:bold;background:rgba(46,160,67,.15);" if b else "")
            tds.append(f"<td style='{style}'>{e(t)}</td>")
        color = "" if row.ok else " style='color:#b42318'"
        body.append(f"<tr{color}>{''.join(tds)}</tr>")
    note = ""
    if sum(r.ok for r in comp.rows) > 1:
        note = "<div style='opacity:.7;font-size:85%'>bold = best (lowest TTFT and latency, highest tok/s)</div>"
    return (
        f"<table class='llm-compare-table' style='border-collapse:collapse;margin:6px 0'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>{note}"
    )


def to_html(comp: Comparison) -> str:
    e = html.escape
    panes = []
    for row in comp.rows:
        reasoning = (
            f"<details><summary>Reasoning ({len(row.reasoning)} chars)</summary>"
            f"<div style='white-space:pre-wrap;opacity:.75'>{e(row.reasoning)}</div></details>"
            if row.reasoning else ""
        )
        text = e(row.text) if row.text else f"<em>{e(_error_text(row) if not row.ok else row.status)}</em>"
        sub = e(row.summary()) if row.ok else e(row.status)
        panes.append(
            "<div style='border:1px solid rgba(128,128,128,.35);border-radius:6px;padding:8px;min-width:0'>"
            f"<div><b>{e(row.target)}</b> <span style='opacity:.7'>{e(row.provider)}</span></div>"
            f"<div style='opacity:.7;font-size:90%;margin-bottom:4px'>{sub}</div>"
            f"{reasoning}<div style='white-space:pre-wrap'>{text}</div></div>"
        )
    return (
        f"<div class='llm-magics-compare'><div><b>Compare</b> {e(comp.title)} "
        f"<span style='opacity:.7'>{e(_header_line(comp))} · run {e(comp.id)}</span></div>"
        f"{table_html(comp)}"
        "<div style='display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:8px'>"
        f"{''.join(panes)}</div></div>"
    )
