"""Static Markdown for a Transcript: what a saved notebook shows on GitHub, where widgets don't render."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llm_magics.discussion.transcript import Outcome, Transcript, Turn

__all__ = ["render_markdown"]

_MODE_NAMES = {"sequential": "Sequential discussion", "parallel": "Parallel answers", "consensus": "Consensus debate"}
_KIND_HEADINGS = {"summary": "Closing summary", "synthesis": "Consensus", "ranking": "Peer rankings"}


def _quote_topic(topic: str) -> str:
    lines = topic.strip().splitlines() or [""]
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def _turn(turn: Turn) -> list[str]:
    head = f"**{turn.label or turn.persona}**"
    if turn.stance:
        head += f" · `{turn.stance}`"
    if turn.status == "interrupted":
        head += " · *interrupted*"
    out = [head, ""]
    if turn.reasoning:
        out += ["<details><summary>Reasoning</summary>", "", html.escape(turn.reasoning.strip()), "", "</details>", ""]
    if turn.text.strip():
        out += [turn.text.strip(), ""]
    if turn.error:
        out += [f"> ⚠️ **Error:** {' '.join(turn.error.split())}", ""]
    from llm_magics.discussion.transcript import turn_summary

    summary = turn_summary(turn)
    if summary:
        out += [f"<sub>{summary}</sub>", ""]
    return out


def _outcome(final: Outcome) -> list[str]:
    out: list[str] = []
    if final.kind == "vote":
        out += ["### Vote", ""]
        for answer, who in sorted(final.votes.items(), key=lambda kv: -len(kv[1])):
            out.append(f"- **{len(who)}** × {answer} — {', '.join(who)}")
        out.append("")
        if final.text:
            out += [f"**Result:** {final.text}", ""]
    elif final.kind == "rank":
        out += ["### Aggregate ranking", "", "| # | Persona | Average rank | Votes |", "|---|---|---|---|"]
        for i, row in enumerate(final.ranking, 1):
            out.append(f"| {i} | {row['persona']} | {row['average_rank']:.2f} | {row['votes']} |")
        out.append("")
        if final.winner:
            out += [f"**Top-ranked answer ({final.winner}):**", "", final.text.strip(), ""]
    if final.agreed is not None:
        rounds = f" after {final.rounds_run} round(s)" if final.rounds_run else ""
        out += [f"*All agreed{rounds}.*" if final.agreed else f"*No full agreement{rounds}.*", ""]
    if final.kind != "summary":
        out.append("**Dissents:** " + (", ".join(final.dissents) if final.dissents else "none"))
        out.append("")
    return out


def render_markdown(tr: Transcript) -> str:
    """The whole discussion as Markdown: topic, each round's turns, the outcome, totals."""
    mode = _MODE_NAMES.get(tr.mode, tr.mode)
    target = f"{tr.provider}:{tr.model}" if tr.provider else (tr.model or "")
    names = ", ".join(p.get("name", "?") for p in tr.personas)
    lines = [f"### 💬 {mode}", "", _quote_topic(tr.topic), "", f"*{names} · {target} · run `{tr.id}`*", ""]
    if tr.status not in ("done", "running"):
        lines += [f"**Status: {tr.status}** — partial transcript kept.", ""]
    for notice in tr.notices:
        lines += [f"> ℹ️ {notice}", ""]
    multi_round = len({t.round for t in tr.answers()}) > 1
    section: str | None = None
    for turn in tr.messages:
        if turn.kind == "answer":
            heading = f"Round {turn.round}" if multi_round else ""
        else:
            heading = _KIND_HEADINGS.get(turn.kind, turn.kind.title())
        if heading != section:
            section = heading
            if heading:
                lines += [f"#### {heading}", ""]
        lines += _turn(turn)
    if tr.final is not None:
        lines += _outcome(tr.final)
    t = tr.totals
    wall = f" · {t['wall_s']:.1f} s" if t.get("wall_s") else ""
    errs = f" · {t['errors']} error(s)" if t["errors"] else ""
    lines.append(f"<sub>{t['messages']} messages · {t['total_tokens']} tokens{wall}{errs}</sub>")
    return "\n".join(lines).rstrip() + "\n"
