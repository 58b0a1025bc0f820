"""Every run (discussion, workflow, compare) in one SQLite file: `LLM_MAGICS_HOME/history.db`.

WAL mode and a busy timeout let several kernels write at once without losing a run; each write is
one short transaction on its own connection. A run is saved when it starts, as it progresses and
when it ends, so an interrupted or crashed run still leaves its partial transcript. Stored data is
the run's own `to_dict()`; API keys are never part of it.
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
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at DESC);
CREATE INDEX IF NOT EXISTS runs_kind ON runs(kind, created_at DESC);
"""


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

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            if not self._ready:
                with self._init_lock:
                    if not self._ready:
                        conn.execute("PRAGMA journal_mode = WAL")
                        conn.executescript(_SCHEMA)
                        self._ready = True
            yield conn
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
        """Insert or update one run (created_at is kept from the first save)."""
        now = time.time()
        payload = json.dumps(data, ensure_ascii=False, default=str)
        with self._connect() as conn:
            # BEGIN IMMEDIATE takes the write lock up front, so a busy database waits (busy_timeout)
            # instead of failing with SQLITE_BUSY_SNAPSHOT when another kernel wrote meanwhile.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                """INSERT INTO runs (id, kind, title, status, provider, model, created_at, updated_at, data)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET title=excluded.title, status=excluded.status,
                     provider=excluded.provider, model=excluded.model,
                     updated_at=excluded.updated_at, data=excluded.data""",
                (run_id, kind, title[:500], status, provider, model, now, now, payload),
            )
            conn.execute("COMMIT")

    def get(self, run_id: str) -> RunRecord:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                recent = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY created_at DESC LIMIT 50")]
        if row is None:
            from llm_magics.providers.suggest import did_you_mean

            hint = did_you_mean(run_id, recent) or "List runs with `%llm history`."
            raise ConfigurationError(f"No run '{run_id}' in {self.path}.", hint=hint)
        return _record(row)

    def list(self, n: int = 20, *, kind: str | None = None, search: str | None = None) -> list[RunRecord]:
        """Newest first; `search` matches title and stored text (case-insensitive)."""
        sql = "SELECT * FROM runs"
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


def _record(row: tuple[Any, ...]) -> RunRecord:
    rid, kind, title, status, provider, model, created, updated, data = row
    return RunRecord(rid, kind, title, status, provider, model, created, updated, json.loads(data))


_default: dict[Path, History] = {}


def default_history() -> History:
    """The History at LLM_MAGICS_HOME (re-resolved each call, so tests may switch homes)."""
    from llm_magics.config import home

    path = home() / "history.db"
    hist = _default.get(path)
    if hist is None:
        hist = _default[path] = History(path)
    return hist
