"""Did the debate help? Baselines and measures computed from a transcript's own turns.

Research on multi-agent debate finds that a plain majority vote over independent answers explains
most of its gains (Choi et al. 2025), that more rounds can lower accuracy (Kaesberg et al. 2025),
and that agents conform to each other at two to three times the tokens. So a consensus run with
`baselines=True` reports, from the turns it already has (no extra calls):

- the single-agent baselines: each persona's round-1 answer, written before seeing anyone else's;
- the majority vote over those first answers, i.e. what the debate has to beat;
- agreement at the start and at the end: the share of personas giving the most common answer;
- who changed their answer during the debate (the flip rate) and in which direction: to the
  majority of the first answers (conformity), away from it, or between minority answers;
- the token (and cost) multiple: every call of the run ÷ the round-1 answers alone.

Answers are compared by their "FINAL ANSWER:" line (else the last line), ignoring case and spacing.
Pure functions over `Turn`s: unit-testable with hand-computed numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from llm_magics.discussion import modes

if TYPE_CHECKING:
    from llm_magics.discussion.transcript import Turn

__all__ = ["Baselines", "compute_baselines", "model_totals", "fmt_multiple"]

TO_MAJORITY, FROM_MAJORITY, OTHER = "to_majority", "from_majority", "other"


def _share(answers: dict[str, str]) -> float | None:
    """Share of the answers equal to the most common one (None when there are none)."""
    if not answers:
        return None
    groups, _, _ = modes.tally_votes(answers)
    return max(len(who) for who in groups.values()) / len(answers)


def _tokens(turns: Iterable[Turn]) -> int:
    return sum(t.usage.total_tokens for t in turns if t.usage is not None)


def _cost(turns: Iterable[Turn]) -> Any:
    from llm_magics.pricing.cost import CostTotal

    return CostTotal.of(getattr(t, "cost", None) for t in turns if t.usage is not None)


def fmt_multiple(x: float | None) -> str:
    """3.4 → "3.4×" (one decimal; "—" when unknown)."""
    return "—" if x is None else f"{x:.1f}×"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


@dataclass
class Baselines:
    """What independent answers alone would have given, and what the debate changed."""

    first: dict[str, str] = field(default_factory=dict)  # persona → first (independent) answer
    final: dict[str, str] = field(default_factory=dict)  # persona → answer in its last successful turn
    targets: dict[str, str] = field(default_factory=dict)  # persona → provider:model
    votes: dict[str, list[str]] = field(default_factory=dict)  # first answer → personas
    majority: str | None = None  # most common first answer (None: tied)
    strict_majority: bool = False  # held by more than half
    final_majority: str | None = None
    agreement_start: float | None = None
    agreement_end: float | None = None
    changes: list[dict[str, str]] = field(default_factory=list)  # persona, from, to, direction
    compared: int = 0  # personas with both a first and a final answer
    flip_rate: float | None = None
    directions: dict[str, int] = field(default_factory=lambda: {TO_MAJORITY: 0, FROM_MAJORITY: 0, OTHER: 0})
    baseline_tokens: int = 0  # the round-1 answers
    debate_tokens: int = 0  # every call of the run (round 1 included)
    token_multiple: float | None = None
    baseline_cost: dict[str, Any] = field(default_factory=dict)  # CostTotal.to_dict()
    debate_cost: dict[str, Any] = field(default_factory=dict)
    cost_multiple: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Baselines | None:
        if not d:
            return None
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})

    # ---- reading ----------------------------------------------------------------------------
    def summary(self) -> str:
        """One paragraph: majority of first answers, agreement, flips, token multiple."""
        n = len(self.first)
        if self.majority is None:
            maj = "no majority (tied)" if self.votes else "no first answers"
        else:
            maj = f"**{self.majority}** ({len(self.votes.get(self.majority, []))} of {n})"
        parts = [f"Majority vote of the first answers: {maj}"]
        parts.append(f"agreement {_pct(self.agreement_start)} at the start → {_pct(self.agreement_end)} at the end")
        if self.compared:
            flips = f"{len(self.changes)} of {self.compared} changed their answer ({_pct(self.flip_rate)})"
            if self.changes:
                d = self.directions
                how = [f"{d[TO_MAJORITY]} to the first majority", f"{d[FROM_MAJORITY]} away from it", f"{d[OTHER]} other"]
                flips += ": " + ", ".join(h for h in how if not h.startswith("0 "))
            parts.append(flips)
        if self.final_majority is not None and self.majority is not None:
            same = modes.answer_key(self.final_majority) == modes.answer_key(self.majority)
            parts.append("the debate kept that answer" if same else f"the debate moved the majority to **{self.final_majority}**")
        cost = f", {fmt_multiple(self.cost_multiple)} the cost" if self.cost_multiple is not None else ""
        parts.append(
            f"the debate used {fmt_multiple(self.token_multiple)} the tokens{cost} of the independent answers "
            f"({self.debate_tokens:,} vs {self.baseline_tokens:,})"
        )
        return " · ".join(parts) + "."

    def to_markdown(self) -> str:
        """The compact table shown under the synthesis, then the summary line."""
        def cell(text: str) -> str:
            text = " ".join(text.split()).replace("|", "\\|")
            return text if len(text) <= 60 else text[:59] + "…"

        moved = {c["persona"]: c for c in self.changes}
        lines = ["#### Baselines: independent answers vs the debate", "",
                 "| Persona | Model | First answer | Final answer | Changed |", "|:---|:---|:---|:---|:---|"]
        for who, first in self.first.items():
            final = self.final.get(who, "")
            change = moved.get(who)
            mark = {TO_MAJORITY: "yes → first majority", FROM_MAJORITY: "yes, left the first majority"}.get(
                change["direction"], "yes") if change else ""
            lines.append(f"| {cell(who)} | `{self.targets.get(who, '')}` | {cell(first)} | {cell(final)} | {mark} |")
        return "\n".join([*lines, "", self.summary(), ""])

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return (
            f"<Baselines majority={self.majority!r} agreement {_pct(self.agreement_start)}→{_pct(self.agreement_end)} "
            f"flips {len(self.changes)}/{self.compared} tokens {fmt_multiple(self.token_multiple)}>"
        )


def compute_baselines(turns: Sequence[Turn], targets: dict[str, str] | None = None) -> Baselines | None:
    """Baselines from a run's turns; None when no persona answered in round 1."""
    answers = [t for t in turns if t.kind == "answer" and t.ok]
    firsts = [t for t in answers if t.round == 1]
    if not firsts:
        return None
    first = {t.persona: modes.final_answer(t.text) for t in firsts}
    latest: dict[str, Turn] = {}
    for t in answers:
        if t.persona not in latest or t.round >= latest[t.persona].round:
            latest[t.persona] = t
    final = {p: modes.final_answer(latest[p].text) for p in first if p in latest}
    votes, majority, strict = modes.tally_votes(first)
    _, final_majority, _ = modes.tally_votes(final)
    b = Baselines(
        first=first, final=final, votes=votes, majority=majority, strict_majority=strict,
        final_majority=final_majority, agreement_start=_share(first), agreement_end=_share(final),
    )
    b.targets = {p: (targets or {}).get(p) or next((t.target for t in firsts if t.persona == p), "") for p in first}
    maj_key = modes.answer_key(majority) if majority is not None else None
    for who, start in first.items():
        if who not in final:
            continue
        b.compared += 1
        end = final[who]
        if modes.answer_key(start) == modes.answer_key(end):
            continue
        if maj_key is not None and modes.answer_key(end) == maj_key:
            direction = TO_MAJORITY
        elif maj_key is not None and modes.answer_key(start) == maj_key:
            direction = FROM_MAJORITY
        else:
            direction = OTHER
        b.changes.append({"persona": who, "from": start, "to": end, "direction": direction})
        b.directions[direction] += 1
    b.flip_rate = len(b.changes) / b.compared if b.compared else None
    b.baseline_tokens, b.debate_tokens = _tokens(firsts), _tokens(turns)
    b.token_multiple = b.debate_tokens / b.baseline_tokens if b.baseline_tokens else None
    single, debate = _cost(firsts), _cost(turns)
    b.baseline_cost, b.debate_cost = single.to_dict(), debate.to_dict()
    one, all_ = single.single(), debate.single()
    if one.known and all_.known and one.currency == all_.currency and one.amount and all_.amount is not None:
        b.cost_multiple = all_.amount / one.amount
    return b


def model_totals(turns: Sequence[Turn], fallback: str = "") -> dict[str, dict[str, Any]]:
    """provider:model → calls, tokens (prompt, completion, total, reasoning) and cost, in first-use order."""
    from llm_magics.pricing.cost import CostTotal

    out: dict[str, dict[str, Any]] = {}
    for t in turns:
        key = t.target or fallback
        row = out.setdefault(key, {"calls": 0, "errors": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                   "total_tokens": 0, "reasoning_tokens": 0, "cost": CostTotal()})
        row["calls"] += 1
        row["errors"] += t.status == "error"
        if t.usage is not None:
            row["prompt_tokens"] += t.usage.prompt_tokens
            row["completion_tokens"] += t.usage.completion_tokens
            row["total_tokens"] += t.usage.total_tokens
            row["reasoning_tokens"] += t.usage.reasoning_tokens or 0
            row["cost"].add(getattr(t, "cost", None))
    return out
