"""Every run (discussion, workflow, compare) in one SQLite file: `LLM_MAGICS_HOME/history.db`.

WAL mode and a busy timeout let several kernels write at once without losing a run; each write is
one short transaction on its own connection. A run is saved when it starts, as it progresses and
when it ends, so an interrupted or crashed run still leaves its partial transcript. Stored data is
the run's own `to_dict()`; API keys are never part of it.

Writes go through a background thread (`history.writer`): `save_later` queues a snapshot and
returns, `save` also waits for it. Each row records its writer process (`owner`); a run left
"running" by a process that is gone reads back as "crashed". The file is private (0600) and a
damaged one is reported in one line and left alone (`history.files`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_magics.errors import ConfigurationError
from llm_magics.history.files import damaged, ensure_private, owner_alive, owner_token, tighten
from llm_magics.history.writer import RunWriter, Snapshot

__all__ = ["History", "RunRecord", "default_history", "new_run_id", "KINDS"]

#: kind → "module:Class" with a `from_dict(data)` classmethod (used by show/export).
KINDS: dict[str, str] = {
    "discussion": "llm_magics.discussion.api:Transcript",
    "workflow": "llm_magics.workflow.api:WorkflowRun",
    "compare": "llm_magics.comparison.api:Comparison",
    "eval": "llm_magics.evaluation.result:EvalResult",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'running',
    provider TEXT,
    model TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    owner TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at DESC);
CREATE INDEX IF NOT EXISTS runs_kind ON runs(kind, created_at DESC);
"""

#: Columns in the order `_record` reads them (`owner` was added later: older files get it by ALTER).
_COLUMNS = "id, kind, title, status, provider, model, created_at, updated_at, data, owner"


def new_run_id() -> str:
    """Short, sortable-enough, unique: 'r' + 12 hex digits."""
    return "r" + uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class RunRecord:
    id: str
    kind: str
    title: str
    status: str
    provider: str | None
    model: str | None
    created_at: float
    updated_at: float
    data: dict[str, Any]

    def load(self) -> Any:
        """The run as its own type (Transcript, WorkflowRun, Comparison) via `from_dict`."""
        import importlib

        target = KINDS.get(self.kind)
        if target is None:
            raise ConfigurationError(f"Run {self.id} has unknown kind '{self.kind}'.")
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr).from_dict(self.data)


class History:
    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            from llm_magics.config import home

            path = home() / "history.db"
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_lock = threading.Lock()
        self._ready = False
        self._writer = RunWriter(self._write)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection to the (private) file; SQLite errors become one ConfigurationError line."""
        ensure_private(self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise damaged(self.path, exc) from None
        try:
            try:
                conn.execute("PRAGMA busy_timeout = 30000")
                if not self._ready:
                    with self._init_lock:
                        if not self._ready:
                            conn.execute("PRAGMA journal_mode = WAL")
                            conn.executescript(_SCHEMA)
                            _add_owner_column(conn)
                            tighten(self.path)
                            self._ready = True
            except sqlite3.Error as exc:
                raise damaged(self.path, exc) from None
            yield conn
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise
            raise damaged(self.path, exc) from None
        finally:
            conn.close()

    def save(
        self,
        run_id: str,
        kind: str,
        data: dict[str, Any],
        *,
        title: str = "",
        status: str = "running",
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        """Insert or update one run (created_at is kept from the first save) and wait until it is written."""
        self.save_later(run_id, kind, data, title=title, status=status, provider=provider, model=model)
        self._writer.flush(run_id)

    def save_later(
        self,
        run_id: str,
        kind: str,
        data: dict[str, Any],
        *,
        title: str = "",
        status: str = "running",
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        """Queue a snapshot of the run for the writer thread and return at once (checkpoints).

        The data is serialised here, so the caller may go on changing it. A failed earlier write of
        this run is raised here (or by `flush`).
        """
        payload = json.dumps(data, ensure_ascii=False, default=str)
        if not payload.isascii():
            try:
                payload.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: JSON escapes keep it, and SQLite can store it
                payload = json.dumps(data, ensure_ascii=True, default=str)
        self._writer.submit(Snapshot(run_id, kind, title[:500], status, provider, model, payload))

    def flush(self, run_id: str | None = None, timeout: float | None = None) -> None:
        """Wait until the queued snapshots of `run_id` (or of every run) are written."""
        self._writer.flush(run_id, timeout)

    def _write(self, snap: Snapshot) -> None:
        now = time.time()
        owner = owner_token() if snap.status == "running" else None
        with self._connect() as conn:
            # BEGIN IMMEDIATE takes the write lock up front, so a busy database waits (busy_timeout)
            # instead of failing with SQLITE_BUSY_SNAPSHOT when another kernel wrote meanwhile.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                """INSERT INTO runs (id, kind, title, status, provider, model, created_at, updated_at, data, owner)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET title=excluded.title, status=excluded.status,
                     provider=excluded.provider, model=excluded.model,
                     updated_at=excluded.updated_at, data=excluded.data, owner=excluded.owner""",
                (snap.run_id, snap.kind, snap.title, snap.status, snap.provider, snap.model, now, now,
                 snap.payload, owner),
            )
            conn.execute("COMMIT")

    def get(self, run_id: str) -> RunRecord:
        with self._connect() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                recent = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY created_at DESC LIMIT 50")]
        if row is None:
            from llm_magics.providers.suggest import did_you_mean

            hint = did_you_mean(run_id, recent) or "List runs with `%llm history`."
            raise ConfigurationError(f"No run '{run_id}' in {self.path}.", hint=hint)
        return _record(row)

    def list(self, n: int = 20, *, kind: str | None = None, search: str | None = None) -> list[RunRecord]:
        """Newest first; `search` matches title and stored text (case-insensitive)."""
        sql = f"SELECT {_COLUMNS} FROM runs"
        where: list[str] = []
        args: list[Any] = []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if search:
            where.append("(title LIKE ? OR data LIKE ?)")
            args += [f"%{search}%", f"%{search}%"]
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        args.append(int(n))
        with self._connect() as conn:
            return [_record(r) for r in conn.execute(sql, args)]

    def delete(self, run_id: str) -> bool:
        with self._connect() as conn:
            return conn.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def _add_owner_column(conn: sqlite3.Connection) -> None:
    """Files written before `owner` existed get the column (another kernel may add it first)."""
    if any(col[1] == "owner" for col in conn.execute("PRAGMA table_info(runs)")):
        return
    try:
        conn.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):
            raise


def _record(row: tuple[Any, ...]) -> RunRecord:
    rid, kind, title, status, provider, model, created, updated, data, owner = row
    try:
        payload = json.loads(data)
    except ValueError:
        payload = {"error": f"stored data is not valid JSON: {data[:200]!r}"}
    if status == "running" and not owner_alive(owner):
        # The process writing it died (kernel killed, OOM, crash): what is stored is all there is.
        status = "crashed"
        if isinstance(payload, dict) and payload.get("status") == "running":
            payload = {**payload, "status": "crashed"}
    return RunRecord(rid, kind, title, status, provider, model, created, updated, payload)


_default: dict[Path, History] = {}


def default_history() -> History:
    """The History at LLM_MAGICS_HOME (re-resolved each call, so tests may switch homes)."""
    from llm_magics.config import home

    path = home() / "history.db"
    hist = _default.get(path)
    if hist is None:
        hist = _default[path] = History(path)
    return hist
