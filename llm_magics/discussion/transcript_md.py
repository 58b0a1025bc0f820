"""Static Markdown for a Transcript: what a saved notebook shows on GitHub, where widgets don't render."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llm_magics.discussion.transcript import Outcome, Transcript, Turn

__all__ = ["render_markdown"]

_MODE_NAMES = {"sequential": "Sequential discussion", "parallel": "Parallel answers", "consensus": "Consensus debate"}
_KIND_HEADINGS = {"summary": "Closing summary", "synthesis": "Consensus", "ranking": "Peer rankings"}


#: A saved notebook quotes at most this much of the topic; the transcript keeps all of it.
TOPIC_QUOTE_CHARS = 600


def _quote_topic(topic: str) -> str:
    text = topic.strip()
    more = ""
    if len(text) > TOPIC_QUOTE_CHARS:
        cut = text[:TOPIC_QUOTE_CHARS].rsplit(None, 1)[0]
        left = len(text[len(cut):].split())
        text, more = cut, f"… *({left:,} more words; the full topic is in the transcript: `tr.topic`)*"
    lines = text.splitlines() or [""]
    if more:
        lines[-1] += more
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def _turn(turn: Turn, mixed: bool = False) -> list[str]:
    head = f"**{turn.label or turn.persona}**"
    if mixed and turn.target:
        head += f" · `{turn.target}`"
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


def _chair_line(final: Outcome) -> list[str]:
    if not final.by or final.chair_target is None:
        return []
    line = f"*Chair: {final.by} on `{final.chair_target}`"
    if final.chair_is_speaker:
        line += " — also a speaker: it may favour its own answer"
    if final.chair_same_model_as:
        line += f" — same model as {', '.join(final.chair_same_model_as)}"
    return [line + ".*", ""]


def _rank_orders(tr: Transcript, final: Outcome) -> list[str]:
    """The label → persona → model map and the order each judge saw (bias control, recorded)."""
    out: list[str] = []
    if tr.labels:
        who = " · ".join(f"{lab} = {d.get('persona')} (`{d.get('target')}`)" for lab, d in tr.labels.items())
        out += [f"<sub>Anonymous labels: {who}; seed {tr.seed}.</sub>", ""]
    if final.orders:
        seen = " · ".join(
            f"{judge}: {' '.join(order)}" + (f" (own answer ranked {final.self_rank[judge]})" if final.self_rank.get(judge) else "")
            for judge, order in final.orders.items()
        )
        out += [f"<sub>Order shown to each judge: {seen}.</sub>", ""]
    return out


def _outcome(final: Outcome) -> list[str]:
    out: list[str] = _chair_line(final)
    if final.kind == "vote":
        out += ["### Vote", ""]
        for answer, who in sorted(final.votes.items(), key=lambda kv: -len(kv[1])):
            out.append(f"- **{len(who)}** × {answer} — {', '.join(who)}")
        out.append("")
        if final.text:
            out += [f"**Result:** {final.text}", ""]
    elif final.kind == "rank":
        out += ["### Aggregate ranking", "", "| # | Persona | Average rank | Votes |", "|---:|:---|---:|---:|"]
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
    mixed = tr.mixed
    if mixed:
        targets = tr.targets
        names = ", ".join(f"{p.get('name', '?')} (`{targets.get(str(p.get('name')), '')}`)" for p in tr.personas)
        head = f"*{names} · run `{tr.id}`*"
    else:
        names = ", ".join(p.get("name", "?") for p in tr.personas)
        head = f"*{names} · {target} · run `{tr.id}`*"
    lines = [f"### 💬 {mode}", "", _quote_topic(tr.topic), "", head, ""]
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
        lines += _turn(turn, mixed)
    if tr.final is not None:
        lines += _outcome(tr.final)
        lines += _rank_orders(tr, tr.final)
    if tr.baselines is not None:
        lines += [tr.baselines.to_markdown()]
    if mixed:
        lines += _by_model(tr)
    t = tr.totals
    wall = f" · {t['wall_s']:.1f} s" if t.get("wall_s") else ""
    errs = f" · {t['errors']} error(s)" if t["errors"] else ""
    cost = f" · cost {t['cost'].format()}" if t["cost"].calls else ""
    from llm_magics.fmt import fmt_tokens

    tokens = fmt_tokens(t["prompt_tokens"], t["completion_tokens"], t.get("reasoning_tokens"))
    lines.append(f"<sub>{t['messages']} messages · {tokens}{cost}{wall}{errs}</sub>")
    return "\n".join(lines).rstrip() + "\n"


def _by_model(tr: Transcript) -> list[str]:
    """Tokens and cost per provider:model (a council's bill is per model)."""
    from llm_magics.discussion.baselines import model_totals

    out = ["| Model | Calls | Prompt tok | Output tok | Cost |", "|:---|---:|---:|---:|---:|"]
    for target, row in model_totals(tr.messages).items():
        out.append(
            f"| `{target}` | {row['calls']} | {row['prompt_tokens']:,} | {row['completion_tokens']:,} | {row['cost'].format()} |"
        )
    return [*out, ""]
