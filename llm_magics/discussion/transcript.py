"""The record of a discussion: `Transcript`, its `Turn`s and the `Outcome` of the aggregator.

Plain data (no I/O, no display code) that serialises losslessly with `to_dict`/`from_dict`, so the
history database can store a run after every message and `%llm history show` can rebuild it.
`to_markdown` is the static rendering kept in saved notebooks (GitHub/nbviewer render it).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from llm_magics.discussion.baselines import Baselines
from llm_magics.fmt import stream_summary
from llm_magics.history.records import UsageRecord
from llm_magics.providers.base import Cost, Usage

__all__ = ["Turn", "Outcome", "Transcript", "RankRow", "turn_summary"]


class RankRow(dict[str, Any]):
    """One row of a peer ranking; a plain dict (JSON as is) that prints its average rank rounded."""

    def __repr__(self) -> str:
        shown = {k: round(v, 2) if isinstance(v, float) else v for k, v in self.items()}
        return repr(shown)

    def __str__(self) -> str:
        avg = self.get("average_rank")
        avg_text = f"{avg:.2f}" if isinstance(avg, (int, float)) else "—"
        return f"{self.get('persona')} (Response {self.get('label')}): average rank {avg_text} from {self.get('votes')} ranking(s)"


@dataclass
class Turn(UsageRecord):
    """One persona speaking once (or the chair's summary / synthesis, or a peer ranking)."""

    persona: str  # the persona's name
    round: int
    text: str = ""
    reasoning: str = ""
    usage: Usage | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    finish_reason: str | None = None
    error: str | None = None
    status: str = "streaming"  # streaming → done | error | interrupted
    kind: str = "answer"  # answer | summary | synthesis | ranking
    stance: str | None = None  # AGREE / DISAGREE in consensus debate rounds
    label: str = ""  # display label, e.g. "🛡️ Noor Okafor — Security Auditor"
    pane: str = ""  # the live view's pane id
    target: str = ""  # "provider:model" this turn was sent to
    shown: list[str] = field(default_factory=list)  # anonymous labels in the order this speaker saw them
    cost: Cost | None = None  # as priced when the call finished (llm_magics.pricing)

    @property
    def ok(self) -> bool:
        return self.status == "done"


@dataclass
class Outcome:
    """What the aggregator concluded: a chair's synthesis/summary, a vote or a peer ranking."""

    kind: str  # synthesis | summary | vote | rank
    text: str = ""
    by: str | None = None  # chair persona (synthesis/summary)
    winner: str | None = None  # persona whose answer won (vote/rank)
    dissents: list[str] = field(default_factory=list)  # personas who did not agree
    ranking: list[dict[str, Any]] = field(default_factory=list)  # rank: persona, average_rank, votes
    votes: dict[str, list[str]] = field(default_factory=dict)  # vote: answer → personas
    agreed: bool | None = None  # consensus: did every persona AGREE in the last round?
    rounds_run: int | None = None
    orders: dict[str, list[str]] = field(default_factory=dict)  # rank: judge → labels in the order shown
    self_rank: dict[str, int | None] = field(default_factory=dict)  # rank: judge → where it put its own answer
    chair_target: str | None = None  # provider:model of the chair (summary/synthesis)
    chair_is_speaker: bool | None = None  # the chair also answered: it may favour its own answer
    chair_same_model_as: list[str] = field(default_factory=list)  # speakers on the chair's model

    def __post_init__(self) -> None:
        self.ranking = [RankRow(r) for r in self.ranking]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ranking"] = [dict(r) for r in self.ranking]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Outcome | None:
        if not d:
            return None
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})

    def ranking_table(self) -> str:
        """The aggregate ranking as aligned text: "1. Avery Nakamura  (C)  avg 1.33  3 votes"."""
        width = max((len(str(r["persona"])) for r in self.ranking), default=0)
        return "\n".join(
            f"{i}. {str(r['persona']):<{width}}  ({r['label']})  avg {r['average_rank']:.2f}  {r['votes']} vote(s)"
            for i, r in enumerate(self.ranking, 1)
        )


def turn_summary(turn: Turn) -> str:
    """ "TTFT 0.31 s · 2.4 s · 412 tok · 171 tok/s · $0.0012" (the parts that are known; "—" = no price)."""
    from llm_magics.pricing.cost import format_cost

    text = stream_summary(turn.ttft_s, turn.latency_s, turn.usage.completion_tokens if turn.usage else None)
    if turn.usage is not None and turn.cost is not None:  # None: the provider was built without prices
        text = f"{text} · {format_cost(turn.cost)}" if text else format_cost(turn.cost)
    return text


@dataclass
class Transcript:
    """A whole discussion: who spoke, what they said, and the outcome. Rebuildable from history."""

    id: str
    topic: str
    mode: str
    personas: list[dict[str, Any]] = field(default_factory=list)  # name, role, color, emoji
    provider: str | None = None
    model: str | None = None
    rounds: int = 1
    aggregator: str | None = None
    messages: list[Turn] = field(default_factory=list)
    final: Outcome | None = None
    status: str = "running"  # running | done | error | interrupted
    notices: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    wall_s: float | None = None
    seed: int | None = None  # seeds the anonymous labels and the per-judge answer orders
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # "A" → {"persona", "target"}
    baselines: Baselines | None = None  # consensus with baselines=True (see discussion.baselines)

    # ---- queries ------------------------------------------------------------------------
    def answers(self, round: int | None = None) -> list[Turn]:
        """The persona answers (not summaries/rankings), optionally of one round."""
        return [t for t in self.messages if t.kind == "answer" and (round is None or t.round == round)]

    @property
    def errors(self) -> list[Turn]:
        return [t for t in self.messages if t.status == "error"]

    @property
    def totals(self) -> dict[str, Any]:
        """Token, timing and cost totals over every call (cost: a `CostTotal`, per currency)."""
        from llm_magics.pricing.cost import CostTotal

        usage = Usage()
        for t in self.messages:
            if t.usage:
                usage = usage + t.usage
        return {
            "cost": CostTotal.of(t.cost for t in self.messages if t.usage is not None and t.cost is not None),
            "cached_tokens": usage.cached_tokens,
            "messages": len(self.messages),
            "errors": len(self.errors),
            "interrupted": sum(t.status == "interrupted" for t in self.messages),
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "wall_s": self.wall_s,
        }

    @property
    def targets(self) -> dict[str, str]:
        """Persona → provider:model it spoke with."""
        default = f"{self.provider}:{self.model}" if self.provider else (self.model or "")
        return {str(p.get("name")): str(p.get("target") or default) for p in self.personas}

    @property
    def mixed(self) -> bool:
        """True when the turns went to more than one provider:model."""
        return len({t.target for t in self.messages if t.target} | set(self.targets.values())) > 1

    @property
    def metrics(self) -> dict[str, Any]:
        """Per-model totals, bias-control records and the baselines, as plain JSON-ready data."""
        from llm_magics.discussion.baselines import model_totals

        default = f"{self.provider}:{self.model}" if self.provider else (self.model or "")
        by_model = {k: {**v, "cost": v["cost"].to_dict()} for k, v in model_totals(self.messages, default).items()}
        out: dict[str, Any] = {"by_model": by_model, "seed": self.seed, "labels": dict(self.labels)}
        if self.final is not None:
            f = self.final
            out["chair"] = {"persona": f.by, "target": f.chair_target, "is_speaker": f.chair_is_speaker,
                            "same_model_as": list(f.chair_same_model_as)} if f.by else None
            out["orders"] = dict(f.orders)
            out["self_rank"] = dict(f.self_rank)
        if self.baselines is not None:
            b = self.baselines
            out["baselines"] = {
                "majority": b.majority, "agreement_start": b.agreement_start, "agreement_end": b.agreement_end,
                "flip_rate": b.flip_rate, "directions": dict(b.directions), "token_multiple": b.token_multiple,
                "cost_multiple": b.cost_multiple,
            }
        return out

    @property
    def title(self) -> str:
        line = " ".join(self.topic.split())
        return line if len(line) <= 120 else line[:119] + "…"

    # ---- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "mode": self.mode,
            "personas": [dict(p) for p in self.personas],
            "provider": self.provider,
            "model": self.model,
            "rounds": self.rounds,
            "aggregator": self.aggregator,
            "messages": [t.to_dict() for t in self.messages],
            "final": self.final.to_dict() if self.final else None,
            "status": self.status,
            "notices": list(self.notices),
            "created_at": self.created_at,
            "wall_s": self.wall_s,
            "seed": self.seed,
            "labels": {k: dict(v) for k, v in self.labels.items()},
            "baselines": self.baselines.to_dict() if self.baselines else None,
            "metrics": self.metrics,
            "totals": {**self.totals, "cost": self.totals["cost"].to_dict()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transcript:
        names = cls.__dataclass_fields__
        data = {k: v for k, v in d.items() if k in names and k not in ("messages", "final", "baselines")}
        tr = cls(**data)
        tr.messages = [Turn.from_dict(m) for m in d.get("messages") or []]
        tr.final = Outcome.from_dict(d.get("final"))
        tr.baselines = Baselines.from_dict(d.get("baselines"))
        return tr

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    # ---- rendering ----------------------------------------------------------------------
    def to_markdown(self) -> str:
        from llm_magics.discussion.transcript_md import render_markdown

        return render_markdown(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return (
            f"<Transcript {self.id} {self.mode} {self.status} · {len(self.personas)} personas · "
            f"{len(self.messages)} messages · {self.title[:60]!r}>"
        )
