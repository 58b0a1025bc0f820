"""Per-call rows of an evaluation, in the history DB next to the runs table.

An eval of 200 items × 3 models × 3 repeats is 1,800 calls; rewriting the run's whole JSON after
each one would be quadratic. Each call is one row in `eval_calls` instead, keyed by
(run, target, item, repeat), written as it lands by one writer thread: when calls arrive slowly
each is committed on its own, when they arrive fast the thread commits whatever queued up in one
transaction, so the event loop never waits for the disk and a killed process loses at most the
calls of the transaction in progress. The writer's connection uses ``synchronous=NORMAL``: in WAL
mode a committed transaction survives a process crash (only a power cut can drop the last ones).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["CallRow", "CallLog", "CallWriter"]

#: (target, item, repeat, data)
CallRow = tuple[str, int, int, dict[str, Any]]

_SCHEMA = """CREATE TABLE IF NOT EXISTS eval_calls (
    run_id TEXT NOT NULL,
    target TEXT NOT NULL,
    item INTEGER NOT NULL,
    rep INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, target, item, rep)
)"""


class CallLog:
    """Read and write the call rows of runs stored in one history file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    def open(self) -> sqlite3.Connection:
        """A configured connection; the table is created on first use. The caller closes it."""
        from llm_magics.history.files import ensure_private

        ensure_private(self.path)  # the same private (0600) file as the runs table's
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA synchronous = NORMAL")
            if not self._ready:
                with self._lock:
                    if not self._ready:
                        try:  # WAL is a property of the file: the runs table's store normally set it already
                            conn.execute("PRAGMA journal_mode = WAL")
                        except sqlite3.OperationalError:
                            pass
                        conn.execute(_SCHEMA)
                        self._ready = True
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = self.open()
        try:
            yield conn
        finally:
            conn.close()

    def write(self, run_id: str, rows: Iterable[CallRow], conn: sqlite3.Connection | None = None) -> int:
        """Insert or replace rows in one transaction; returns how many."""
        payload = [(run_id, t, int(i), int(r), json.dumps(d, ensure_ascii=False, default=str)) for t, i, r, d in rows]
        if not payload:
            return 0
        if conn is None:
            with self.connect() as own:
                return self._write(own, payload)
        return self._write(conn, payload)

    @staticmethod
    def _write(conn: sqlite3.Connection, payload: list[tuple[str, str, int, int, str]]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO eval_calls (run_id, target, item, rep, data) VALUES (?, ?, ?, ?, ?)", payload)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return len(payload)

    def read(self, run_id: str) -> list[CallRow]:
        """Every stored call of a run, in (target, item, repeat) order."""
        with self.connect() as conn:
            cur = conn.execute("SELECT target, item, rep, data FROM eval_calls WHERE run_id = ? ORDER BY target, item, rep", (run_id,))
            return [(t, int(i), int(r), json.loads(d)) for t, i, r, d in cur]

    def count(self, run_id: str) -> int:
        with self.connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM eval_calls WHERE run_id = ?", (run_id,)).fetchone()[0])

    def delete(self, run_id: str) -> int:
        with self.connect() as conn:
            return int(conn.execute("DELETE FROM eval_calls WHERE run_id = ?", (run_id,)).rowcount)


class CallWriter:
    """A daemon thread that commits queued call rows; `put` never blocks the caller on the disk.

    `put` appends to a list and wakes the thread only when the list was empty, so a burst of calls
    costs one wake-up and one transaction, not one per call. `close()` writes everything still
    queued and stops the thread. A write that fails (disk full, locked for longer than the busy
    timeout) is kept in `errors` and its rows stay queued for the next round; `close()` tries
    them a few more times.
    """

    def __init__(self, log: CallLog, run_id: str) -> None:
        self.log = log
        self.run_id = run_id
        self.written = 0
        self.errors: list[str] = []
        self._rows: list[CallRow] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name=f"llm-magics-eval-writer-{run_id}", daemon=True)
        self._thread.start()

    def put(self, row: CallRow) -> None:
        with self._lock:
            self._rows.append(row)
            first = len(self._rows) == 1
        if first:
            self._wake.set()

    def _take(self) -> tuple[list[CallRow], bool]:
        self._wake.wait()
        with self._lock:
            self._wake.clear()
            rows, self._rows = self._rows, []
            return rows, self._stop

    def _loop(self) -> None:
        pending: list[CallRow] = []
        conn: sqlite3.Connection | None = None
        try:
            while True:
                batch, stop = self._take()
                pending += batch
                # A failed write keeps its rows for the next round; at the end, a few more tries.
                for attempt in range(4 if stop else 1):
                    if not pending:
                        break
                    try:
                        if conn is None:
                            conn = self.log.open()
                        self.written += self.log.write(self.run_id, pending, conn)
                        pending = []
                    except sqlite3.Error as exc:
                        self.errors.append(str(exc))
                        if conn is not None:
                            conn.close()
                            conn = None
                        if stop:
                            time.sleep(0.2 * (attempt + 1))
                if stop:
                    return
        finally:
            if conn is not None:
                conn.close()

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush what is queued and stop (idempotent)."""
        if self._thread.is_alive():
            with self._lock:
                self._stop = True
            self._wake.set()
            self._thread.join(timeout)
