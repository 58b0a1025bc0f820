"""How an eval reads: the per-target table (Markdown, HTML, plain text), the paired line and the chart.

Scores in [0, 1] read as percentages with their 95% interval in brackets: "82.0% [74.1, 88.2]".
Anything unknown (no price, no usage, no scored call yet) is "—".
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llm_magics.fmt import fmt_seconds

if TYPE_CHECKING:
    from llm_magics.evaluation.result import EvalResult

__all__ = ["table_rows", "to_markdown", "to_html", "to_text", "plot", "png", "HEADERS", "fmt_score", "progress_text",
           "judge_line", "wait_text"]

DASH = "—"


def _unit_scale(rows: Sequence[dict[str, Any]]) -> bool:
    """True when every score is within [0, 1] (shown as a percentage)."""
    vals = [r[k] for r in rows for k in ("score", "ci_low", "ci_high", "pass_at_k", "maj_at_k") if r.get(k) is not None]
    return all(-1e-9 <= v <= 1 + 1e-9 for v in vals)


def fmt_score(value: float | None, pct: bool) -> str:
    if value is None:
        return DASH
    return f"{100 * value:.1f}%" if pct else f"{value:.3g}"


def _score_cell(r: dict[str, Any], pct: bool) -> str:
    if r.get("score") is None:
        return DASH
    main = fmt_score(r["score"], pct)
    if r.get("ci_low") is None or r.get("ci_method") == "exact":
        return main
    lo, hi = (f"{100 * r[k]:.1f}" if pct else f"{r[k]:.3g}" for k in ("ci_low", "ci_high"))
    return f"{main} [{lo}, {hi}]"


def _int(v: Any) -> str:
    return DASH if v is None else f"{int(v):,}"


def _secs(a: Any, b: Any = None) -> str:
    if a is None:
        return DASH
    return fmt_seconds(a) if b is None else f"{fmt_seconds(a)} / {fmt_seconds(b)}"


def _cost(r: dict[str, Any], prefix: str = "") -> str:
    """The row's `cost` (or `judge_cost` with prefix "judge_"), "—" unless every call is priced."""
    if not r.get(f"{prefix}cost_known") or r.get(f"{prefix}cost") is None:
        return DASH
    from llm_magics.pricing.cost import format_amount

    return format_amount(float(r[f"{prefix}cost"]), str(r.get(f"{prefix}currency") or "USD"))


def _errors(r: dict[str, Any]) -> str:
    e, s = int(r.get("errors") or 0), int(r.get("scoring_errors") or 0)
    if not s:
        return str(e)
    return f"{e} (+{s} scoring)"


def _tokens(r: dict[str, Any]) -> str:
    if r.get("prompt_tokens") is None:
        return DASH
    out = f"{r['prompt_tokens']:,} / {r['output_tokens']:,}"
    if r.get("reasoning_tokens"):
        out += f" ({r['reasoning_tokens']:,} reasoning)"
    if r.get("cached_tokens"):
        out += f", {r['cached_tokens']:,} cached"
    return out


def HEADERS(k: int, judge: bool = False) -> list[str]:  # noqa: N802 - a computed constant
    """The table's columns; `judge`: a "judge cost" column after "cost" (what grading each target took)."""
    cols = ["target", "score (95% CI)", "scored", "errors"]
    if k > 1:
        cols += [f"pass@{k}", f"maj@{k}", "consistency"]
    return cols + ["latency p50 / p95", "TTFT p50", "tokens in / out", "cost"] + (["judge cost"] if judge else [])


def table_rows(rows: Sequence[dict[str, Any]], k: int, judge: bool = False) -> list[list[str]]:
    pct = _unit_scale(rows)
    out = []
    for r in rows:
        done = f"{r.get('scored') or 0}/{r.get('planned') or 0}"
        cells = [str(r["target"]), _score_cell(r, pct), done, _errors(r)]
        if k > 1:
            cells += [fmt_score(r.get("pass_at_k"), pct), fmt_score(r.get("maj_at_k"), pct),
                      DASH if r.get("consistency") is None else f"{100 * r['consistency']:.0f}%"]
        cells += [_secs(r.get("latency_p50"), r.get("latency_p95")), _secs(r.get("ttft_p50")), _tokens(r), _cost(r)]
        if judge:
            cells.append(_cost(r, "judge_"))
        out.append(cells)
    return out


def _best(rows: Sequence[dict[str, Any]]) -> int | None:
    """The row with the single highest score (None on a tie or with fewer than two scored rows)."""
    scored = sorted(((r["score"], i) for i, r in enumerate(rows) if r.get("score") is not None), reverse=True)
    if len(scored) < 2 or scored[0][0] == scored[1][0]:
        return None
    return scored[0][1]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def paired_line(res: EvalResult) -> str | None:
    """'Paired: a − b = +8.0 pts [2.0, 14.0], p = 0.021 (exact McNemar on 200 items)' for the top two."""
    rows = [r for r in res.summary if r.get("score") is not None]
    if len(rows) < 2:
        return None
    top = sorted(rows, key=lambda r: -r["score"])[:2]
    try:
        p = res.compare(top[0]["target"], top[1]["target"])
    except Exception:  # noqa: BLE001 - no common items yet: just leave the line out
        return None
    return p.sentence()


def _footer(res: EvalResult) -> list[str]:
    n_items = len(res.items)
    bits = [f"scorer `{res.scorer}`"]
    if res.expected and res.scorer_needs_expected:
        bits.append(f"expected `{res.expected}`")
    bits.append(f"{n_items} item{'s' if n_items != 1 else ''} × {res.repeat} repeat{'s' if res.repeat != 1 else ''}")
    if res.workflow:
        bits.append(f"workflow `{res.workflow}` (scored step `{res.step}`)")
    if res.judge:
        bits.append(f"judge `{res.judge}`")
    bits.append(f"run `{res.id}` ({res.status})")
    lines = ["_" + " · ".join(bits) + "_"]
    pairs = paired_line(res)
    if pairs:
        lines.append(pairs)
    missing = res.missing_count()
    if missing and res.status != "running":
        lines.append(f"{missing} call{'s' if missing != 1 else ''} not yet answered: `%eval --resume {res.id}` "
                     "(or `res.resume()`) sends only those.")
    judge = judge_line(res)
    if judge:
        lines.append(judge)
    lines += [f"_{n}_" for n in res.notes]
    return lines


def judge_line(res: EvalResult) -> str | None:
    """'Judge `kimi:kimi-k2.6`: 12 calls, 1,480 prompt / 96 output tokens, judge cost $0.0019 · eval
    cost $0.0047 (targets $0.0028 + judge $0.0019)': the judge's share, and the eval's total with it."""
    judged = [c for c in res.calls.values() if c.judge_calls]
    if not res.judge or not judged:
        return None
    from llm_magics.pricing.cost import CostTotal, format_cost
    from llm_magics.providers.base import Cost

    calls = sum(c.judge_calls for c in judged)
    prompt = sum(c.judge_prompt_tokens for c in judged)
    output = sum(c.judge_output_tokens for c in judged)
    judge_cost = CostTotal.of(Cost(c.judge_cost, c.judge_currency or "USD", True) if c.judge_cost is not None else None
                              for c in judged).single()
    text = (f"Judge `{res.judge}`: {calls:,} call{'s' if calls != 1 else ''}, {prompt:,} prompt / {output:,} output tokens, "
            f"judge cost {format_cost(judge_cost)}")
    total = res.total_cost()
    if total.known and judge_cost.known and total.amount is not None and judge_cost.amount is not None:
        targets = Cost(total.amount - judge_cost.amount, total.currency, True)
        text += f" · eval cost {format_cost(total)} (targets {format_cost(targets)} + judge {format_cost(judge_cost)})"
    return text + "."


def to_markdown(res: EvalResult, *, title: bool = True, rows: Sequence[dict[str, Any]] | None = None) -> str:
    rows = res.summary if rows is None else rows
    k = res.repeat
    judge = bool(res.judge)
    head = HEADERS(k, judge)
    body = table_rows(rows, k, judge)
    best = _best(rows)
    if best is not None:
        body[best][1] = "★ " + body[best][1]
    lines = [f"### {res.title}", ""] if title else []
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i == 0 else "--:" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in cells) + " |" for cells in body]
    lines += [""] + _footer(res)
    return "\n".join(lines)


def to_html(res: EvalResult, rows: Sequence[dict[str, Any]] | None = None, *, footer: bool = True) -> str:
    """The table as HTML; `rows` defaults to the full summary (the live view passes `live_summary()`)."""
    rows = res.summary if rows is None else rows
    k = res.repeat
    judge = bool(res.judge)
    head = HEADERS(k, judge)
    body = table_rows(rows, k, judge)
    best = _best(rows)
    th = "".join(f"<th style='text-align:{'left' if i == 0 else 'right'};padding:2px 8px'>{html.escape(h)}</th>"
                 for i, h in enumerate(head))
    trs = []
    for n, cells in enumerate(body):
        tds: list[str] = []
        for i, c in enumerate(cells):
            style = f"text-align:{'left' if i == 0 else 'right'};padding:2px 8px"
            if i == 1 and n == best:
                style += ";font-weight:600"
                c = "★ " + c
            tds.append(f"<td style='{style}'>{html.escape(c)}</td>")
        trs.append("<tr>" + "".join(tds) + "</tr>")
    foot = "".join(f"<div style='font-size:90%;margin-top:2px'>{html.escape(line.strip('_').replace('`', ''))}</div>"
                   for line in (_footer(res) if footer else []))
    return (f"<div class='llm-eval'><b>{html.escape(res.title)}</b>"
            f"<table style='border-collapse:collapse'><thead><tr>{th}</tr></thead><tbody>{''.join(trs)}</tbody></table>"
            f"{foot}</div>")


def to_text(res: EvalResult) -> str:
    k = res.repeat
    judge = bool(res.judge)
    rows = [HEADERS(k, judge), *table_rows(res.summary, k, judge)]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("─" * w for w in widths))
    return "\n".join([res.title, *lines, *(ln.strip("_").replace("`", "") for ln in _footer(res))])


def plot(res: EvalResult, *, x: str = "auto") -> Any:
    """Score with its 95% CI per target against cost (when every target's cost is known) or output tokens.

    Returns a matplotlib Figure (no pyplot, so nothing global changes); needs matplotlib.
    """
    try:
        from matplotlib.figure import Figure  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from llm_magics.errors import ConfigurationError

        raise ConfigurationError("res.plot() needs matplotlib, which is not installed.", hint="pip install matplotlib") from None
    rows = [r for r in res.summary if r.get("score") is not None]
    if x == "auto":
        priced = rows and all(r.get("cost_known") for r in rows) and any(r.get("cost") for r in rows)
        x = "cost" if priced else "tokens"
    pct = _unit_scale(rows)
    scale = 100.0 if pct else 1.0
    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    ax = fig.add_subplot()
    for n, r in enumerate(rows):
        xv = float(r["cost"] or 0) if x == "cost" else float(r.get("output_tokens") or 0)
        y = r["score"] * scale
        lo = (r["score"] - (r.get("ci_low") if r.get("ci_low") is not None else r["score"])) * scale
        hi = ((r.get("ci_high") if r.get("ci_high") is not None else r["score"]) - r["score"]) * scale
        ax.errorbar([xv], [y], yerr=[[lo], [hi]], fmt="o", capsize=4, label=str(r["target"]))
        ax.annotate(str(r["target"]), (xv, y), textcoords="offset points", xytext=(8, 10 - 12 * (n % 3)), fontsize=8)
    currency = next((r.get("currency") for r in rows if r.get("currency")), "USD")
    ax.set_xlabel(f"cost ({currency})" if x == "cost" else "output tokens (all calls)")
    ax.set_ylabel("score (%)" if pct else "score")
    if pct:
        ax.set_ylim(-2, 102)
    ax.set_xlim(left=0, right=max([ax.get_xlim()[1]] + [1e-9]) * 1.25)
    ax.set_title(f"{res.title} — score with 95% CI", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def png(res: EvalResult) -> bytes | None:
    """The chart as PNG bytes, or None when matplotlib is missing or nothing is scored yet."""
    try:
        import matplotlib  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return None
    if not any(r.get("score") is not None for r in res.summary):
        return None
    import io

    buf = io.BytesIO()
    plot(res).savefig(buf, format="png")
    return buf.getvalue()


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def progress_text(done: int, total: int, sent: int, elapsed: float) -> str:
    """'120/1,800 · 412 calls/min · ETA 4 min' (rate and ETA once this session has finished a call)."""
    parts = [f"{done:,}/{total:,}"]
    if sent and elapsed > 0:
        per_min = sent / elapsed * 60
        parts.append(f"{per_min:,.0f} calls/min")
        left = total - done
        if left > 0:
            parts.append("ETA " + _duration(left / (sent / elapsed)))
    return " · ".join(parts)


def wait_text(waiting: Mapping[str, str]) -> str:
    """The views' rate-limit line from the calls queued now (call → its `Waiting` text, oldest first):
    the newest reason and expected wait, and how many calls queue — '' when none does.

    'waiting for the rate limit: 3 requests/min (announced by the server) (~18 s) · 5 calls queued'"""
    if not waiting:
        return ""
    texts = list(waiting.values())
    return texts[-1] + (f" · {len(texts)} calls queued" if len(texts) > 1 else "")
