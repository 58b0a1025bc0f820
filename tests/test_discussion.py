"""Discussions against the fake server over real HTTP: modes, consensus, failures, history."""

from __future__ import annotations

import re
from typing import Any

import pytest

from llm_magics.discussion.api import Transcript, discuss
from llm_magics.errors import LLMError
from llm_magics.events import Notice, PaneOpened, RunFinished, RunStarted
from llm_magics.history.store import History, default_history
from llm_magics.providers import Provider
from llm_magics.keys.resolve import get_provider

MODEL = "kimi-k2-0905-preview"


def kimi(server: Any) -> Provider:
    return get_provider("kimi", api_key="sk-test-0000000000001234", base_url=server.base_url)


def speaker(req: dict[str, Any]) -> str:
    system = next(m["content"] for m in req["messages"] if m["role"] == "system")
    m = re.match(r"You are ([^,.]+)", system)
    return m.group(1) if m else "?"


def user_text(req: dict[str, Any]) -> str:
    return next(m["content"] for m in reversed(req["messages"]) if m["role"] == "user")


def chats(server: Any) -> list[Any]:
    return [r for r in server.requests if "chat/completions" in r.path]


def test_sequential_second_speaker_sees_first_reply(fake_server: Any) -> None:
    fake_server.responder = lambda req: f"{speaker(req)} says: marker-{speaker(req).split()[0]}-42 and more."
    tr = discuss("Should we adopt Rust for billing?", "Noor Okafor, Sasha Lindqvist", provider=kimi(fake_server), model=MODEL)
    reqs = chats(fake_server)
    assert len(reqs) == 2
    assert speaker(reqs[0].json) == "Noor Okafor" and speaker(reqs[1].json) == "Sasha Lindqvist"
    assert "marker-Noor-42" not in user_text(reqs[0].json)
    second = user_text(reqs[1].json)
    assert tr.messages[0].text in second and "Noor Okafor" in second  # named speaker, full reply
    assert [m.status for m in tr.messages] == ["done", "done"]
    assert tr.messages[1].text == "Sasha Lindqvist says: marker-Sasha-42 and more."
    assert tr.messages[0].usage is not None and tr.messages[0].ttft_s is not None


def test_sequential_rounds_and_chair_summary(fake_server: Any) -> None:
    fake_server.responder = lambda req: f"reply by {speaker(req)}"
    tr = discuss("Topic", "Noor, Sasha", rounds=2, chair="Sasha", provider=kimi(fake_server), model=MODEL)
    assert [(m.persona.split()[0], m.round, m.kind) for m in tr.messages] == [
        ("Noor", 1, "answer"), ("Sasha", 1, "answer"), ("Noor", 2, "answer"), ("Sasha", 2, "answer"), ("Sasha", 2, "summary")]
    last = user_text(chats(fake_server)[3].json)
    assert last.count("reply by") == 3  # round 2's last speaker saw all three earlier turns
    assert tr.final is not None and tr.final.kind == "summary" and tr.final.by == "Sasha Lindqvist"


def test_parallel_requests_overlap_in_time(fake_server: Any) -> None:
    fake_server.pacing[MODEL] = (0.3, 0.0)
    events: list[Any] = []
    tr = discuss("Topic", "Noor, Sasha, Avery", mode="parallel", provider=kimi(fake_server), model=MODEL, on_event=events.append)
    reqs = chats(fake_server)
    assert len(reqs) == 3
    assert max(r.started_at for r in reqs) < min(r.ended_at for r in reqs)  # all in flight at once
    assert isinstance(events[0], RunStarted) and events[0].layout == "grid" and events[0].run is tr
    panes = [e for e in events if isinstance(e, PaneOpened)]
    assert [p.group for p in panes] == ["Round 1"] * 3 and all(p.color for p in panes)


def test_parallel_debate_round_shows_others_previous_answers(fake_server: Any) -> None:
    fake_server.responder = lambda req: f"answer of {speaker(req)}"
    discuss("Topic", "Noor, Sasha", mode="parallel", rounds=2, provider=kimi(fake_server), model=MODEL)
    reqs = chats(fake_server)
    assert len(reqs) == 4
    for r in reqs[:2]:
        assert "answer of" not in user_text(r.json)  # round 1: independent
    for r in reqs[2:]:
        other = "Sasha Lindqvist" if speaker(r.json) == "Noor Okafor" else "Noor Okafor"
        assert f"answer of {other}" in user_text(r.json)


def _stance_responder(dissenter: str | None) -> Any:
    def respond(req: dict[str, Any]) -> str:
        who = speaker(req)
        if "AGREE or DISAGREE" in user_text(req):
            return f"{'DISAGREE' if who == dissenter else 'AGREE'}\n{who} revised answer."
        if "chair" in user_text(req):
            return "Consensus: ship it.\nDissents: see below."
        return f"{who} first answer."
    return respond


def test_consensus_stops_early_when_all_agree(fake_server: Any) -> None:
    fake_server.responder = _stance_responder(None)
    tr = discuss("Topic", "Noor, Sasha, Avery", mode="consensus", rounds=3, provider=kimi(fake_server), model=MODEL)
    assert len(chats(fake_server)) == 3 + 3 + 1  # answers, one debate round, synthesis (no round 3)
    assert tr.final is not None and tr.final.agreed is True and tr.final.rounds_run == 2
    assert tr.final.kind == "synthesis" and tr.final.dissents == []
    assert [m.stance for m in tr.answers(2)] == ["AGREE"] * 3


def test_consensus_synthesis_lists_dissent(fake_server: Any) -> None:
    fake_server.responder = _stance_responder("Sasha Lindqvist")
    tr = discuss("Topic", "Noor, Sasha, Avery", mode="consensus", rounds=3, provider=kimi(fake_server), model=MODEL)
    reqs = chats(fake_server)
    assert len(reqs) == 3 + 3 + 3 + 1  # no early stop
    assert tr.final is not None and tr.final.agreed is False and tr.final.dissents == ["Sasha Lindqvist"]
    synthesis = user_text(reqs[-1].json)
    assert "dissent): Sasha Lindqvist" in synthesis and "Dissents:" in synthesis
    assert "**Dissents:** Sasha Lindqvist" in tr.to_markdown()


def test_consensus_vote_and_rank_aggregators(fake_server: Any) -> None:
    answers = {"Noor Okafor": "42", "Sasha Lindqvist": "42", "Avery Nakamura": "7"}

    def respond(req: dict[str, Any]) -> str:
        who, text = speaker(req), user_text(req)
        if "FINAL RANKING" in text:
            labels = re.findall(r"^Response ([A-Z]):", text, re.M)
            assert "Noor" not in text.split("Topic:")[0]  # anonymised
            return "Thoughts.\nFINAL RANKING:\n" + "\n".join(f"{i}. Response {l}" for i, l in enumerate(sorted(labels, reverse=True), 1))
        stance = "AGREE\n" if "AGREE or DISAGREE" in text else ""
        return f"{stance}Answer text.\nFINAL ANSWER: {answers.get(who, '?')}"

    fake_server.responder = respond
    tr = discuss("Q?", "Noor, Sasha, Avery", mode="consensus", rounds=2, aggregator="vote", provider=kimi(fake_server), model=MODEL)
    assert tr.final is not None and tr.final.kind == "vote" and tr.final.winner == "42"
    assert tr.final.votes["42"] == ["Noor Okafor", "Sasha Lindqvist"] and tr.final.dissents == ["Avery Nakamura"]

    tr = discuss("Q?", "Noor, Sasha, Avery", mode="consensus", rounds=2, aggregator="rank", provider=kimi(fake_server), model=MODEL)
    assert tr.final is not None and tr.final.kind == "rank"
    by_label = {lab: d["persona"] for lab, d in tr.labels.items()}  # labels are assigned in a seeded random order
    assert [r["persona"] for r in tr.final.ranking] == [by_label["C"], by_label["B"], by_label["A"]]
    assert tr.final.ranking[0]["average_rank"] == 1.0 and tr.final.winner == by_label["C"]
    assert len([m for m in tr.messages if m.kind == "ranking"]) == 3


def test_failing_persona_is_kept_and_the_others_go_on(fake_server: Any) -> None:
    fake_server.fail_next(400, "invalid_request_error", "bad thing for this one")
    tr = discuss("Topic", "Noor, Sasha, Avery", provider=kimi(fake_server), model=MODEL)
    assert [m.status for m in tr.messages] == ["error", "done", "done"]
    assert "bad thing" in (tr.messages[0].error or "") and tr.status == "done"
    assert tr.totals["errors"] == 1
    assert "Error:" in tr.to_markdown()

    fake_server.reset()
    fake_server.fail_next(400, "invalid_request_error")
    tr = discuss("Topic", "Noor, Sasha, Avery", mode="parallel", provider=kimi(fake_server), model=MODEL)
    assert sorted(m.status for m in tr.messages) == ["done", "done", "error"]


def test_every_call_failing_raises_one_clear_error_and_keeps_the_run(fake_server: Any) -> None:
    fake_server.fail_next(400, "invalid_request_error", "nope", times=10)
    with pytest.raises(LLMError, match="nope"):
        discuss("Topic", "Noor, Sasha", mode="parallel", provider=kimi(fake_server), model=MODEL)
    rec = default_history().list(1)[0]
    assert rec.status == "error" and len(rec.data["messages"]) == 2


def test_history_holds_every_run_and_rebuilds_it(fake_server: Any, tmp_path: Any) -> None:
    fake_server.responder = lambda req: f"hello from {speaker(req)}"
    ids = [discuss(f"Topic {i}", "Noor, Sasha", mode=m, provider=kimi(fake_server), model=MODEL).id
           for i, m in enumerate(["sequential", "parallel"])]
    hist = default_history()
    recs = hist.list(10, kind="discussion")
    assert {r.id for r in recs} == set(ids) and all(r.status == "done" for r in recs)
    back = hist.get(ids[0]).load()
    assert isinstance(back, Transcript) and back.messages[1].text == "hello from Sasha Lindqvist"
    assert back.to_markdown() == Transcript.from_dict(back.to_dict()).to_markdown()
    own = History(tmp_path / "own.db")
    tr = discuss("Topic", "Noor", provider=kimi(fake_server), model=MODEL, history=own)
    assert own.get(tr.id).data["messages"][0]["text"] == "hello from Noor Okafor"
    assert hist.count() == 2  # the explicit History got it, not the default


def test_default_provider_falls_back_to_offline_with_notice() -> None:
    events: list[Any] = []
    tr = discuss("Should we cache {this}?", "Noor", on_event=events.append)
    assert tr.provider == "offline" and tr.messages[0].text.startswith("[offline demo")
    assert any(isinstance(e, Notice) and "%llm keys add" in e.text for e in events)
    final = [e for e in events if isinstance(e, RunFinished)]
    assert len(final) == 1 and final[0].markdown == tr.to_markdown() and "{this}" in final[0].markdown
    assert tr.to_json().startswith("{") and tr._repr_markdown_() == tr.to_markdown()


def test_thinking_model_reasoning_is_kept(fake_server: Any) -> None:
    from llm_magics.events import TextDelta

    events: list[Any] = []
    tr = discuss("Topic", "Noor", provider=kimi(fake_server), model="kimi-k2-thinking", on_event=events.append)
    assert tr.messages[0].reasoning and tr.messages[0].text
    assert any(isinstance(e, TextDelta) and e.reasoning for e in events)


def test_bad_arguments_raise_one_clear_error() -> None:
    from llm_magics.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="Did you mean 'parallel'"):
        discuss("Topic", "Noor", mode="paralel")
    with pytest.raises(ConfigurationError, match="rounds"):
        discuss("Topic", "Noor", rounds=0)
    with pytest.raises(ConfigurationError, match="topic is empty"):
        discuss("   ", "Noor")
    with pytest.raises(ConfigurationError, match="Unknown persona"):
        discuss("Topic", "Nobody Atall")
