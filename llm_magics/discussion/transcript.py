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

from llm_magics.fmt import stream_summary
from llm_magics.history.records import UsageRecord
from llm_magics.providers.base import Usage

__all__ = ["Turn", "Outcome", "Transcript", "turn_summary"]


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Outcome | None:
        if not d:
            return None
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


def turn_summary(turn: Turn) -> str:
    """ "TTFT 0.31 s · 2.4 s · 412 tok · 171 tok/s" (the parts that are known)."""
    return stream_summary(turn.ttft_s, turn.latency_s, turn.usage.completion_tokens if turn.usage else None)


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

    # ---- queries ------------------------------------------------------------------------
    def answers(self, round: int | None = None) -> list[Turn]:
        """The persona answers (not summaries/rankings), optionally of one round."""
        return [t for t in self.messages if t.kind == "answer" and (round is None or t.round == round)]

    @property
    def errors(self) -> list[Turn]:
        return [t for t in self.messages if t.status == "error"]

    @property
    def totals(self) -> dict[str, Any]:
        """Token and timing totals over every call (no cost: prices change too often to hard-code)."""
        usage = Usage()
        for t in self.messages:
            if t.usage:
                usage = usage + t.usage
        return {
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
            "totals": self.totals,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transcript:
        names = cls.__dataclass_fields__
        data = {k: v for k, v in d.items() if k in names and k not in ("messages", "final")}
        tr = cls(**data)
        tr.messages = [Turn.from_dict(m) for m in d.get("messages") or []]
        tr.final = Outcome.from_dict(d.get("final"))
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
