"""Councils of different models, baselines and bias control (issue 16).

Real HTTP to the fake Moonshot-compatible server (its request log is the evidence of which model
each persona used), hand-computed numbers for the baselines, real SQLite history files.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from llm_magics.discussion import modes
from llm_magics.discussion.api import Transcript, discuss
from llm_magics.discussion.baselines import compute_baselines
from llm_magics.discussion.transcript import Outcome, RankRow, Turn
from llm_magics.errors import ConfigurationError
from llm_magics.events import PaneOpened, RunStarted
from llm_magics.history.runs import export_run
from llm_magics.history.store import default_history
from llm_magics.keys.resolve import get_provider
from llm_magics.providers import Provider
from llm_magics.providers.base import Cost, Usage
from tests._fakewire import think_reply, usage_counts

KEY = "sk-test-0000000000001234"


def kimi(server: Any) -> Provider:
    return get_provider("kimi", api_key=KEY, base_url=server.base_url)


def speaker(req: dict[str, Any]) -> str:
    system = next(m["content"] for m in req["messages"] if m["role"] == "system")
    m = re.match(r"You are ([^,.]+)", system)
    return m.group(1) if m else "?"


def user_text(req: dict[str, Any]) -> str:
    return next(m["content"] for m in reversed(req["messages"]) if m["role"] == "user")


def chats(server: Any) -> list[Any]:
    return [r for r in server.requests if "chat/completions" in r.path]


# ── a model per persona ──────────────────────────────────────────────────────────────────────


def test_parallel_council_sends_each_persona_to_its_own_model(fake_server: Any, tmp_path: Any) -> None:
    fake_server.responder = lambda req: f"{speaker(req)} answers."
    events: list[Any] = []
    tr = discuss(
        "Passkeys or magic links?",
        "Noor Okafor@kimi:kimi-k2.6, Sasha@kimi-k2-thinking, Avery@kimi:kimi-k2-turbo-preview",
        mode="parallel",
        provider=kimi(fake_server),
        model="kimi-k2-0905-preview",  # the default, used by nobody here
        on_event=events.append,
    )
    assert isinstance(events[0], RunStarted) and events[0].title == "parallel · 3 personas · 3 models"
    assert [e.subtitle for e in events if isinstance(e, PaneOpened)] == [
        "kimi:kimi-k2.6", "kimi:kimi-k2-thinking", "kimi:kimi-k2-turbo-preview"]  # each pane names its model
    sent = {speaker(r.json): r.json["model"] for r in chats(fake_server)}
    assert sent == {"Noor Okafor": "kimi-k2.6", "Sasha Lindqvist": "kimi-k2-thinking", "Avery Nakamura": "kimi-k2-turbo-preview"}
    assert [(t.persona, t.target) for t in tr.messages] == [
        ("Noor Okafor", "kimi:kimi-k2.6"), ("Sasha Lindqvist", "kimi:kimi-k2-thinking"), ("Avery Nakamura", "kimi:kimi-k2-turbo-preview")]
    assert tr.targets == {"Noor Okafor": "kimi:kimi-k2.6", "Sasha Lindqvist": "kimi:kimi-k2-thinking",
                          "Avery Nakamura": "kimi:kimi-k2-turbo-preview"}
    # Per-model token totals equal what the server itself counted for each request.
    expected: dict[str, int] = {}
    for r in chats(fake_server):
        reasoning = think_reply(r.json) if "thinking" in r.json["model"] else ""
        prompt, completion = usage_counts(r.json, fake_server.responder(r.json), reasoning)
        expected[f"kimi:{r.json['model']}"] = prompt + completion
    by_model = tr.metrics["by_model"]
    assert {k: v["total_tokens"] for k, v in by_model.items()} == expected
    assert all(v["calls"] == 1 for v in by_model.values())
    # The transcript, the history record and both exports name every turn's provider:model.
    md = tr.to_markdown()
    for target in expected:
        assert f"`{target}`" in md
    rec = default_history().get(tr.id)
    assert rec.provider is None and rec.model == "kimi:kimi-k2-thinking, kimi:kimi-k2-turbo-preview, kimi:kimi-k2.6"
    data = json.loads(export_run(tr.id, "json", tmp_path).read_text())["data"]
    assert [m["target"] for m in data["messages"]] == [t.target for t in tr.messages]
    assert set(data["metrics"]["by_model"]) == set(expected)
    assert "`kimi:kimi-k2-thinking`" in export_run(tr.id, "md", tmp_path).read_text()
    back = Transcript.from_dict(rec.data)
    assert back.to_dict() == tr.to_dict()


def test_models_mapping_and_chair_target(fake_server: Any) -> None:
    fake_server.responder = lambda req: f"{'AGREE' if 'AGREE or DISAGREE' in user_text(req) else ''}\n{speaker(req)} says so."
    tr = discuss(
        "Topic", "Noor, Sasha", mode="consensus", rounds=2, provider=kimi(fake_server), model="kimi-k2-0905-preview",
        models={"noor": "kimi-k2-thinking"}, chair="Morgan Castellano@kimi:kimi-k2-thinking",
    )
    sent = [(speaker(r.json), r.json["model"]) for r in chats(fake_server)]
    assert sorted(sent[:4]) == [("Noor Okafor", "kimi-k2-thinking")] * 2 + [("Sasha Lindqvist", "kimi-k2-0905-preview")] * 2
    assert sent[4] == ("Morgan Castellano", "kimi-k2-thinking")  # the chair's synthesis on its own model
    f = tr.final
    assert f is not None and f.by == "Morgan Castellano" and f.chair_target == "kimi:kimi-k2-thinking"
    assert f.chair_is_speaker is False and f.chair_same_model_as == ["Noor Okafor"]
    assert "same model as Noor Okafor" in tr.to_markdown()


def test_a_chair_that_also_spoke_is_flagged(fake_server: Any) -> None:
    fake_server.responder = lambda req: "AGREE\nfine." if "AGREE or DISAGREE" in user_text(req) else "fine."
    tr = discuss("Topic", "Noor@kimi-k2-thinking, Sasha", mode="consensus", rounds=2, provider=kimi(fake_server),
                 model="kimi-k2-0905-preview", chair="Noor")
    assert chats(fake_server)[-1].json["model"] == "kimi-k2-thinking"  # the chair keeps its seat's model
    assert tr.final is not None and tr.final.chair_is_speaker is True and tr.final.chair_target == "kimi:kimi-k2-thinking"
    assert "also a speaker: it may favour its own answer" in tr.to_markdown()
    tr = discuss("Topic", "Noor, Sasha", mode="consensus", rounds=1, provider=kimi(fake_server), model="kimi-k2-0905-preview")
    assert tr.final is not None and tr.final.by == "Noor Okafor" and tr.final.chair_is_speaker is True  # default chair


def test_unknown_target_is_one_clear_error_before_any_chat_request(fake_server: Any) -> None:
    prov = kimi(fake_server)
    with pytest.raises(ConfigurationError, match="Noor Okafor@kimi:kimi-k2.66: kimi has no model 'kimi-k2.66'") as err:
        discuss("Topic", "Noor@kimi:kimi-k2.66, Sasha", provider=prov, model="kimi-k2-0905-preview")
    assert "Did you mean 'kimi-k2.6'" in str(err.value)
    with pytest.raises(ConfigurationError, match="'kimmi' is not a provider. Did you mean 'kimi'") as err:
        discuss("Topic", "Sasha@kimmi:kimi-k2.6", provider=prov, model="kimi-k2-0905-preview")
    with pytest.raises(ConfigurationError, match="2 persona targets are not usable") as err:
        discuss("Topic", "Noor@kimi-k2-thinkin, Sasha@kimi-k2-turbo", provider=prov, model="kimi-k2-0905-preview")
    assert "Did you mean 'kimi-k2-thinking'" in str(err.value) and "kimi-k2-turbo-preview" in str(err.value)
    with pytest.raises(ConfigurationError, match="no API key for Anthropic"):
        discuss("Topic", "Noor, Avery@anthropic:claude-sonnet-4-6", provider=prov, model="kimi-k2-0905-preview")
    with pytest.raises(ConfigurationError, match="listed twice"):
        discuss("Topic", "Noor@kimi-k2.6, Noor Okafor@kimi-k2-thinking", provider=prov)
    with pytest.raises(ConfigurationError, match="not in this discussion"):
        discuss("Topic", "Noor", provider=prov, models={"Sasha": "kimi-k2.6"})
    with pytest.raises(ConfigurationError, match="Unknown persona 'Nobdy'"):
        discuss("Topic", "Nobdy@kimi-k2.6", provider=prov)
    assert chats(fake_server) == []  # nothing was sent: the checks read only /v1/models
    assert all(r.path.endswith("/models") for r in fake_server.requests)


# ── baselines ────────────────────────────────────────────────────────────────────────────────

# Scripted council: answers by persona and round. Round 1 is independent; Sasha switches to the
# first majority in round 3; Avery wobbles in round 2 but ends where it started ("yes" = "Yes").
SCRIPT = {
    ("Noor Okafor", 1): "Ship it.\nFINAL ANSWER: Yes",
    ("Sasha Lindqvist", 1): "Wait.\nFINAL ANSWER: No",
    ("Avery Nakamura", 1): "Users want it.\nFINAL ANSWER: yes",
    ("Noor Okafor", 2): "AGREE\nStill yes.\nFINAL ANSWER: Yes",
    ("Sasha Lindqvist", 2): "DISAGREE\nNot yet.\nFINAL ANSWER: No",
    ("Avery Nakamura", 2): "DISAGREE\nA pilot first.\nFINAL ANSWER: Pilot first",
    ("Noor Okafor", 3): "AGREE\nYes.\nFINAL ANSWER: Yes",
    ("Sasha Lindqvist", 3): "AGREE\nConvinced.\nFINAL ANSWER: Yes",
    ("Avery Nakamura", 3): "AGREE\nFine.\nFINAL ANSWER: Yes",
}


def _scripted(req: dict[str, Any]) -> str:
    text = user_text(req)
    if "You chair this group" in text:
        return "Consensus: ship it.\nDissents: none"
    rnd = 1 if text.startswith("Give your answer") else 3 if "Not yet." in text else 2  # round 2 quotes "Not yet."
    return SCRIPT[(speaker(req), rnd)]


def test_baselines_consistent_with_the_transcript_and_the_server(fake_server: Any) -> None:
    fake_server.responder = _scripted
    tr = discuss("Ship magic links?", "Noor, Sasha, Avery", mode="consensus", rounds=3, baselines=True,
                 provider=kimi(fake_server), model="kimi-k2-0905-preview")
    assert all("FINAL ANSWER" in user_text(r.json) for r in chats(fake_server)[:9])  # asked in every round
    b = tr.baselines
    assert b is not None
    assert b.first == {"Noor Okafor": "Yes", "Sasha Lindqvist": "No", "Avery Nakamura": "yes"}
    assert b.final == {"Noor Okafor": "Yes", "Sasha Lindqvist": "Yes", "Avery Nakamura": "Yes"}
    assert b.majority == "Yes" and b.strict_majority and b.votes == {"Yes": ["Noor Okafor", "Avery Nakamura"], "No": ["Sasha Lindqvist"]}
    assert b.agreement_start == pytest.approx(2 / 3) and b.agreement_end == 1.0
    assert b.changes == [{"persona": "Sasha Lindqvist", "from": "No", "to": "Yes", "direction": "to_majority"}]
    assert b.compared == 3 and b.flip_rate == pytest.approx(1 / 3)
    assert b.directions == {"to_majority": 1, "from_majority": 0, "other": 0}
    # Tokens as the server counted them: every request vs the three round-1 requests.
    counted = [sum(usage_counts(r.json, _scripted(r.json), "")) for r in chats(fake_server)]
    assert len(counted) == 10 and b.debate_tokens == sum(counted) and b.baseline_tokens == sum(counted[:3])
    assert b.token_multiple == pytest.approx(sum(counted) / sum(counted[:3]))
    assert b.token_multiple == pytest.approx(tr.totals["total_tokens"] / sum(t.usage.total_tokens for t in tr.answers(1) if t.usage))
    md = tr.to_markdown()
    assert "#### Baselines: independent answers vs the debate" in md
    assert "| Sasha Lindqvist | `kimi:kimi-k2-0905-preview` | No | Yes | yes → first majority |" in md
    assert "**Yes** (2 of 3) · agreement 67% at the start → 100% at the end · 1 of 3 changed their answer (33%): 1 to the first majority" in md
    assert tr.metrics["baselines"]["flip_rate"] == pytest.approx(1 / 3)
    assert Transcript.from_dict(json.loads(tr.to_json())).baselines == b


def test_baselines_from_hand_made_turns_with_costs() -> None:
    def turn(who: str, rnd: int, answer: str, tokens: int, usd: float, kind: str = "answer") -> Turn:
        return Turn(who, rnd, f"FINAL ANSWER: {answer}", usage=Usage(tokens - 10, 10, tokens), status="done",
                    kind=kind, target="kimi:kimi-k2.6", cost=Cost(usd, "USD", True))

    turns = [
        turn("A", 1, "42", 100, 0.001), turn("B", 1, "42", 100, 0.001), turn("C", 1, "7", 100, 0.002),
        turn("D", 1, "9", 100, 0.0),
        turn("A", 2, "7", 200, 0.002), turn("B", 2, "42", 200, 0.002), turn("C", 2, "7", 200, 0.002),
        turn("D", 2, "8", 200, 0.0),
        turn("A", 2, "synthesis", 300, 0.004, kind="synthesis"),
    ]
    b = compute_baselines(turns)
    assert b is not None and b.majority == "42" and not b.strict_majority  # 2 of 4 is not more than half
    assert b.agreement_start == 0.5 and b.agreement_end == 0.5  # 42,42,7,9 → 7,42,7,8
    assert [(c["persona"], c["direction"]) for c in b.changes] == [("A", "from_majority"), ("D", "other")]
    assert b.flip_rate == 0.5 and b.directions == {"to_majority": 0, "from_majority": 1, "other": 1}
    assert (b.baseline_tokens, b.debate_tokens, b.token_multiple) == (400, 1500, 3.75)
    assert b.cost_multiple == pytest.approx(0.014 / 0.004)
    assert "3.8× the tokens, 3.5× the cost" in b.summary()
    assert compute_baselines([Turn("A", 1, "x", status="error")]) is None


def test_baselines_need_independent_answers() -> None:
    with pytest.raises(ConfigurationError, match="sequential mode"):
        discuss("Topic", "Noor", baselines=True)


# ── bias control in vote and rank ────────────────────────────────────────────────────────────


def test_rank_shows_each_judge_its_own_recorded_order(fake_server: Any) -> None:
    def respond(req: dict[str, Any]) -> str:
        text = user_text(req)
        if "FINAL RANKING" in text:
            shown = re.findall(r"^Response ([A-Z]):", text, re.M)
            return "FINAL RANKING:\n" + "\n".join(f"{i}. Response {lab}" for i, lab in enumerate(shown, 1))  # first shown = best
        return ("AGREE\n" if "AGREE or DISAGREE" in text else "") + f"Answer number {len(speaker(req))}."

    fake_server.responder = respond
    people = "Noor@kimi-k2.6, Sasha@kimi-k2-thinking, Avery"
    tr = discuss("Q?", people, mode="consensus", rounds=1, aggregator="rank", seed=11, provider=kimi(fake_server),
                 model="kimi-k2-0905-preview")
    f = tr.final
    assert f is not None and tr.seed == 11
    assert sorted(tr.labels) == ["A", "B", "C"]
    assert {d["persona"]: d["target"] for d in tr.labels.values()} == tr.targets
    # Every judge saw another order, and the server received exactly that order.
    assert len({tuple(o) for o in f.orders.values()}) == 3
    rankings = [r.json for r in chats(fake_server) if "FINAL RANKING" in user_text(r.json)]
    for req in rankings:
        assert re.findall(r"^Response ([A-Z]):", user_text(req), re.M) == f.orders[speaker(req)]
        assert "Noor" not in user_text(req).split("Topic:")[0]  # anonymised
    assert [t.shown for t in tr.messages if t.kind == "ranking"] == [f.orders[t.persona] for t in tr.messages if t.kind == "ranking"]
    # A Latin square: each label at each position once, so "first shown = best" ties all at 2.0.
    assert all(row["average_rank"] == 2.0 for row in f.ranking)
    label_of = {d["persona"]: lab for lab, d in tr.labels.items()}
    assert f.self_rank == {j: f.orders[j].index(label_of[j]) + 1 for j in f.orders}
    md = tr.to_markdown()
    assert "Anonymous labels: A = " in md and "seed 11" in md and "Order shown to each judge:" in md
    again = discuss("Q?", people, mode="consensus", rounds=1, aggregator="rank", seed=11, provider=kimi(fake_server),
                    model="kimi-k2-0905-preview")
    assert again.final is not None and again.final.orders == f.orders and again.labels == tr.labels  # seeded


def test_vote_debate_rounds_are_anonymised_in_per_judge_order(fake_server: Any) -> None:
    fake_server.responder = lambda req: ("AGREE\n" if "AGREE or DISAGREE" in user_text(req) else "") + "Fine.\nFINAL ANSWER: 42"
    tr = discuss("Q?", "Noor, Sasha, Avery", mode="consensus", rounds=2, aggregator="vote", seed=5,
                 provider=kimi(fake_server), model="kimi-k2-0905-preview")
    label_of = {d["persona"]: lab for lab, d in tr.labels.items()}
    for req in [r.json for r in chats(fake_server)[3:]]:
        text = user_text(req).split("Topic:")[0]
        who = speaker(req)
        assert "Okafor" not in text and "Lindqvist" not in text and "Nakamura" not in text
        shown = re.findall(r"^\[Participant ([A-Z])\]:", text, re.M)
        turn = next(t for t in tr.answers(2) if t.persona == who)
        assert shown == turn.shown and label_of[who] not in shown and len(shown) == 2
    assert tr.final is not None and tr.final.winner == "42"


def test_rank_rows_print_rounded() -> None:
    out = Outcome(kind="rank", ranking=[{"persona": "Noor Okafor", "label": "A", "average_rank": 4 / 3, "votes": 3}])
    row = out.ranking[0]
    assert isinstance(row, RankRow) and row["average_rank"] == 4 / 3  # the data keeps the exact value
    assert repr(row) == "{'persona': 'Noor Okafor', 'label': 'A', 'average_rank': 1.33, 'votes': 3}"
    assert str(row) == "Noor Okafor (Response A): average rank 1.33 from 3 ranking(s)"
    assert out.ranking_table() == "1. Noor Okafor  (A)  avg 1.33  3 vote(s)"
    assert Outcome.from_dict(out.to_dict()) == out and json.loads(json.dumps(out.to_dict()))["ranking"][0]["votes"] == 3


def test_balanced_orders_form_a_latin_square() -> None:
    orders = modes.balanced_orders(["A", "B", "C", "D"], ["w", "x", "y", "z"], seed=1)
    assert len({tuple(o) for o in orders.values()}) == 4
    for pos in range(4):
        assert sorted(o[pos] for o in orders.values()) == ["A", "B", "C", "D"]
    assert orders == modes.balanced_orders(["A", "B", "C", "D"], ["w", "x", "y", "z"], seed=1)
    labels = modes.assign_labels(["n", "s", "a"], seed=2)
    assert sorted(labels.values()) == ["A", "B", "C"] and labels == modes.assign_labels(["n", "s", "a"], seed=2)


# ── the picker and the magic ─────────────────────────────────────────────────────────────────


@pytest.fixture
def no_picks() -> Any:
    from llm_magics.personas import seats
    from llm_magics.personas.model import select

    select(None)
    seats._assigned.clear()
    yield
    select(None)
    seats._assigned.clear()


def test_picker_model_per_persona_is_used_by_discuss_without_personas(no_picks: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from llm_magics.ui.pickers import PersonaPicker, target_options

    values = [v for _, v in target_options()]
    assert values[0] == "" and "offline:offline-demo" in values and "offline:kimi-k2-thinking" in values
    assert not any(v.startswith("kimi:") for v in values)  # no Kimi key here
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    assert "kimi:kimi-k2.6" in [v for _, v in target_options()]
    monkeypatch.delenv("KIMI_API_KEY")

    picker = PersonaPicker()
    noor = picker.card("Noor")
    assert "llm-persona-card-model" in noor.model._dom_classes and noor.model.layout.display == "none"
    noor.button.click()
    picker.card("Sasha").button.click()
    assert noor.model.layout.display is None  # shown once picked
    noor.model.value = "offline:kimi-k2-thinking"  # what choosing in the dropdown does
    assert picker.models == {"Noor Okafor": "offline:kimi-k2-thinking"}
    assert "Noor Okafor @ offline:kimi-k2-thinking, Sasha Lindqvist" in picker.summary.value
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "llm_magics")
    shell.run_cell_magic("discuss", "--provider offline --mode parallel --out picked", "Ship on Friday?")
    run = shell.user_ns.pop("picked")
    assert [(t.persona, t.target) for t in run.messages] == [
        ("Noor Okafor", "offline:kimi-k2-thinking"), ("Sasha Lindqvist", "offline:offline-demo")]
    assert run.messages[0].reasoning  # the offline "thinking" model reasons first
    assert PersonaPicker().card("Noor").model.value == "offline:kimi-k2-thinking"  # a new picker shows the pick


def test_discuss_magic_council_with_baselines_chair_and_seed(ip: Any) -> None:
    from IPython.core.error import UsageError

    ip.run_cell_magic(
        "discuss",
        '-p "Noor Okafor@offline:kimi-k2.6, Sasha" --provider offline -m consensus -r 2 --baselines '
        '--chair "Avery@offline:offline-fast" --seed 3 --out t',
        "Ship magic links next sprint?",
    )
    tr = ip.user_ns.pop("t")
    assert tr.targets == {"Noor Okafor": "offline:kimi-k2.6", "Sasha Lindqvist": "offline:offline-demo"}
    assert tr.seed == 3 and tr.baselines is not None and set(tr.baselines.first) == {"Noor Okafor", "Sasha Lindqvist"}
    assert tr.final.by == "Avery Nakamura" and tr.final.chair_target == "offline:offline-fast" and tr.final.chair_is_speaker is False
    assert tr.messages[-1].target == "offline:offline-fast"
    md = tr.to_markdown()  # what the finished live view shows under the panes
    assert "#### Baselines" in md and "**🛡️ Noor Okafor — Security Auditor** · `offline:kimi-k2.6`" in md
    with pytest.raises(UsageError, match="Did you mean 'kimi-k2.6'"):
        ip.run_cell_magic("discuss", '-p "Noor@offline:kimi-k2.66" --provider offline', "Topic")
    with pytest.raises(UsageError, match="sequential mode"):
        ip.run_cell_magic("discuss", "-p Noor --provider offline --baselines", "Topic")
