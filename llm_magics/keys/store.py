"""The key store: many API keys per provider, with status, so a stale key never silently wins.

Metadata (id, provider, label, created_at, last_checked_at, status, masked form) lives in
`LLM_MAGICS_HOME/keys.db`, an SQLite file created with mode 0600. The secret itself goes to the OS
keyring (the `keyring` package) when a real backend is usable, else into the same 0600 file;
`LLM_MAGICS_NO_KEYRING=1` forces the file. Resolution (`resolve_stored`) returns the newest key not
marked invalid and prints a one-line notice, once per key, for every invalid key it skips. A 401
anywhere calls the returned `KeyRef.on_invalid`, which marks that key invalid.

Secrets only leave this module inside a `Secret`; nothing here logs, prints or reprs one.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm_magics.errors import ConfigurationError
from llm_magics.providers.base import KeyRef, Secret, mask_key

if TYPE_CHECKING:
    import sqlite3

    from llm_magics.keys.check import KeyCheck

__all__ = [
    "StoredKey",
    "VALID",
    "INVALID",
    "UNCHECKED",
    "STATUSES",
    "add_key",
    "list_keys",
    "get_key",
    "remove_key",
    "mark",
    "resolve_stored",
    "wrong_region",
    "quiet_notices",
    "secret_for",
    "test_key",
    "keyring_in_use",
    "db_path",
    "format_age",
]

VALID, INVALID, UNCHECKED = "valid", "invalid", "unchecked"
STATUSES = (VALID, INVALID, UNCHECKED)

_KEYRING_SERVICE = "llm-magics"
_FILE, _KEYRING = "file", "keyring"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    last_checked_at REAL,
    status TEXT NOT NULL DEFAULT 'unchecked',
    masked TEXT NOT NULL,
    storage TEXT NOT NULL,
    secret TEXT,
    note TEXT NOT NULL DEFAULT '',
    verified_url TEXT
);
CREATE INDEX IF NOT EXISTS keys_provider ON keys(provider, created_at DESC);
"""

#: Keys already reported as skipped in this process (one notice per key, not per call).
_warned: set[str] = set()
#: > 0 while llm-magics resolves keys for its own checks (their notices would only be noise).
_quiet = 0


@dataclass(frozen=True)
class StoredKey:
    """One stored key's metadata; it holds only the masked form, never the secret."""

    id: str
    provider: str
    label: str
    created_at: float
    last_checked_at: float | None
    status: str
    masked: str
    storage: str
    note: str = ""
    #: The base URL that last accepted the key (a Kimi key works in one region only).
    verified_url: str | None = None

    def __repr__(self) -> str:
        label = f" label={self.label!r}" if self.label else ""
        return f"<StoredKey {self.id} {self.provider}{label} key={self.masked} status={self.status}>"

    __str__ = __repr__

    def describe(self) -> str:
        """`'work' (sk-…abcd, id k1a2b3)` — how messages name a key."""
        label = f"'{self.label}' " if self.label else ""
        return f"{label}({self.masked}, id {self.id})"


def format_age(ts: float | None, now: float | None = None) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 d ago`; `never` for None."""
    if ts is None:
        return "never"
    secs = max(0.0, (now if now is not None else time.time()) - ts)
    if secs < 60:
        return "just now"
    if secs < 3600:
        return f"{int(secs // 60)} min ago"
    if secs < 86400:
        return f"{int(secs // 3600)} h ago"
    return f"{int(secs // 86400)} d ago"


# ---------------------------------------------------------------- storage


def db_path() -> Path:
    from llm_magics import config

    return config.home() / "keys.db"


def _ensure_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite opens it (never world-readable, not even briefly)."""
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    try:
        os.chmod(path, 0o600)
    except OSError:  # pragma: no cover - e.g. a filesystem without modes
        pass


@contextmanager
def _connect(create: bool = True) -> Iterator[sqlite3.Connection | None]:
    import sqlite3

    path = db_path()
    if not path.exists() and not create:
        yield None
        return
    _ensure_private(path)
    conn = sqlite3.connect(path, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        try:
            # Overwrite deleted rows so a removed secret does not linger in free pages.
            conn.execute("PRAGMA secure_delete = ON")
            conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise
            raise ConfigurationError(
                f"The key store {path} is damaged ({exc}); it was left untouched.",
                hint=f"Move it aside (e.g. rename it to {path.name}.bad), then add your keys again with "
                "`%llm keys add PROVIDER`; keys in environment variables still work meanwhile.",
            ) from None
        with conn:
            yield conn
    finally:
        conn.close()


def _row_to_key(row: Any) -> StoredKey:
    return StoredKey(
        id=row["id"],
        provider=row["provider"],
        label=row["label"] or "",
        created_at=row["created_at"],
        last_checked_at=row["last_checked_at"],
        status=row["status"],
        masked=row["masked"],
        storage=row["storage"],
        note=row["note"] or "",
        verified_url=row["verified_url"],
    )


def _keyring() -> Any | None:
    """The keyring module when a real backend is usable (not the fail/null ones), else None."""
    if os.environ.get("LLM_MAGICS_NO_KEYRING", "").strip() not in ("", "0"):
        return None
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, (fail.Keyring, null.Keyring)) or getattr(backend, "priority", 1) <= 0:
            return None
    except Exception:  # noqa: BLE001 - a broken keyring setup means "not usable"
        return None
    return keyring


def keyring_in_use() -> bool:
    """Whether new keys would go to the OS keyring (else to the 0600 keys.db file)."""
    return _keyring() is not None


def _canonical_provider(provider: str) -> str:
    from llm_magics.providers.registry import PROVIDERS

    return PROVIDERS[provider].name  # raises ConfigurationError with did-you-mean


def _new_id(conn: sqlite3.Connection) -> str:
    while True:
        kid = "k" + uuid.uuid4().hex[:6]
        if conn.execute("SELECT 1 FROM keys WHERE id = ?", (kid,)).fetchone() is None:
            return kid


# ---------------------------------------------------------------- public API


def add_key(
    provider: str,
    secret: str | Secret,
    label: str | None = None,
    *,
    status: str = UNCHECKED,
    note: str = "",
    checked_at: float | None = None,
    verified_url: str | None = None,
) -> StoredKey:
    """Store a key for `provider` (newest wins resolution). The secret goes to the keyring or the 0600 file."""
    name = _canonical_provider(provider)
    value = (secret.reveal() if isinstance(secret, Secret) else str(secret or "")).strip()
    if not value:
        raise ConfigurationError("The key is empty; nothing was stored.", hint="Paste the whole key at the prompt.")
    if any(ch.isspace() for ch in value):
        raise ConfigurationError(
            "The key contains spaces or line breaks; nothing was stored.",
            hint="Paste exactly the key, without quotes or surrounding text.",
        )
    if status not in STATUSES:
        raise ConfigurationError(f"Unknown key status '{status}'.", hint=f"Use one of {', '.join(STATUSES)}.")
    now = time.time()
    with _connect() as conn:
        assert conn is not None
        kid = _new_id(conn)
        storage: str = _FILE
        stored_secret: str | None = value
        kr = _keyring()
        if kr is not None:
            try:
                kr.set_password(_KEYRING_SERVICE, kid, value)
                storage, stored_secret = _KEYRING, None
            except Exception:  # noqa: BLE001 - locked/broken keyring: fall back to the 0600 file
                storage, stored_secret = _FILE, value
        conn.execute(
            "INSERT INTO keys (id, provider, label, created_at, last_checked_at, status, masked, storage, secret, note,"
            " verified_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kid, name, (label or "").strip(), now, checked_at, status, mask_key(value), storage, stored_secret, note,
             _norm(verified_url)),
        )
        row = conn.execute("SELECT * FROM keys WHERE id = ?", (kid,)).fetchone()
    return _row_to_key(row)


def list_keys(provider: str | None = None) -> list[StoredKey]:
    """Stored keys, newest first (all providers, or one)."""
    with _connect(create=False) as conn:
        if conn is None:
            return []
        if provider:
            rows = conn.execute(
                "SELECT * FROM keys WHERE provider = ? ORDER BY created_at DESC, rowid DESC",
                (_canonical_provider(provider),),
            ).fetchall()
        else:
            rows = conn.execute("SELECT * FROM keys ORDER BY provider, created_at DESC, rowid DESC").fetchall()
    return [_row_to_key(r) for r in rows]


def get_key(key_id: str) -> StoredKey:
    """One stored key by ID; unknown IDs raise with the closest known IDs."""
    kid = key_id.strip()
    with _connect(create=False) as conn:
        row = conn.execute("SELECT * FROM keys WHERE id = ?", (kid,)).fetchone() if conn is not None else None
    if row is None:
        known = [k.id for k in list_keys()]
        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(kid, known) or (
            f"Stored IDs: {', '.join(known)}." if known else "No keys are stored; add one with `%llm keys add PROVIDER`."
        )
        raise ConfigurationError(f"No stored key with ID '{kid}'.", hint=hint + " `%llm keys list` shows them.")
    return _row_to_key(row)


def remove_key(key_id: str) -> StoredKey:
    """Delete a key (its metadata and its secret, wherever stored); returns what was removed."""
    key = get_key(key_id)
    if key.storage == _KEYRING:
        kr = _keyring()
        if kr is not None:
            try:
                kr.delete_password(_KEYRING_SERVICE, key.id)
            except Exception:  # noqa: BLE001 - already gone from the keyring: nothing to delete
                pass
    with _connect() as conn:
        assert conn is not None
        conn.execute("DELETE FROM keys WHERE id = ?", (key.id,))
    _warned.discard(key.id)
    return key


def _norm(url: str | None) -> str | None:
    return url.rstrip("/") if url else None


def mark(
    key_id: str,
    status: str,
    *,
    note: str | None = None,
    checked_at: float | None = None,
    verified_url: str | None = None,
) -> StoredKey:
    """Set a key's status (valid / invalid / unchecked), its last-checked time and where it worked."""
    if status not in STATUSES:
        raise ConfigurationError(f"Unknown key status '{status}'.", hint=f"Use one of {', '.join(STATUSES)}.")
    key = get_key(key_id)
    when = checked_at if checked_at is not None else time.time()
    with _connect() as conn:
        assert conn is not None
        conn.execute(
            "UPDATE keys SET status = ?, last_checked_at = ?, note = ?, verified_url = ? WHERE id = ?",
            (status, when, key.note if note is None else note,
             _norm(verified_url) if verified_url else (key.verified_url if status == VALID else None), key.id),
        )
    if status != INVALID:
        _warned.discard(key.id)
    return get_key(key.id)


def _load_secret(key: StoredKey) -> Secret | None:
    if key.storage == _KEYRING:
        kr = _keyring()
        if kr is None:
            return None
        try:
            value = kr.get_password(_KEYRING_SERVICE, key.id)
        except Exception:  # noqa: BLE001 - locked keyring: treat as unavailable
            return None
        return Secret(value) if value else None
    with _connect(create=False) as conn:
        row = conn.execute("SELECT secret FROM keys WHERE id = ?", (key.id,)).fetchone() if conn else None
    return Secret(row["secret"]) if row is not None and row["secret"] else None


def secret_for(key_id: str) -> Secret:
    """The stored secret (wrapped, so it cannot print) for a key ID."""
    key = get_key(key_id)
    secret = _load_secret(key)
    if secret is None:
        raise ConfigurationError(
            f"The secret of key {key.describe()} is not readable (it was stored in the OS keyring, which is not available now).",
            hint=f"Unlock the keyring, or remove the key with `%llm keys remove {key.id}` and add it again.",
        )
    return secret


def _notice(key: StoredKey, why: str) -> None:
    """One visible line per key per session (stderr shows in a notebook cell and in a terminal)."""
    if key.id in _warned or _quiet > 0:
        return
    _warned.add(key.id)
    print(
        f"llm-magics: skipping stored {key.provider} key {key.describe()}: {why}. "
        f"Re-test it with `%llm keys test {key.id}` or delete it with `%llm keys remove {key.id}`.",
        file=sys.stderr,
    )


@contextmanager
def quiet_notices() -> Iterator[None]:
    """Suppress skipped-key notices (without using up their once-per-key budget)."""
    global _quiet
    _quiet += 1
    try:
        yield
    finally:
        _quiet -= 1


def _invalidator(key_id: str) -> Any:
    def on_invalid() -> None:
        # Called from the HTTP layer on a 401; must never raise into it.
        try:
            mark(key_id, INVALID, note="rejected by the server (401)")
        except Exception:  # noqa: BLE001
            pass

    return on_invalid


def wrong_region(key: StoredKey) -> str | None:
    """The URL a key is known to work at, when the configured URL is a different region of the same API."""
    if not key.verified_url:
        return None
    from llm_magics.keys.check import current_base_url, region_urls

    regions = region_urls(key.provider)
    current = current_base_url(key.provider)
    if key.verified_url in regions and current in regions and current != key.verified_url:
        return key.verified_url
    return None


def resolve_stored(provider: str) -> KeyRef | None:
    """The newest stored key for `provider` not marked invalid (skipped ones get a one-line notice).

    A key verified in one region is also skipped while the base URL points at another region
    (it would only earn a 401 and be marked invalid); the notice says which base URL to set.
    """
    if not db_path().exists():
        return None
    for key in list_keys(provider):
        other = wrong_region(key)
        if other:
            from llm_magics.keys.check import base_url_var

            _notice(key, f"it works only at {other}; set {base_url_var(key.provider)}={other} to use it")
            continue
        if key.status == INVALID:
            checked = format_age(key.last_checked_at)
            _notice(key, f"marked invalid {checked}" + (f": {key.note}" if key.note else ""))
            continue
        secret = _load_secret(key)
        if secret is None:
            _notice(key, "its secret is not readable (OS keyring unavailable)")
            continue
        return KeyRef(
            secret=secret,
            source=f"store:{key.id}",
            key_id=key.id,
            label=key.label or None,
            on_invalid=_invalidator(key.id),
        )
    return None


def test_key(key_id: str, *, base_url: str | None = None) -> KeyCheck:
    """Check a stored key now (`GET /v1/models`, other regions on a 401) and record the result."""
    from llm_magics.keys.check import check_secret

    key = get_key(key_id)
    result = check_secret(key.provider, secret_for(key.id), base_url=base_url)
    if result.status != UNCHECKED:
        mark(key.id, result.status, note=result.note, verified_url=result.working_url)
    return result


test_key.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name
