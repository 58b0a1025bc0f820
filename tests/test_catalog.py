"""Model discovery: live /v1/models, the hour cache, labelled fallbacks, did-you-mean."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from llm_magics.keys import models as catalog
from tests.fakeserver import FakeLLMServer

KEY = "sk-catalog-0123456789abcdef"


def _model_requests(srv: FakeLLMServer) -> int:
    return sum(1 for r in srv.requests if r.method == "GET" and r.path.rstrip("/").endswith("/models"))


def _dead_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def kimi_env(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    fake_server.models = ["kimi-k2-0905-preview", "kimi-k2-turbo-preview", "kimi-brand-new"]
    return fake_server


def test_live_then_cache_then_refresh(kimi_env: FakeLLMServer, isolated_home: Path) -> None:
    live = catalog.list_models("kimi")
    assert live.source == "live" and live.provider == "kimi" and live.fetched_at is not None
    # Useful order: Kimi's curated IDs (current first), then IDs the built-in list does not know yet.
    assert live.ids == ["kimi-k2-turbo-preview", "kimi-k2-0905-preview", "kimi-brand-new"]
    assert _model_requests(kimi_env) == 1
    cache_file = isolated_home / "models" / "kimi.json"
    assert json.loads(cache_file.read_text())["ids"] == live.ids

    kimi_env.models = ["kimi-changed"]
    cached = catalog.list_models("kimi")
    assert cached.source == "cache" and cached.ids == live.ids and "cached list" in cached.note
    assert _model_requests(kimi_env) == 1  # no network for a fresh cache

    fresh = catalog.list_models("kimi", refresh=True)
    assert fresh.source == "live" and fresh.ids == ["kimi-changed"]
    assert _model_requests(kimi_env) == 2


def test_cache_expires_after_an_hour(kimi_env: FakeLLMServer, isolated_home: Path) -> None:
    catalog.list_models("kimi")
    path = isolated_home / "models" / "kimi.json"
    data = json.loads(path.read_text())
    data["fetched_at"] = time.time() - catalog.CACHE_TTL_S - 5
    path.write_text(json.dumps(data))
    assert catalog.list_models("kimi").source == "live"
    assert _model_requests(kimi_env) == 2


def test_cache_from_another_base_url_is_not_used(kimi_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog.list_models("kimi")
    monkeypatch.setenv("KIMI_BASE_URL", _dead_url())
    other = catalog.list_models("kimi")
    assert other.source == "builtin"


def test_no_key_gives_dated_builtin_list() -> None:
    ml = catalog.list_models("kimi")
    assert ml.source == "builtin" and ml.fetched_at is None
    assert "kimi-k2-0905-preview" in ml.ids
    from llm_magics.providers import PROVIDERS

    assert ml.note.startswith(f"built-in list as of {PROVIDERS['kimi'].builtin_models_date}")
    assert "no key" in ml.note and "%llm keys add kimi" in ml.note


def test_unreachable_uses_stale_cache_then_builtin(kimi_env: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
                                                    isolated_home: Path) -> None:
    dead = _dead_url()
    monkeypatch.setenv("KIMI_BASE_URL", dead)
    ml = catalog.list_models("kimi")
    assert ml.source == "builtin" and "could not reach" in ml.note and dead in ml.note
    # A stale cache for that same URL beats the built-in list, and says how old it is.
    path = isolated_home / "models" / "kimi.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"ids": ["kimi-old"], "base_url": dead, "fetched_at": time.time() - 7200}))
    stale = catalog.list_models("kimi")
    assert stale.source == "cache" and stale.ids == ["kimi-old"] and "could not reach" in stale.note


def test_rejected_key_falls_back_with_pointer_to_check(kimi_env: FakeLLMServer) -> None:
    kimi_env.valid_keys = {"sk-someone-else-000000000"}
    ml = catalog.list_models("kimi")
    assert ml.source == "builtin" and "rejected the key" in ml.note and "%llm check kimi" in ml.note


def test_offline_provider_lists_live_without_cache(isolated_home: Path) -> None:
    ml = catalog.list_models("offline")
    assert ml.source == "offline" and "offline-demo" in ml.ids  # says what the list is, not "live"
    assert ml.ids[:4] == ["offline-demo", "offline-fast", "offline-slow", "kimi-k2.6"]  # default first, current next
    assert ml.ids[-1] == "moonshot-v1-auto" and ml.ids.index("kimi-k2.6") < ml.ids.index("kimi-k2-0711-preview")
    assert ml.label("offline-demo") == "default, offline demo" and ml.label("kimi-k2.6") == "Kimi ID, answered offline"
    assert not (isolated_home / "models" / "offline.json").exists()


def test_suggest_uses_cache_or_builtin_without_network(kimi_env: FakeLLMServer) -> None:
    # No cache yet → built-in list, no request.
    assert "kimi-k2-0905-preview" in catalog.suggest("kimi", "kimi-k2-0905")
    assert _model_requests(kimi_env) == 0
    catalog.list_models("kimi")
    assert catalog.suggest("kimi", "kimi-brand-nw")[0] == "kimi-brand-new"
    assert catalog.suggest("kimi", "zzzzzz") == []
    assert catalog.suggest("kimi", "x", ids=["xy", "ab"]) == ["xy"]


def test_html_and_text_rendering_label_the_source() -> None:
    ml = catalog.ModelList(["a<b", "m2"], "builtin", None, "kimi", "built-in list as of 2025-11; no key", "", "m2")
    html = ml._repr_html_()
    assert "<table>" in html and "a&lt;b" in html and "source: builtin" in html and "built-in list as of" in html
    text = str(ml)
    assert "source: builtin" in text and "m2  (default)" in text and "<" not in text.replace("a<b", "")


def test_alist_models_in_a_running_loop(kimi_env: FakeLLMServer) -> None:
    import asyncio

    ml = asyncio.run(catalog.alist_models("kimi"))
    assert ml.source == "live" and "kimi-brand-new" in ml.ids
