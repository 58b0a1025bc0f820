"""Record real streams into a cassette, replay them offline: same text, same pacing, clear misses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llm_magics import run_sync
from llm_magics.errors import ConfigurationError, RateLimitError
from llm_magics.providers import PROVIDERS
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.registry import PROVIDER_WRAPPERS
from llm_magics.providers.replay import ReplayProvider, load_cassette, replay_label, strip_replay_label
from llm_magics.providers.record import record, recording, start_recording, stop_recording

KEY = "sk-test-recordreplay-0000000000wxyz"
MODEL = "kimi-k2-0905-preview"


@pytest.fixture(autouse=True)
def _no_recording_left() -> Any:
    yield
    stop_recording()
    assert not PROVIDER_WRAPPERS


def _msgs(q: str, system: str = "You are Noor Okafor, a Security Auditor.") -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": q}]


async def _chunks(provider: Any, messages: Any, **kw: Any) -> list[Any]:
    return [c async for c in provider.stream(messages, **kw)]


def _kimi(fake_server: Any) -> Any:
    return get_provider("kimi", api_key=KEY, base_url=fake_server.base_url)


def test_kimi_stream_and_complete_replay_to_the_same_text(fake_server: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "kimi.jsonl"
    with record(cassette) as rec:
        kimi = _kimi(fake_server)
        live_chunks = run_sync(_chunks(kimi, _msgs("Audit the password reset flow"), model=MODEL))
        live = run_sync(kimi.complete(_msgs("Is the session cookie HttpOnly?"), model=MODEL, temperature=0.2))
    assert rec.count == 2 and recording() is None
    assert fake_server.requests and fake_server.requests[0].headers.get("authorization", "").endswith(KEY)

    raw = cassette.read_text(encoding="utf-8")
    assert KEY not in raw and KEY[-12:] not in raw and "authorization" not in raw.lower()
    assert fake_server.base_url not in raw  # no base URL (could carry a tenant) either

    replay = get_provider("replay", cassette=str(cassette), speed=0)
    assert isinstance(replay, ReplayProvider) and replay.name == PROVIDERS.REPLAY
    again = run_sync(_chunks(replay, _msgs("Audit the password reset flow"), model=MODEL))
    live_text = "".join(c.text for c in live_chunks)
    label = replay_label("kimi", MODEL)
    assert "".join(c.text for c in again) == f"{label}\n\n{live_text}"
    assert len(again) == len(live_chunks)
    assert again[-1].finish_reason == live_chunks[-1].finish_reason == "stop"
    assert again[-1].usage == live_chunks[-1].usage

    done = run_sync(replay.complete(_msgs("Is the session cookie HttpOnly?"), temperature=0.2))
    assert strip_replay_label(done.text) == live.text and done.text.startswith(label)
    assert done.usage == live.usage
    assert [m.id for m in run_sync(replay.list_models())] == [MODEL]


def test_multi_turn_replay_matches_even_with_labels_fed_back(fake_server: Any, tmp_path: Path) -> None:
    """A replayed answer (label included) sent back as history still finds the recorded turn."""
    cassette = tmp_path / "turns.jsonl"

    def converse(provider: Any) -> list[str]:
        history = _msgs("Name one risk of the plan.")
        out = []
        for follow_up in ("And how would you test it?", "Summarise in one line."):
            answer = run_sync(provider.complete(history, model=MODEL))
            out.append(answer.text)
            history = [*history, answer.as_message(), {"role": "user", "content": follow_up}]
        return out

    with record(cassette):
        live = converse(_kimi(fake_server))
    replayed = converse(get_provider("replay", cassette=str(cassette), speed=0))
    assert [strip_replay_label(t) for t in replayed] == live


def test_missing_request_names_the_closest_and_how_to_rerecord(fake_server: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "one.jsonl"
    with record(cassette):
        run_sync(_kimi(fake_server).complete(_msgs("Audit the password reset flow"), model=MODEL))
    replay = get_provider("replay", cassette=str(cassette), speed=0)
    with pytest.raises(ConfigurationError) as exc:
        run_sync(replay.complete(_msgs("Audit the password change flow"), model=MODEL))
    text = str(exc.value)
    assert "not in the cassette" in text and "Audit the password reset flow" in text
    assert "message 2 (user) differs" in text and "%llm record" in text
    with pytest.raises(ConfigurationError, match="the model differs"):
        run_sync(replay.complete(_msgs("Audit the password reset flow"), model="kimi-k2-turbo-preview"))
    with pytest.raises(ConfigurationError, match="params differ"):
        run_sync(replay.complete(_msgs("Audit the password reset flow"), model=MODEL, temperature=0.9))


def test_replay_keeps_the_recorded_pacing(tmp_path: Path) -> None:
    cassette = tmp_path / "paced.jsonl"
    lines = [
        {"type": "header", "format": "llm-magics-cassette", "version": 1},
        {"type": "interaction", "provider": "kimi", "model": MODEL,
         "request": {"messages": _msgs("pace"), "params": {}},
         "chunks": [{"t": 0.05, "text": "one "}, {"t": 0.1, "text": "two "}, {"t": 0.2, "text": "three"},
                    {"t": 0.2, "finish_reason": "stop"}]},
    ]
    cassette.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")

    async def arrivals(speed: float) -> list[float]:
        provider = get_provider("replay", cassette=str(cassette), speed=speed)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        return [loop.time() - t0 async for _ in provider.stream(_msgs("pace"))]

    slack = 0.005  # the event loop may wake a hair early
    at_1x = run_sync(arrivals(1.0))
    assert all(got >= want - slack for got, want in zip(at_1x, [0.05, 0.1, 0.2, 0.2]))
    at_2x = run_sync(arrivals(2.0))
    assert all(got >= want - slack for got, want in zip(at_2x, [0.025, 0.05, 0.1, 0.1]))


def test_recorded_errors_replay_as_the_same_error(fake_server: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "err.jsonl"
    fake_server.fail_next(429, "rate_limit_reached_error", "slow down", times=50, headers={"Retry-After": "0"})
    with record(cassette):
        kimi = _kimi(fake_server)
        with pytest.raises(RateLimitError):
            run_sync(kimi.complete(_msgs("too fast"), model=MODEL))
    replay = get_provider("replay", cassette=str(cassette), speed=0)
    with pytest.raises(RateLimitError, match="replayed"):
        run_sync(replay.complete(_msgs("too fast"), model=MODEL))


def test_repeats_are_served_in_recorded_order_and_cycle(tmp_path: Path) -> None:
    cassette = tmp_path / "rep.jsonl"
    replies = iter(["first answer", "second answer"])

    lines = [{"type": "header", "format": "llm-magics-cassette", "version": 1}]
    for text in replies:
        lines.append({"type": "interaction", "provider": "kimi", "model": MODEL,
                      "request": {"messages": _msgs("again"), "params": {}},
                      "chunks": [{"t": 0.0, "text": text}, {"t": 0.0, "finish_reason": "stop"}]})
    cassette.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    replay = get_provider("replay", cassette=str(cassette), speed=0)
    got = [strip_replay_label(run_sync(replay.complete(_msgs("again"))).text) for _ in range(3)]
    assert got == ["first answer", "second answer", "first answer"]


def test_offline_discussion_style_run_records_and_replays(tmp_path: Path) -> None:
    """Any provider records: the offline one gives a keyless round trip through get_provider."""
    cassette = tmp_path / "off.jsonl"
    start_recording(cassette)
    offline = get_provider("offline")
    first = run_sync(offline.complete(_msgs("Ship on Friday?"), model="kimi-k2-thinking"))
    stop_recording()
    replay = get_provider("replay", cassette=str(cassette), speed=0)
    again = run_sync(replay.complete(_msgs("Ship on Friday?"), model="kimi-k2-thinking"))
    assert strip_replay_label(again.text) == first.text and again.reasoning == first.reasoning != ""
    assert load_cassette(cassette).interactions[0].provider == "offline"


def test_replay_without_cassette_or_with_a_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="LLM_MAGICS_CASSETTE"):
        run_sync(get_provider("replay").complete(_msgs("x")))
    with pytest.raises(ConfigurationError, match="does not exist"):
        run_sync(get_provider("replay", cassette=str(tmp_path / "nope.jsonl")).complete(_msgs("x")))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "header"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="line 2 is not JSON"):
        load_cassette(bad)


def test_cassette_from_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cassette = tmp_path / "env.jsonl"
    with record(cassette):
        text = run_sync(get_provider("offline").complete(_msgs("env"))).text
    monkeypatch.setenv("LLM_MAGICS_CASSETTE", str(cassette))
    monkeypatch.setenv("LLM_MAGICS_REPLAY_SPEED", "0")
    assert strip_replay_label(run_sync(get_provider("replay").complete(_msgs("env"))).text) == text


def test_record_magic_starts_reports_and_stops(ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.error import UsageError

    path = tmp_path / "magic.jsonl"
    ip.run_line_magic("llm", "record")
    assert "Not recording" in capsys.readouterr().out
    ip.run_line_magic("llm", f"record {path}")
    assert "Recording every provider call" in capsys.readouterr().out
    with pytest.raises(UsageError, match="Already recording"):
        ip.run_line_magic("llm", f"record {tmp_path / 'other.jsonl'}")
    run_sync(get_provider("offline").complete(_msgs("magic")))
    ip.run_line_magic("llm", "record")
    assert "1 request(s) so far" in capsys.readouterr().out
    ip.run_line_magic("llm", "record stop")
    out = capsys.readouterr().out
    assert "Stopped recording: 1 request(s)" in out and "LLM_MAGICS_CASSETTE" in out
    assert len(load_cassette(path)) == 1


@pytest.mark.parametrize("mode", ["sequential", "parallel", "consensus"])
def test_discussion_recorded_against_fake_server_replays_to_the_same_transcript(
    fake_server: Any, tmp_path: Path, mode: str
) -> None:
    import llm_magics.discussion.api as discussion  # an import error must fail, not skip
    cassette = tmp_path / f"{mode}.jsonl"
    people = ["Noor Okafor", "Sasha Lindqvist"]
    topic = "Should we ship the password reset redesign on Friday?"

    def shape(tr: Any) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = [(t.persona, t.round, t.kind, t.stance, t.status, strip_replay_label(t.text)) for t in tr.messages]
        final = tr.final
        if final is not None:
            rows.append((final.kind, final.by, final.winner, final.agreed, strip_replay_label(final.text)))
        return rows

    with record(cassette) as rec:
        live = discussion.discuss(topic, people, mode=mode, rounds=2, provider=_kimi(fake_server), model=MODEL)
    assert live.status == "done" and rec.count >= 4
    assert KEY not in cassette.read_text(encoding="utf-8")
    served = len(fake_server.requests)

    replay = get_provider("replay", cassette=str(cassette), speed=0)
    again = discussion.discuss(topic, people, mode=mode, rounds=2, provider=replay)
    assert again.status == "done"
    assert shape(again) == shape(live)
    assert all(t.text.startswith("[replay of a recorded kimi") for t in again.messages)
    assert len(fake_server.requests) == served  # the replay touched no server
