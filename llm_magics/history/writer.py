"""Run snapshots written by a background thread, so the event loop never waits for the disk.

A streaming run checkpoints often (`Checkpointer`: every 2 s or 2 KB of new text); writing each
checkpoint on the event loop would stall every stream while SQLite syncs or waits for another
kernel's lock. Instead the caller serialises the snapshot (cheap, consistent: it owns the data)
and hands it to `RunWriter`, whose daemon thread writes it. Only the newest snapshot of a run is
kept while one is pending, so a slow disk means fewer writes, never a backlog. `flush(run_id)`
waits until the run's latest snapshot is on disk and re-raises a failed write; a run's final
save uses it. The thread stops when idle and is started again on the next snapshot.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Snapshot", "RunWriter", "Checkpointer", "CHECKPOINT_S", "CHECKPOINT_BYTES"]

#: A streaming run reaches the history at least this often (seconds of streaming) ...
CHECKPOINT_S = 2.0
#: ... or after this many bytes of new text, whichever comes first.
CHECKPOINT_BYTES = 2048

_IDLE_S = 5.0


class Snapshot(NamedTuple):
    run_id: str
    kind: str
    title: str
    status: str
    provider: str | None
    model: str | None
    payload: str  # the run's to_dict() as JSON


class RunWriter:
    """One daemon thread writing the newest snapshot of each run with `write`."""

    def __init__(self, write: Callable[[Snapshot], None]) -> None:
        self._write = write
        self._cond = threading.Condition()
        self._pending: dict[str, Snapshot] = {}
        self._busy: str | None = None
        self._errors: dict[str, BaseException] = {}
        self._thread: threading.Thread | None = None
        _WRITERS.add(self)

    def submit(self, snap: Snapshot) -> None:
        """Queue `snap` (replacing an older pending one of the same run); raises an earlier failed write of it."""
        with self._cond:
            error = self._errors.pop(snap.run_id, None)
            self._pending.pop(snap.run_id, None)
            self._pending[snap.run_id] = snap
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="llm-magics-history", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        if error is not None:
            raise error

    def flush(self, run_id: str | None = None, timeout: float | None = None) -> None:
        """Wait until `run_id`'s (or every) pending snapshot is written; re-raise its failed write."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._waiting_on(run_id):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"history writes still pending after {timeout} s")
                self._cond.wait(left)
            error = self._errors.pop(run_id, None) if run_id is not None else None
        if error is not None:
            raise error

    def _waiting_on(self, run_id: str | None) -> bool:
        if run_id is None:
            return bool(self._pending) or self._busy is not None
        return run_id in self._pending or self._busy == run_id

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    self._cond.wait(_IDLE_S)
                    if not self._pending:
                        self._thread = None
                        return
                run_id = next(iter(self._pending))
                snap = self._pending.pop(run_id)
                self._busy = run_id
            try:
                self._write(snap)
            except BaseException as exc:  # noqa: BLE001 - reported to the run's next submit/flush
                with self._cond:
                    self._errors[run_id] = exc
            finally:
                with self._cond:
                    self._busy = None
                    self._cond.notify_all()


_WRITERS: weakref.WeakSet[RunWriter] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """At interpreter exit, give pending checkpoints a moment to reach the disk."""
    for writer in list(_WRITERS):
        try:
            writer.flush(timeout=5.0)
        except BaseException:  # noqa: BLE001, S110 - exiting anyway
            pass


class Checkpointer:
    """Decides when a streaming run is saved: `CHECKPOINT_BYTES` of new text or `CHECKPOINT_S` seconds.

    Call `note(n)` on the event loop for every chunk (a counter and a clock read: cheap enough for
    the hot path). When text is waiting and no chunk comes to trigger it, a timer on the running
    loop saves it once the interval is over, so streamed text is never more than ~2 s or 2 KB
    behind in the history. `save` (the run's snapshot-and-submit) runs on the loop; it may return
    False for "not now" (e.g. the run throttles its snapshots): the text stays due and is saved
    by the next chunk or a short retry timer.
    """

    def __init__(
        self,
        save: Callable[[], bool | None],
        *,
        every_s: float = CHECKPOINT_S,
        every_bytes: int = CHECKPOINT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._save = save
        self.every_s = every_s
        self.every_bytes = every_bytes
        self._clock = clock
        self._last = clock()
        self._bytes = 0
        self._timer: Any = None
        self.count = 0

    def note(self, nbytes: int) -> None:
        """`nbytes` of new text arrived (UTF-8 size is not needed: characters are close enough)."""
        self._bytes += nbytes
        if self._bytes >= self.every_bytes or self._clock() - self._last >= self.every_s:
            self.fire()
        elif self._timer is None and self._bytes:
            self._arm(self.every_s - (self._clock() - self._last))

    def _arm(self, delay: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._timer = loop.call_later(max(0.0, delay), self.fire)

    def fire(self) -> None:
        """Save now (if anything is new) and start a new interval."""
        self.cancel()
        if not self._bytes:
            self._last = self._clock()
            return
        if self._save() is False:  # not now: stays due; retried by the next chunk or shortly
            self._arm(min(self.every_s, 0.25))
            return
        self._last = self._clock()
        self._bytes = 0
        self.count += 1

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
