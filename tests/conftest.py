"""Shared fixtures: every test gets its own LLM_MAGICS_HOME and no provider keys from the host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

_KEY_VARS = (
    "KIMI_API_KEY", "MOONSHOT_API_KEY", "KIMI_BASE_URL", "MOONSHOT_BASE_URL",
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
    "OPENAI_COMPATIBLE_API_KEY", "OPENAI_COMPATIBLE_BASE_URL",
    "LLM_MAGICS_PROVIDER", "LLM_MAGICS_MODEL", "LLM_MAGICS_TEMPERATURE", "LLM_MAGICS_MAX_TOKENS",
    "LLM_MAGICS_RPM", "LLM_MAGICS_CASSETTE", "LLM_MAGICS_BUDGET",
    "LLM_MAGICS_CONCURRENCY", "LLM_MAGICS_CONNECT_TIMEOUT", "LLM_MAGICS_READ_TIMEOUT", "LLM_MAGICS_DEADLINE",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "llm-home"
    monkeypatch.setenv("LLM_MAGICS_HOME", str(home))
    monkeypatch.setenv("LLM_MAGICS_OFFLINE_DELAY", "0")
    monkeypatch.setenv("LLM_MAGICS_NO_KEYRING", "1")
    for var in _KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    from llm_magics import config

    config.reset_session()
    yield home
    config.reset_session()


# The shared fake OpenAI/Moonshot/Anthropic server (see tests/fakeserver.py for its interface).
from tests.fakeserver import fake_server  # noqa: E402,F401


@pytest.fixture
def ip() -> Iterator[object]:
    """The one in-process IPython shell, with the extension loaded (use this, never start_ipython)."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "llm_magics")
    yield shell
