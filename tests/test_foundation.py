"""The shared core: registry, config resolution, offline provider, run_sync, history."""

from __future__ import annotations

import asyncio
import sys
import sqlite3
import threading

import pytest

from llm_magics import config, run_sync
from llm_magics.keys import resolve
from llm_magics.errors import ConfigurationError, ModelNotFoundError
from llm_magics.history.store import History, new_run_id
from llm_magics.providers import PROVIDERS, Secret, mask_key
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.offline import OFFLINE_LABEL


def test_registry_lists_builtins_and_suggests() -> None:
    assert {"kimi", "openai", "anthropic", "openai-compatible", "offline"} <= set(PROVIDERS)
    with pytest.raises(ConfigurationError, match="Did you mean 'kimi'"):
        PROVIDERS["kimmi"]


def test_default_provider_falls_back_to_offline_with_notice() -> None:
    name, notice = resolve.default_provider_choice()
    assert name == PROVIDERS.OFFLINE
    assert notice and "%llm keys add kimi" in notice and "KIMI_API_KEY" in notice


def test_default_provider_is_kimi_when_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOONSHOT_API_KEY", "sk-test-000000000000abcd")
    assert resolve.default_provider_choice() == ("kimi", None)


def test_config_sources_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MAGICS_TEMPERATURE", "0.3")
    config.set_session(max_tokens="512")
    config.save(rpm=30)
    eff = config.effective()
    assert eff["temperature"] == (0.3, "env:LLM_MAGICS_TEMPERATURE")
    assert eff["max_tokens"] == (512, "session")
    assert eff["rpm"] == (30, "saved")
    assert eff["model"] == (None, "default")
    with pytest.raises(ConfigurationError, match="out of range"):
        config.set_session(temperature=5)
    with pytest.raises(ConfigurationError, match="Did you mean 'model'"):
        config.set_session(modle="x")


def test_secret_never_prints() -> None:
    s = Secret("sk-test-abcdefghij-klmnopqrstuv-1234")
    for shown in (repr(s), str(s), f"{s}", f"{s!r}"):
        assert "abcdefghij" not in shown and "1234" in shown
    assert mask_key("sk-test-abcdefghij-klmnopqrstuv-1234") == "sk-…1234"


def test_offline_is_labelled_deterministic_and_streams() -> None:
    p = get_provider("offline")
    msgs = [{"role": "system", "content": "You are Noor Okafor, a Security Auditor."},
            {"role": "user", "content": "Audit the password reset flow"}]
    a = run_sync(p.complete(msgs))
    b = run_sync(p.complete(msgs))
    assert a.text == b.text and a.text.startswith(OFFLINE_LABEL)
    assert "Noor Okafor" in a.text and a.usage and a.usage.completion_tokens > 0

    async def chunks() -> list[str]:
        return [c.text async for c in p.stream(msgs)]

    parts = run_sync(chunks())
    assert len(parts) > 5 and "".join(parts) == a.text


def test_offline_unknown_model_suggests() -> None:
    p = get_provider("offline", model="kimi-k2-0905")
    with pytest.raises(ModelNotFoundError) as exc:
        run_sync(p.complete([{"role": "user", "content": "hi"}]))
    assert "kimi-k2-0905-preview" in exc.value.suggestions


def test_run_sync_works_inside_a_running_loop() -> None:
    async def outer() -> int:
        # Like a Jupyter cell: a loop is already running in this thread.
        return await asyncio.to_thread(run_sync, asyncio.sleep(0.01, result=7))

    assert asyncio.run(outer()) == 7


def test_run_sync_propagates_errors() -> None:
    async def boom() -> None:
        raise ValueError("x")

    with pytest.raises(ValueError):
        run_sync(boom())


def test_history_concurrent_writers_lose_nothing(tmp_path) -> None:
    path = tmp_path / "h.db"
    ids = [[new_run_id() for _ in range(25)] for _ in range(4)]

    errors: list[BaseException] = []

    def writer(batch: list[str]) -> None:
        h = History(path)
        try:
            for rid in batch:
                h.save(rid, "discussion", {"topic": rid}, title=rid, status="done")
                h.list(3)  # readers interleaved with writers, as several kernels would
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(b,)) for b in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    h = History(path)
    assert h.count() == 100
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rec = h.get(ids[2][3])
    assert rec.data == {"topic": ids[2][3]} and rec.status == "done"
    assert [r.id for r in h.list(5, search=ids[1][0])] == [ids[1][0]]
    with pytest.raises(ConfigurationError, match="No run"):
        h.get("r000000000000")


def test_did_you_mean_puts_completions_first() -> None:
    from llm_magics.providers.suggest import closest

    kimi = PROVIDERS["kimi"].builtin_models
    # The seed's pain: 'kimi-k2-0711' was really 'kimi-k2-0711-preview'.
    assert closest("kimi-k2-0711", kimi)[0] == "kimi-k2-0711-preview"
    assert closest("kimi-k2-0905", kimi)[0] == "kimi-k2-0905-preview"
    assert closest("moonshot-v1-12k", kimi)[0] == "moonshot-v1-128k"
    assert closest("zzzz", kimi) == []


def test_stream_summary_reads_the_same_everywhere() -> None:
    from llm_magics.fmt import stream_summary

    assert stream_summary(0.314, 2.43, 412) == "TTFT 0.31 s · 2.4 s · 412 output tok · 195 tok/s"
    assert stream_summary(0.004, None, None) == "TTFT 4 ms"
    from llm_magics.fmt import fmt_tokens

    assert fmt_tokens(1204, 512, 120) == "prompt 1,204 tok · output 512 tok (reasoning 120)"
    assert fmt_tokens(None, 42) == "output 42 tok"


class EchoProvider:
    """A third-party provider, as a plugin package would ship it (see the entry-point test)."""


def _make_echo() -> type:
    from collections.abc import AsyncIterator

    from llm_magics.providers import Chunk, ModelInfo, Provider

    class Echo(Provider):
        name = "echo"

        async def stream(self, messages, *, model=None, **params) -> AsyncIterator[Chunk]:  # type: ignore[override]
            yield Chunk(text=str(messages[-1]["content"]))
            yield Chunk(finish_reason="stop")

        async def list_models(self) -> list[ModelInfo]:
            return [ModelInfo("echo-1", self.name)]

    return Echo


def test_entry_point_plugins_load_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata as md

    from llm_magics.providers import registry as _registry

    monkeypatch.setattr(sys.modules[__name__], "EchoProvider", _make_echo())
    ep = md.EntryPoint(name="echo", value=f"{__name__}:EchoProvider", group=_registry.ENTRY_POINT_GROUP)
    scans: list[object] = []

    def fake_entry_points(**kw: object) -> list[md.EntryPoint]:
        scans.append(kw.get("group"))
        return [ep] if kw.get("group") == _registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(md, "entry_points", fake_entry_points)
    reg = _registry._Registry(_registry._BUILTIN)
    monkeypatch.setattr(_registry, "PROVIDERS", reg)
    assert reg["kimi"].name == "kimi" and scans == []  # built-ins never scan plugins
    p = get_provider("echo", model="echo-1")
    assert scans == [_registry.ENTRY_POINT_GROUP] and type(p).__name__ == "Echo"
    assert run_sync(p.complete([{"role": "user", "content": "ping"}])).text == "ping"
    assert "echo" in list(reg)
