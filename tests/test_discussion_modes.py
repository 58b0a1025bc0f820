"""Pure helpers of the discussion modes: stance, ranking and vote parsing, Markdown round-trip."""

from __future__ import annotations

from llm_magics.discussion import modes
from llm_magics.discussion.transcript import Outcome, Transcript, Turn
from llm_magics.providers.base import Usage


def test_parse_and_strip_stance() -> None:
    assert modes.parse_stance("[offline demo]\n\nAGREE\n\nYes.") == "AGREE"
    assert modes.parse_stance("**DISAGREE** — because") == "DISAGREE"
    assert modes.parse_stance("Disagree.\nreason") == "DISAGREE"
    assert modes.parse_stance("I think so.") is None
    assert modes.strip_stance("label\nAGREE\nbody") == "label\nbody"
    assert modes.strip_stance("no stance here") == "no stance here"


def test_parse_ranking_and_average_rank() -> None:
    text = "Response A is good. Response C too.\nFINAL RANKING:\n1. Response C\n2. Response A\n3. Response B\n4. Response Z"
    assert modes.parse_ranking(text, ["A", "B", "C"]) == ["C", "A", "B"]
    assert modes.parse_ranking("I like Response B then Response A", ["A", "B"]) == ["B", "A"]
    rows = modes.aggregate_rankings([["C", "A", "B"], ["A", "C", "B"], ["C", "B"]], {"A": "a", "B": "b", "C": "c"})
    assert [(r["persona"], round(r["average_rank"], 2), r["votes"]) for r in rows] == [("c", 1.33, 3), ("a", 1.5, 2), ("b", 2.67, 3)]
    assert modes.response_labels(28)[-2:] == ["AA", "AB"]


def test_votes() -> None:
    assert modes.final_answer("blah\nFINAL ANSWER: **42**.") == "42"
    assert modes.final_answer("AGREE\nfirst\nlast line") == "last line"
    groups, winner, majority = modes.tally_votes({"a": "42", "b": " 42", "c": "7"})
    assert winner == "42" and majority and groups["42"] == ["a", "b"]
    assert modes.tally_votes({"a": "x", "b": "y"})[1] is None  # tie


def test_transcript_round_trip_and_markdown() -> None:
    tr = Transcript(id="r1", topic="Cache?\n`{x}`", mode="consensus", personas=[{"name": "Noor Okafor"}], provider="p", model="m", rounds=2)
    tr.messages = [
        Turn("Noor Okafor", 1, "first", reasoning="hmm <x>", usage=Usage(3, 4, 7), ttft_s=0.1, latency_s=1.1, status="done", label="🛡️ Noor"),
        Turn("Noor Okafor", 2, "AGREE\nsecond", status="interrupted", stance="AGREE"),
        Turn("Noor Okafor", 2, "", status="error", error="[kimi · 400] bad", kind="synthesis"),
    ]
    tr.final = Outcome(kind="synthesis", by="Noor Okafor", dissents=["Sasha Lindqvist"], agreed=False, rounds_run=2)
    back = Transcript.from_dict(tr.to_dict())
    assert back.to_dict() == tr.to_dict()
    md = tr.to_markdown()
    for piece in ("#### Round 1", "#### Round 2", "<details><summary>Reasoning</summary>", "hmm &lt;x&gt;",
                  "*interrupted*", "⚠️ **Error:** [kimi · 400] bad", "**Dissents:** Sasha Lindqvist", "TTFT 0.10 s", "`{x}`"):
        assert piece in md
    assert tr.totals["total_tokens"] == 7 and tr.totals["errors"] == 1 and tr.totals["interrupted"] == 1
