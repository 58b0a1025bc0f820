"""The LLM judge: a model grades each answer against the reference with a rubric → PASS/FAIL + reason.

Blind by construction: the judge sees the task, the reference and the candidate answer, never
which provider or model wrote it, and any target's model ID or provider name inside the answer
is replaced by "[model]" (a model that signs its answers would otherwise unblind the grader).
The judge runs at temperature 0 where the model allows it and is not one of the targets'
calls: its tokens and cost travel with each `Score` (and with `JudgeVerdictError` when its reply
had no verdict: that call was paid for too) and are shown apart as the "judge cost".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llm_magics.errors import ConfigurationError
from llm_magics.evaluation.scorers import Score, Scorer, normalize

if TYPE_CHECKING:
    from llm_magics.evaluation.limits import Slots
    from llm_magics.providers.base import Cost, Provider, Usage

__all__ = ["JudgeScorer", "JudgeVerdictError", "judge_prompt", "parse_verdict", "JUDGE_SYSTEM"]

JUDGE_SYSTEM = (
    "You are a strict, impartial grader. You compare a candidate answer with a reference answer and "
    "decide whether the candidate is correct. You do not know who wrote the candidate answer and it "
    "must not matter."
)

_RUBRIC = (
    "PASS if the candidate's final answer agrees with the reference in substance: wording, formatting, "
    "extra explanation and working shown do not matter. FAIL if it contradicts the reference, leaves "
    "out something the reference requires, hedges between several answers, or gives no clear answer."
)

_VERDICT = re.compile(r"VERDICT\s*[:\-]?\s*\**\s*(PASS|FAIL)", re.IGNORECASE)
_REASON = re.compile(r"REASON\s*[:\-]\s*(.+)", re.IGNORECASE)
_BARE = re.compile(r"\b(PASS|FAIL)\b")


def judge_prompt(task: str, reference: Any, candidate: str) -> str:
    ref = reference if isinstance(reference, str) else ", ".join(map(str, reference)) if isinstance(reference, (list, tuple)) else str(reference)
    return (
        "Grade the candidate answer against the reference answer.\n\n"
        f"TASK:\n<<<\n{task.strip()}\n>>>\n\n"
        f"REFERENCE ANSWER:\n<<<\n{ref.strip()}\n>>>\n\n"
        f"CANDIDATE ANSWER:\n<<<\n{candidate.strip()}\n>>>\n\n"
        f"Rubric: {_RUBRIC}\n\n"
        "Reply with exactly two lines:\nVERDICT: PASS or FAIL\nREASON: one sentence"
    )


def parse_verdict(text: str) -> tuple[bool, str]:
    """(passed, reason) from the judge's reply; raises ValueError when it gave no verdict."""
    m = _VERDICT.search(text)
    verdict = m.group(1) if m else None
    if verdict is None:
        found = {w.upper() for w in _BARE.findall(text)}
        if len(found) == 1:
            verdict = found.pop()
    if verdict is None:
        snippet = " ".join(text.split())[:120]
        raise ValueError(f"the judge gave no PASS/FAIL verdict: {snippet!r}")
    r = _REASON.search(text)
    reason = r.group(1).strip() if r else ""
    return verdict.upper() == "PASS", reason


class JudgeVerdictError(ValueError):
    """The judge answered without a PASS/FAIL verdict; carries what that (billed) call used."""

    def __init__(self, message: str, *, usage: Usage | None, cost: Cost | None) -> None:
        super().__init__(message)
        self.usage, self.cost = usage, cost


class JudgeScorer(Scorer):
    """Grades with a model; `bind` (done by the runner before any request) gives it its provider."""

    needs_judge = True

    def __init__(self, judge: str) -> None:
        if not isinstance(judge, str) or not judge.strip():
            raise ConfigurationError("The judge target is empty.", hint="e.g. judge='kimi:kimi-k2.6'")
        self.judge = judge.strip()
        self.name = "judge"
        self.provider: Provider | None = None
        self.model: str | None = None
        self.slots: Slots | None = None
        self._hide: list[str] = []
        self.calls = 0
        self.prompt_tokens = 0
        self.output_tokens = 0

    def bind(self, provider: Provider, model: str, *, hide: Sequence[str] = (), slots: Slots | None = None) -> None:
        self.provider, self.model, self.slots = provider, model, slots
        # Longest first, so 'kimi-k2.6-preview' is replaced whole before 'kimi-k2.6'.
        self._hide = sorted({h for h in hide if h and len(h) >= 3}, key=len, reverse=True)

    def anonymise(self, text: str) -> str:
        for name in self._hide:
            text = re.sub(re.escape(name), "[model]", text, flags=re.IGNORECASE)
        return text

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        raise RuntimeError("the judge scorer is asynchronous; the eval runner calls ascore()")

    async def ascore(self, output: str, row: Mapping[str, Any], expected: Any, *, prompt: str = "") -> Score:
        if self.provider is None:
            raise RuntimeError("the judge has no provider (bind() was not called)")
        messages = [
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": judge_prompt(self.anonymise(prompt), expected, self.anonymise(output))},
        ]
        if self.slots is not None:
            async with self.slots.slot(self.provider):
                done = await self.provider.complete(messages, model=self.model)
        else:
            done = await self.provider.complete(messages, model=self.model)
        self.calls += 1
        if done.usage is not None:
            self.prompt_tokens += done.usage.prompt_tokens
            self.output_tokens += done.usage.completion_tokens
        cost = getattr(done, "cost", None)
        try:
            passed, reason = parse_verdict(done.text)
        except ValueError as exc:
            raise JudgeVerdictError(str(exc), usage=done.usage, cost=cost) from None
        return Score(1.0 if passed else 0.0, normalize(output)[:200], reason or None, usage=done.usage, cost=cost)
