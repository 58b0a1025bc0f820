"""What a run adds under its panes: a totals line, the workflow step list, the compare table.

Pure functions over the run objects (`Transcript`, `WorkflowRun`, `Comparison`), returning HTML
for the live widget and plain text for terminals, so the finished live view shows what the
static Markdown twin shows. No ipywidgets here: the terminal view (`magics.live.TextView`) uses
the same text.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any

from llm_magics.fmt import fmt_seconds, fmt_tokens

__all__ = [
    "Totals",
    "totals_of",
    "step_rows",
    "step_list_html",
    "step_list_text",
    "compare_table_html",
    "failure_line",
    "STEP_ICONS",
]

STEP_ICONS = {"done": "✅", "failed": "❌", "skipped": "⏭️", "pending": "⏳", "running": "▶️", "interrupted": "⏸️"}
_NUM = "text-align:right;padding:1px 8px;font-variant-numeric:tabular-nums"
_TXT = "text-align:left;padding:1px 8px"


@dataclass
class Totals:
    """Token, call and cost totals of a run; `None` means "not reported by any call"."""

    calls: int = 0
    failed: int = 0
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost: str | None = None  # formatted total; None when no call carries a price

    def text(self, seconds: float | None = None) -> str:
        """'3 calls · prompt 1,204 tok · output 512 tok (reasoning 120) · 4.2 s · cost $0.0012'."""
        parts = [f"{self.calls} call{'s' if self.calls != 1 else ''}"]
        if self.failed:
            parts[0] += f" ({self.failed} failed)"
        tokens = fmt_tokens(self.prompt_tokens, self.output_tokens, self.reasoning_tokens)
        if tokens:
            parts.append(tokens)
        if seconds is not None:
            parts.append(fmt_seconds(seconds))
        if self.cost is not None:
            parts.append(f"cost {self.cost}")
        return " · ".join(parts)


def _add(a: int | None, b: int | None) -> int | None:
    return a if b is None else (b if a is None else a + b)


def _cost_text(records: list[Any]) -> str | None:
    """The summed `cost` of the records that have one (the pricing layer sets it), formatted."""
    costs = [getattr(r, "cost", None) for r in records]
    if not records or all(c is None for c in costs):
        return None
    from llm_magics.pricing.cost import CostTotal

    return CostTotal.of(costs).format()


def totals_of(run: Any) -> Totals | None:
    """Totals for a Transcript, WorkflowRun or Comparison (None for anything else)."""
    from llm_magics.comparison.api import Comparison
    from llm_magics.discussion.transcript import Transcript
    from llm_magics.workflow.run import WorkflowRun

    t = Totals()
    if isinstance(run, Comparison):
        attempts = [a for row in run.rows for a in row.attempts]
        t.calls, t.failed = len(attempts), sum(not a.ok for a in attempts)
        for a in attempts:
            t.output_tokens = _add(t.output_tokens, a.output_tokens)
            t.reasoning_tokens = _add(t.reasoning_tokens, a.reasoning_tokens)
            usage = getattr(a, "usage", None)
            if usage is not None:
                t.prompt_tokens = _add(t.prompt_tokens, usage.prompt_tokens)
        t.cost = _cost_text([a for a in attempts if a.ok])
        return t
    if isinstance(run, Transcript):
        records: list[Any] = [m for m in run.messages if m.status != "streaming" or m.usage]
        t.failed = sum(m.status == "error" for m in records)
    elif isinstance(run, WorkflowRun):
        records = [s for s in run.steps.values() if s.status in ("done", "failed", "interrupted") or s.usage]
        t.failed = sum(s.status == "failed" for s in records)
    else:
        return None
    t.calls = len(records)
    for r in records:
        if r.usage is not None:
            t.prompt_tokens = _add(t.prompt_tokens, r.usage.prompt_tokens)
            t.output_tokens = _add(t.output_tokens, r.usage.completion_tokens)
            t.reasoning_tokens = _add(t.reasoning_tokens, r.usage.reasoning_tokens)
    t.cost = _cost_text([r for r in records if r.usage is not None])
    return t


# ---- workflow step list ----------------------------------------------------------------------


def step_rows(run: Any, now: float | None = None) -> list[dict[str, str]]:
    """One dict per step: n, step, persona, status, time, tokens, cost (display strings)."""
    now = time.time() if now is None else now
    rows = []
    for i, s in enumerate(run.steps.values(), 1):
        if s.status == "running" and s.started_at:
            when = fmt_seconds(max(0.0, now - s.started_at)) + "…"
        else:
            when = fmt_seconds(s.duration_s) if s.duration_s is not None and s.status != "pending" else "—"
        usage = s.usage
        out = f"{usage.completion_tokens:,}" if usage is not None and s.status != "running" else "—"
        cost = getattr(s, "cost", None)
        if cost is not None:
            from llm_magics.pricing.cost import format_cost

            cost_s = format_cost(cost)
        else:
            cost_s = "—"
        rows.append({
            "n": str(i), "step": s.id, "persona": s.persona or "—",
            "status": f"{STEP_ICONS.get(s.status, '')} {s.status}".strip(),
            "time": when, "tokens": out, "cost": cost_s, "raw_status": s.status,
        })
    return rows


_STEP_HEADERS = (("#", True), ("step", False), ("persona", False), ("status", False), ("time", True),
                 ("output tok", True), ("cost", True))
_STEP_KEYS = ("n", "step", "persona", "status", "time", "tokens", "cost")


def step_list_html(run: Any, now: float | None = None) -> str:
    """The workflow's steps as an HTML table (`.llm-steps`, one `tr[data-step]` per step)."""
    e = html.escape
    rows = step_rows(run, now)
    with_cost = any(r["cost"] != "—" for r in rows)
    cols = [(h, num, k) for (h, num), k in zip(_STEP_HEADERS, _STEP_KEYS) if k != "cost" or with_cost]
    head = "".join(f"<th style='{_NUM if num else _TXT}'>{e(h)}</th>" for h, num, _ in cols)
    body = []
    for r in rows:
        tds = "".join(f"<td style='{_NUM if num else _TXT}'>{'<code>' + e(r[k]) + '</code>' if k == 'step' else e(r[k])}</td>"
                      for _, num, k in cols)
        body.append(f"<tr data-step='{e(r['step'], quote=True)}' class='llm-step-{e(r['raw_status'])}'>{tds}</tr>")
    return (f"<table class='llm-steps-table' style='border-collapse:collapse;margin:4px 0'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def step_list_text(run: Any, now: float | None = None) -> str:
    """The same step list as aligned plain text (numbers right, text left)."""
    rows = step_rows(run, now)
    with_cost = any(r["cost"] != "—" for r in rows)
    cols = [(h, num, k) for (h, num), k in zip(_STEP_HEADERS, _STEP_KEYS) if k != "cost" or with_cost]
    table = [[h for h, _, _ in cols]] + [[r[k] for _, _, k in cols] for r in rows]
    widths = [max(_width(row[c]) for row in table) for c in range(len(cols))]

    def line(row: list[str]) -> str:
        cells = [_pad(v, w, num) for v, w, (_, num, _) in zip(row, widths, cols)]
        return "  ".join(cells).rstrip()

    return "\n".join([line(table[0]), "  ".join("─" * w for w in widths), *(line(r) for r in table[1:])])


def _width(text: str) -> int:
    """Display width: emoji (and their variation selectors) take two columns / none."""
    import unicodedata

    w = 0
    for ch in text:
        if unicodedata.combining(ch) or ch in "\ufe0f\u200d":
            continue
        w += 2 if unicodedata.east_asian_width(ch) in "WF" or ord(ch) >= 0x1F000 else 1
    return w


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


# ---- comparison ------------------------------------------------------------------------------


def compare_table_html(comp: Any) -> str:
    """The comparison's metrics table (best values marked); a failed row points to its pane."""
    from llm_magics.comparison.render import table_html

    return table_html(comp, errors_in_panes=True)  # each error is shown once, in its pane


# ---- how a run ended -------------------------------------------------------------------------


def failure_line(run: Any) -> str:
    """One line saying WHAT failed (each error itself is shown once, in its pane), or ""."""
    from llm_magics.comparison.api import Comparison
    from llm_magics.discussion.transcript import Transcript
    from llm_magics.workflow.run import WorkflowRun

    if isinstance(run, WorkflowRun):
        failed = [s.id for s in run.steps.values() if s.status == "failed"]
        if not failed:
            return ""
        skipped = sum(s.status == "skipped" for s in run.steps.values())
        names = ", ".join(f"'{f}'" for f in failed)
        line = f"Step {names} failed" + (f"; {skipped} step{'s' if skipped != 1 else ''} that need it skipped" if skipped else "")
        from llm_magics.workflow.execute import resume_hint

        return f"{line}. {resume_hint(run.id)}"
    if isinstance(run, Transcript):
        n, bad = len(run.messages), len(run.errors)
        if not bad:
            return ""
        return f"Every call failed ({bad} of {n})." if bad == n else f"{bad} of {n} calls failed; the others are kept."
    if isinstance(run, Comparison):
        bad = sum(r.status == "error" for r in run.rows)
        if not bad:
            return ""
        return f"{bad} of {len(run.rows)} targets failed."
    return ""
