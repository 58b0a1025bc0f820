"""Prompts and parsers for the discussion modes: pure functions, no I/O, unit-testable.

- sequential (round-robin group chat, as AutoGen / CrewAI): each speaker sees the transcript so far
  with speakers named.
- parallel (llm-council stage 1; Du et al. 2023 debate when rounds > 1): independent first
  answers; later rounds show each persona the others' previous answers.
- consensus: parallel answers, then debate rounds where each states AGREE or DISAGREE first;
  aggregated by a chair's synthesis, a majority vote, or anonymised peer ranking (llm-council).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from llm_magics.discussion.transcript import Turn
    from llm_magics.personas.model import Persona

__all__ = [
    "system_prompt",
    "sequential_prompt",
    "parallel_prompt",
    "debate_prompt",
    "summary_prompt",
    "synthesis_prompt",
    "ranking_prompt",
    "parse_stance",
    "strip_stance",
    "parse_ranking",
    "aggregate_rankings",
    "final_answer",
    "tally_votes",
    "response_labels",
    "answer_key",
    "assign_labels",
    "balanced_orders",
]

T = TypeVar("T")

_STANCE = re.compile(r"\b(DISAGREE|AGREE)\b")
_STANCE_LINE = re.compile(r"^\W*(DISAGREE|AGREE)\W*$", re.IGNORECASE)
_FINAL_ANSWER = re.compile(r"FINAL ANSWER\s*[:：]\s*(.+)", re.IGNORECASE)
_RESPONSE = re.compile(r"Response ([A-Z]{1,2})\b")


def _speaker(turn: Turn) -> str:
    return turn.label or turn.persona


def _block(turns: Sequence[Turn], *, named: bool = True, labels: Mapping[str, str] | None = None) -> str:
    """The answers quoted one after another; `labels` (persona → "A") hides who wrote which."""
    parts = []
    for t in turns:
        body = strip_stance(t.text).strip() or "(no answer)"
        who = f"Participant {labels[t.persona]}" if labels and t.persona in labels else _speaker(t)
        parts.append(f"[{who}]:\n{body}" if named else body)
    return "\n\n".join(parts)


def system_prompt(persona: Persona, others: Sequence[Persona]) -> str:
    """The persona's own prompt plus one line on the setting, so it speaks as itself."""
    names = ", ".join(f"{p.name} ({p.role})" for p in others if p.name != persona.name)
    setting = f"You are in a discussion with {names}." if names else "You are answering on your own."
    return (
        f"{persona.system_prompt}\n\n{setting} Speak as {persona.name}, from your own expertise; "
        "be concrete and concise (about 150 words unless the topic needs more)."
    )


def sequential_prompt(topic: str, so_far: Sequence[Turn], persona: Persona, round: int, rounds: int) -> str:
    """Round-robin turn: the whole transcript so far, speakers named, then the topic last."""
    lines = []
    if so_far:
        lines += ["The discussion so far:", "", _block(so_far), ""]
        lines.append(
            f"It is your turn, {persona.name}"
            + (f" (pass {round} of {rounds})" if rounds > 1 else "")
            + ". Build on, challenge or refine what the others said; do not repeat it."
        )
    else:
        lines.append(f"You speak first, {persona.name}. Give your view on the topic.")
    lines += ["", "Topic:", topic]
    return "\n".join(lines)


def parallel_prompt(topic: str, own: Turn | None, others: Sequence[Turn], round: int, *, vote: bool = False) -> str:
    """Independent answer (round 1) or a debate round showing the others' previous answers."""
    if round <= 1 or not others:
        return first_prompt(topic, vote=vote)
    lines = ["These are the other participants' answers from the last round:", "", _block(others), ""]
    if own is not None and own.text.strip():
        lines += ["Your own previous answer was:", "", strip_stance(own.text).strip(), ""]
    lines.append(
        "Using their reasoning as additional advice, give your updated answer. Say where you changed "
        "your mind and where you still differ."
    )
    if vote:
        lines.append("End with one line: FINAL ANSWER: <your answer in a few words>.")
    lines += ["", "Topic:", topic]
    return "\n".join(lines)


def debate_prompt(
    topic: str,
    own: Turn | None,
    others: Sequence[Turn],
    round: int,
    *,
    vote: bool = False,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Consensus round ≥ 2: state AGREE or DISAGREE on the first line, then a revised answer.

    `others` are quoted in the order given; with `labels` (persona → "A") they are anonymised.
    """
    lines = ["These are the other participants' latest answers:", "", _block(others, labels=labels), ""]
    if own is not None and own.text.strip():
        lines += ["Your own latest answer was:", "", strip_stance(own.text).strip(), ""]
    lines += [
        "Is the group converging on an answer you can support? Write exactly AGREE or DISAGREE on the "
        "first line, then your revised answer in a few sentences (if you disagree, say precisely why).",
    ]
    if vote:
        lines.append("End with one line: FINAL ANSWER: <your answer in a few words>.")
    lines += ["", "Topic:", topic]
    return "\n".join(lines)


def first_prompt(topic: str, *, vote: bool = False) -> str:
    """Consensus round 1: an independent answer (with a short final-answer line when voting)."""
    extra = "\nEnd with one line: FINAL ANSWER: <your answer in a few words>." if vote else ""
    return f"Give your answer.{extra}\n\nTopic:\n{topic}"


def summary_prompt(topic: str, turns: Sequence[Turn]) -> str:
    """The chair's closing summary of a sequential discussion."""
    return (
        "You chaired this discussion:\n\n"
        f"{_block(turns)}\n\n"
        "Write a short closing summary: the main points, what was decided, and open questions.\n\n"
        f"Topic:\n{topic}"
    )


def synthesis_prompt(topic: str, finals: Sequence[Turn], dissenters: Sequence[str]) -> str:
    """The chair's consensus: one answer, and a 'Dissents' list (never the word that triggers a stance)."""
    who = ", ".join(dissenters) if dissenters else "nobody"
    return (
        "You chair this group. Their final answers are:\n\n"
        f"{_block(finals)}\n\n"
        f"Participants who still hold a different view (dissent): {who}.\n"
        "Write the group's consensus answer. Then add a section 'Dissents:' listing each dissenting "
        "participant by name with their reason in one line (or 'Dissents: none').\n\n"
        f"Topic:\n{topic}"
    )


def response_labels(n: int) -> list[str]:
    """'A', 'B', … 'Z', 'AA', … — the anonymous labels for peer ranking."""
    letters = [chr(ord("A") + i) for i in range(26)]
    return [letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26] for i in range(n)]


def ranking_prompt(topic: str, answers: Sequence[tuple[str, str]]) -> str:
    """llm-council stage 2: evaluate labelled answers, end with a parseable FINAL RANKING block."""
    blocks = "\n\n".join(f"Response {label}:\n{text}" for label, text in answers)
    example = "\n".join(f"{i}. Response {label}" for i, (label, _) in enumerate(answers, 1))
    return (
        "Here are several responses to the topic below (authors hidden).\n\n"
        f"{blocks}\n\n"
        "Evaluate each response briefly: what it does well and what it misses. Then end with a ranking, "
        "best first, in exactly this format:\n\n"
        f"FINAL RANKING:\n{example}\n\n"
        f"Topic:\n{topic}"
    )


# ---- parsers ------------------------------------------------------------------------------


def parse_stance(text: str) -> str | None:
    """AGREE / DISAGREE as stated near the start of a reply (None when absent)."""
    m = _STANCE.search(text[:400])
    if m:
        return m.group(1)
    first = next((line for line in text.splitlines() if line.strip()), "")
    m2 = _STANCE_LINE.match(first)
    return m2.group(1).upper() if m2 else None


def strip_stance(text: str) -> str:
    """The reply without its stance line (so quoting it does not look like a stance)."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:6]):
        if _STANCE_LINE.match(line):
            return "\n".join(lines[:i] + lines[i + 1 :]).strip()
    return text


def parse_ranking(text: str, labels: Sequence[str]) -> list[str]:
    """Labels in ranked order from 'FINAL RANKING:' (else every 'Response X' in order), deduplicated."""
    idx = text.upper().rfind("FINAL RANKING")
    section = text[idx:] if idx >= 0 else text
    order: list[str] = []
    for lab in _RESPONSE.findall(section):
        if lab in labels and lab not in order:
            order.append(lab)
    return order


def aggregate_rankings(rankings: Sequence[Sequence[str]], label_to_persona: dict[str, str]) -> list[dict[str, Any]]:
    """Average rank per answer over every ranking that mentions it; best (lowest) first."""
    positions: dict[str, list[int]] = {lab: [] for lab in label_to_persona}
    for order in rankings:
        for pos, lab in enumerate(order, 1):
            if lab in positions:
                positions[lab].append(pos)
    rows: list[dict[str, Any]] = [
        {
            "label": lab,
            "persona": label_to_persona[lab],
            "average_rank": sum(p) / len(p) if p else float(len(label_to_persona)),
            "votes": len(p),
        }
        for lab, p in positions.items()
    ]
    rows.sort(key=lambda r: (r["average_rank"], -r["votes"], r["label"]))
    return rows


def final_answer(text: str) -> str:
    """The 'FINAL ANSWER:' line's value, else the last non-empty line; normalised for counting."""
    matches = _FINAL_ANSWER.findall(text)
    if matches:
        answer = matches[-1]
    else:
        lines = [ln for ln in strip_stance(text).splitlines() if ln.strip()]
        answer = lines[-1] if lines else ""
    answer = re.sub(r"[*_`]+", "", answer).strip().rstrip(".").strip()
    return answer[:200]


def answer_key(answer: str) -> str:
    """Answers that differ only in case or spacing count as the same answer."""
    return " ".join(answer.casefold().split())


def tally_votes(answers: dict[str, str]) -> tuple[dict[str, list[str]], str | None, bool]:
    """answers: persona → answer. Returns (answer → personas, winning answer, strict majority?)."""
    norm: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for persona, answer in answers.items():
        key = answer_key(answer)
        shown = norm.setdefault(key, answer)
        groups.setdefault(shown, []).append(persona)
    if not groups:
        return {}, None, False
    counts = Counter({a: len(p) for a, p in groups.items()})
    (top, n), *rest = counts.most_common()
    tie = bool(rest) and rest[0][1] == n
    return groups, None if tie else top, n * 2 > len(answers)


# ---- bias control: anonymous labels and per-judge orders ----------------------------------


def assign_labels(names: Sequence[str], seed: int) -> dict[str, str]:
    """persona → "A", "B", … in a seeded random order (so "A" is not always the first persona)."""
    shuffled = list(names)
    random.Random(f"{seed}:labels").shuffle(shuffled)
    return dict(zip(shuffled, response_labels(len(shuffled))))


def balanced_orders(items: Sequence[T], judges: Sequence[str], seed: int, salt: str = "") -> dict[str, list[T]]:
    """The order in which each judge sees `items`: rotations of one seeded random order.

    Rotations form a Latin square: with as many judges as items, every item is shown at every
    position exactly once, so position bias ("the first answer wins") averages out, and no two
    judges see the same order. Which judge gets which rotation is seeded too.
    """
    rng = random.Random(f"{seed}:{salt}")
    base = list(items)
    rng.shuffle(base)
    offsets = list(range(len(judges)))
    rng.shuffle(offsets)
    n = len(base)
    return {j: (base[o % n :] + base[: o % n]) if n else [] for j, o in zip(judges, offsets)}
