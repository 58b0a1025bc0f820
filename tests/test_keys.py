"""The key store: 0600 file, keyring vs file, newest-not-invalid resolution, 401 → invalid → skipped."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_magics import run_sync
from llm_magics.keys import store as keys
from llm_magics.keys.check import check_secret
from llm_magics.errors import AuthenticationError, ConfigurationError
from llm_magics.keys.resolve import get_provider
from tests.fakeserver import FakeLLMServer

GOOD = "sk-good-0123456789abcdefGOOD"
STALE = "sk-stale-0123456789abcdeSTAL"
CHINA = "sk-china-0123456789abcdeCHNA"
MSG = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def other_region() -> Iterator[FakeLLMServer]:
    srv = FakeLLMServer().start()
    try:
        yield srv
    finally:
        srv.close()


def _auth(req: Any) -> str:
    return str(req.headers.get("authorization", ""))


def test_db_is_created_private_even_with_open_umask(isolated_home: Path) -> None:
    old = os.umask(0)
    try:
        k = keys.add_key("kimi", GOOD, "work")
    finally:
        os.umask(old)
    db = isolated_home / "keys.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert k.provider == "kimi" and k.label == "work" and k.status == keys.UNCHECKED
    assert GOOD not in repr(k) and GOOD not in str(k) and k.masked in repr(k)
    assert k.storage == "file"
    # With the keyring disabled the secret lives in the 0600 file, by design.
    assert GOOD.encode() in db.read_bytes()


class _MemoryKeyring:
    """A minimal usable keyring backend (priority > 0) kept in memory."""

    priority = 5

    def __init__(self) -> None:
        self.store: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, user: str, password: str) -> None:
        self.store[(service, user)] = password

    def get_password(self, service: str, user: str) -> str | None:
        return self.store.get((service, user))

    def delete_password(self, service: str, user: str) -> None:
        del self.store[(service, user)]


def test_secret_goes_to_a_usable_keyring_not_the_file(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backend import KeyringBackend

    class Mem(_MemoryKeyring, KeyringBackend):
        pass

    backend = Mem()
    monkeypatch.delenv("LLM_MAGICS_NO_KEYRING")
    old = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        assert keys.keyring_in_use()
        k = keys.add_key("kimi", GOOD)
        assert k.storage == "keyring"
        assert GOOD not in (isolated_home / "keys.db").read_bytes().decode("latin-1")
        ref = keys.resolve_stored("kimi")
        assert ref is not None and ref.secret.reveal() == GOOD and ref.source == f"store:{k.id}"
        keys.remove_key(k.id)
        assert backend.store == {}
        # The switch forces the file even with a usable keyring.
        monkeypatch.setenv("LLM_MAGICS_NO_KEYRING", "1")
        assert keys.add_key("kimi", GOOD).storage == "file"
    finally:
        keyring.set_keyring(old)


def test_fail_keyring_means_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.delenv("LLM_MAGICS_NO_KEYRING")
    old = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert not keys.keyring_in_use()
        assert keys.add_key("kimi", GOOD).storage == "file"
    finally:
        keyring.set_keyring(old)


def test_list_mark_remove_and_errors() -> None:
    assert keys.list_keys() == [] and keys.resolve_stored("kimi") is None
    a = keys.add_key("kimi", GOOD, "a")
    b = keys.add_key("openai", STALE, "b")
    assert [k.id for k in keys.list_keys("kimi")] == [a.id]
    assert {k.id for k in keys.list_keys()} == {a.id, b.id}
    m = keys.mark(a.id, keys.VALID)
    assert m.status == keys.VALID and m.last_checked_at is not None
    with pytest.raises(ConfigurationError, match="Unknown key status"):
        keys.mark(a.id, "great")
    with pytest.raises(ConfigurationError, match=f"Did you mean '{a.id}'"):
        keys.get_key(a.id[:-1])
    with pytest.raises(ConfigurationError, match="Unknown provider"):
        keys.add_key("kimmi", GOOD)
    with pytest.raises(ConfigurationError, match="empty"):
        keys.add_key("kimi", "  ")
    with pytest.raises(ConfigurationError, match="spaces"):
        keys.add_key("kimi", "sk-abc def-0000000000")
    assert keys.remove_key(a.id).id == a.id
    assert [k.id for k in keys.list_keys()] == [b.id]


def test_resolution_order_explicit_env_store(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = keys.add_key("kimi", GOOD)
    p = get_provider("kimi")
    assert p.key is not None and p.key.source == f"store:{stored.id}" and p.key.key_id == stored.id
    monkeypatch.setenv("KIMI_API_KEY", STALE)
    assert get_provider("kimi").key.source == "env:KIMI_API_KEY"  # type: ignore[union-attr]
    assert get_provider("kimi", api_key=CHINA).key.source == "explicit"  # type: ignore[union-attr]


def test_stale_invalid_key_plus_newer_valid_key(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    fake_server.valid_keys = {GOOD}
    stale = keys.add_key("kimi", STALE, "old laptop")
    keys.mark(stale.id, keys.INVALID)
    good = keys.add_key("kimi", GOOD, "current")
    p = get_provider("kimi")
    answer = run_sync(p.complete(MSG, model="kimi-k2-0905-preview"))
    run_sync(p.aclose())
    assert "hello there" in answer.text
    assert _auth(fake_server.requests[-1]) == f"Bearer {GOOD}"
    assert p.key is not None and p.key.key_id == good.id
    err = capsys.readouterr().err
    # The newest key is valid, so the stale one is never reached: no notice.
    assert stale.masked not in err


def test_newest_key_stale_401_marks_it_and_next_call_uses_older(
    fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    fake_server.valid_keys = {GOOD}
    good = keys.add_key("kimi", GOOD, "current")
    stale = keys.add_key("kimi", STALE, "revoked one")  # newer, but revoked server-side
    p = get_provider("kimi")
    assert p.key is not None and p.key.key_id == stale.id
    with pytest.raises(AuthenticationError):
        run_sync(p.complete(MSG, model="kimi-k2-0905-preview"))
    run_sync(p.aclose())
    assert keys.get_key(stale.id).status == keys.INVALID
    assert capsys.readouterr().err == ""

    p2 = get_provider("kimi")
    answer = run_sync(p2.complete(MSG, model="kimi-k2-0905-preview"))
    run_sync(p2.aclose())
    assert "hello there" in answer.text and p2.key is not None and p2.key.key_id == good.id
    assert _auth(fake_server.requests[-1]) == f"Bearer {GOOD}"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'revoked one'" in err[0] and stale.masked in err[0] and stale.id in err[0]
    assert STALE not in err[0]
    # Once per key: the next resolution is silent.
    get_provider("kimi")
    assert capsys.readouterr().err == ""


def test_check_valid_invalid_unreachable(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("LLM_MAGICS_KIMI_REGIONS", fake_server.base_url)
    fake_server.valid_keys = {GOOD}
    ok = check_secret("kimi", GOOD)
    assert ok.status == "valid" and not ok.other_region and "kimi-k2-0905-preview" in ok.model_ids
    bad = check_secret("kimi", STALE)
    assert bad.status == "invalid" and "rejected" in bad.message and STALE not in bad.message
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    down = check_secret("kimi", GOOD, base_url=f"http://127.0.0.1:{port}/v1")
    assert down.status == "unchecked" and "could not reach" in down.message


def test_other_region_diagnosis_and_region_aware_resolution(
    fake_server: FakeLLMServer, other_region: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("LLM_MAGICS_KIMI_REGIONS", f"{fake_server.base_url},{other_region.base_url}")
    fake_server.valid_keys = {GOOD}
    other_region.valid_keys = {CHINA}
    res = check_secret("kimi", CHINA)
    assert res.status == "valid" and res.other_region and res.working_url == other_region.base_url
    assert f"set KIMI_BASE_URL={other_region.base_url}" in res.message
    assert "other Kimi region" in res.message

    k = keys.add_key("kimi", CHINA, "cn", status=res.status, verified_url=res.working_url)
    # Pointed at the wrong region, the key is skipped (it would only earn a 401), with the fix.
    assert keys.resolve_stored("kimi") is None
    err = capsys.readouterr().err
    assert f"KIMI_BASE_URL={other_region.base_url}" in err and k.masked in err
    monkeypatch.setenv("KIMI_BASE_URL", other_region.base_url)
    ref = keys.resolve_stored("kimi")
    assert ref is not None and ref.key_id == k.id

    # test_key records the verdict on the stored key.
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    wrong = keys.add_key("kimi", STALE, "typo")
    assert keys.test_key(wrong.id).status == "invalid"
    assert keys.get_key(wrong.id).status == keys.INVALID
