"""`%llm keys / models / check / config` through a real IPython shell, against the fake server."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError

from llm_magics import config
from llm_magics.keys import store as keys
from llm_magics.providers import PROVIDERS
from tests.fakeserver import FakeLLMServer

GLOBAL_KEY = "sk-global-key-0123456789abcdefA1"
CHINA_KEY = "sk-china-key-0123456789abcdefC2"


@pytest.fixture(scope="module")
def ip() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    # The process-wide singleton (other test modules may have made it already).
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "llm_magics")
    return shell


@pytest.fixture
def regions(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeLLMServer, FakeLLMServer]]:
    """Two fake Moonshot regions: the configured one (global) and 'the other' (China)."""
    china = FakeLLMServer().start()
    try:
        fake_server.valid_keys = {GLOBAL_KEY}
        china.valid_keys = {CHINA_KEY}
        monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
        monkeypatch.setenv("LLM_MAGICS_KIMI_REGIONS", f"{fake_server.base_url},{china.base_url}")
        yield fake_server, china
    finally:
        china.close()


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Objects the handlers display (to check both their HTML and text forms)."""
    from llm_magics.magics import table as _table

    seen: list[Any] = []
    real = _table.show

    def capture(obj: Any) -> None:
        seen.append(obj)
        real(obj)

    monkeypatch.setattr(_table, "show", capture)
    return seen


def _type_key(monkeypatch: pytest.MonkeyPatch, value: str) -> list[str]:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "Password: ", stream: Any = None) -> str:
        prompts.append(prompt)
        return value

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    return prompts


def test_help_and_usage_errors(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("llm", "keys --help")
    assert "add" in capsys.readouterr().out
    with pytest.raises(UsageError, match="invalid choice"):
        ip.run_line_magic("llm", "keys frob")
    with pytest.raises(UsageError, match="unrecognized arguments"):
        ip.run_line_magic("llm", "models kimi --refrsh")
    with pytest.raises(UsageError, match="Unknown provider 'kimmi'"):
        ip.run_line_magic("llm", "models kimmi")
    with pytest.raises(UsageError, match="No stored key with ID"):
        ip.run_line_magic("llm", "keys remove k000000")


def test_keys_add_list_test_remove(ip: Any, regions: Any, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str], shown: list[Any]) -> None:
    prompts = _type_key(monkeypatch, GLOBAL_KEY)
    ip.run_line_magic("llm", "keys add kimi --label work")
    out = capsys.readouterr().out
    assert prompts and "hidden" in prompts[0]
    assert "valid:" in out and "'work'" in out and GLOBAL_KEY not in out
    [stored] = keys.list_keys("kimi")
    assert stored.status == keys.VALID and stored.label == "work"

    _type_key(monkeypatch, "sk-typo-0000000000000000000")
    ip.run_line_magic("llm", "keys add kimi --label typo")
    out = capsys.readouterr().out
    assert "invalid:" in out and "rejected the key (401)" in out

    ip.run_line_magic("llm", "keys list")
    out = capsys.readouterr().out
    table = shown[-1]
    assert [r[4] for r in table.rows] == ["invalid", "valid"]
    assert "sk-…abA1"[:3] in out and "…efA1" in out and GLOBAL_KEY not in out and "just now" in out
    html = table._repr_html_()  # the terminal shell disables its HTML formatter
    assert "<table" in html and "work" in html

    typo = keys.list_keys("kimi")[0]
    ip.run_line_magic("llm", f"keys test {stored.id}")
    assert "valid:" in capsys.readouterr().out
    ip.run_line_magic("llm", "keys test")
    out = capsys.readouterr().out
    assert out.count("kimi key") == 2 and "invalid" in out

    ip.run_line_magic("llm", f"keys remove {typo.id}")
    assert "Removed kimi key 'typo'" in capsys.readouterr().out
    assert [k.id for k in keys.list_keys()] == [stored.id]


def test_keys_add_wrong_region_says_which_base_url(ip: Any, regions: Any, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, china = regions
    _type_key(monkeypatch, CHINA_KEY)
    ip.run_line_magic("llm", "keys add kimi --label cn")
    out = capsys.readouterr().out
    assert "valid only on the other Kimi region" in out
    assert f"set KIMI_BASE_URL={china.base_url}" in out and CHINA_KEY not in out


def test_check_reports_source_latency_and_region_fix(ip: Any, regions: Any, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    glob, china = regions
    monkeypatch.setenv("KIMI_API_KEY", GLOBAL_KEY)
    ip.run_line_magic("llm", "check kimi")
    out = capsys.readouterr().out
    assert "env:KIMI_API_KEY" in out and "…efA1" in out and GLOBAL_KEY not in out
    assert f"base URL:   {glob.base_url} (from KIMI_BASE_URL)" in out and "region 1 of 2" in out
    assert "reachable" in out and " ms" in out and f"{PROVIDERS['kimi'].default_model} — present" in out and "verdict:    OK" in out

    # A China key against the global host: the report names the fix.
    monkeypatch.setenv("KIMI_API_KEY", CHINA_KEY)
    ip.run_line_magic("llm", "check kimi")
    out = capsys.readouterr().out
    assert "401" in out and f"set KIMI_BASE_URL={china.base_url}" in out and CHINA_KEY not in out

    # Default model missing → closest IDs.
    monkeypatch.setenv("KIMI_API_KEY", GLOBAL_KEY)
    glob.models = ["kimi-k2-0905-preview-2", "moonshot-v1-8k"]
    config.set_session(model="kimi-k2-0905-preview", provider="kimi")
    ip.run_line_magic("llm", "check")
    out = capsys.readouterr().out
    assert "NOT offered" in out and "kimi-k2-0905-preview-2" in out


def test_check_without_key_explains_how_to_add_one(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("llm", "check kimi")
    out = capsys.readouterr().out
    assert "none usable" in out and "%llm keys add kimi" in out


def test_models_table_html_and_text(ip: Any, regions: Any, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str], shown: list[Any]) -> None:
    ip.run_line_magic("llm", "models kimi")
    out = capsys.readouterr().out
    assert "source: builtin" in out and "built-in list as of" in out
    monkeypatch.setenv("KIMI_API_KEY", GLOBAL_KEY)
    ip.run_line_magic("llm", "models kimi --refresh")
    out = capsys.readouterr().out
    assert "source: live" in out and "kimi-k2-thinking" in out
    fmt = ip.display_formatter.formatters
    assert "<table" in shown[-1]._repr_html_() and "source: live" in fmt["text/plain"](shown[-1])
    ip.run_line_magic("llm", "models kimi")
    assert "source: cache" in capsys.readouterr().out


def test_config_set_save_unset_show(ip: Any, capsys: pytest.CaptureFixture[str], shown: list[Any],
                                    isolated_home: Any) -> None:
    ip.run_line_magic("llm", "config model=kimi-k2-turbo-preview temperature=0.3")
    assert "set for this session" in capsys.readouterr().out
    assert config.effective()["temperature"] == (0.3, "session")
    ip.run_line_magic("llm", "config --save max_tokens=256 rpm=30")
    assert "saved to" in capsys.readouterr().out
    assert config.effective()["rpm"] == (30, "saved")
    assert '"rpm": 30' in (isolated_home / "config.json").read_text()
    ip.run_line_magic("llm", "config --unset temperature")
    assert config.effective()["temperature"] == (None, "default")
    ip.run_line_magic("llm", "config")
    out = capsys.readouterr().out
    rows = {r[0]: (r[1], r[2]) for r in shown[-1].rows}
    assert rows["model"] == ("kimi-k2-turbo-preview", "session") and rows["max_tokens"] == ("256", "saved")
    assert rows["temperature"] == ("(not set)", "default") and "precedence" in out
    with pytest.raises(UsageError, match="Did you mean 'temperature'"):
        ip.run_line_magic("llm", "config temprature=0.5")
    with pytest.raises(UsageError, match="out of range"):
        ip.run_line_magic("llm", "config temperature=9 model=x")
    assert config.effective()["model"][0] == "kimi-k2-turbo-preview"  # nothing changed on a bad value
    with pytest.raises(UsageError, match="KEY=VALUE"):
        ip.run_line_magic("llm", "config model")
    with pytest.raises(UsageError, match="Unknown provider"):
        ip.run_line_magic("llm", "config provider=kimmi")
