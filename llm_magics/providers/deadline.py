"""Bounded waits for one call: an overall deadline, and a limit on time without progress.

httpx's read timeout bounds each single read, but a server that sends an SSE comment every few
seconds forever never trips it, and retries multiply it (issue 12, item 4). A `Watchdog` adds two
clocks to a call, started when the call is first admitted by the rate-limit scheduler (queueing
for the rate limit is not the server's fault):

- ``deadline``: the whole call, retries and the full stream included;
- ``idle``: the longest time without progress once the stream is open. Progress is a data event;
  keep-alive comments are not progress.

One timer per call (re-armed lazily, not per chunk). When a limit passes while the task waits in
one of our own awaits (`guard`), the task is cancelled and the cancellation comes back as
`Expired`; if it passes while the caller's code runs (between two chunks), `check` raises it at
the next read, so the caller is never interrupted in its own code.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["Watchdog", "Expired"]

T = TypeVar("T")


class Expired(Exception):
    """A watchdog limit passed: `kind` is "deadline" or "idle"; `limit` its length in seconds;
    `comments`: bytes did arrive meanwhile, but only keep-alive comments (not a silent stall)."""

    def __init__(self, kind: str, limit: float, comments: bool = False) -> None:
        super().__init__(f"{kind} of {limit:g} s passed")
        self.kind = kind
        self.limit = limit
        self.comments = comments


class Watchdog:
    __slots__ = ("deadline_s", "idle_s", "_loop", "_task", "_handle", "_start", "_last", "_idle_on",
                 "inside", "fired", "_ours", "noise")

    def __init__(self, deadline_s: float | None, idle_s: float | None) -> None:
        self.deadline_s = deadline_s if deadline_s and deadline_s > 0 else None
        self.idle_s = idle_s if idle_s and idle_s > 0 else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._start = 0.0
        self._last = 0.0
        self._idle_on = False
        #: True while the task awaits inside `guard` / a guarded read (only then may it be cancelled).
        self.inside = False
        self.fired: Expired | None = None
        self._ours = False
        #: Bytes arrived since the last progress (comments, partial lines), set by the reader.
        self.noise = False

    @property
    def started(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        """Start the deadline clock (first admission of the call); later calls do nothing."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._start = self._last = self._loop.time()
        self._arm()

    def watch_idle(self) -> None:
        """From now on, time without `progress()` counts (the stream is open)."""
        if self._loop is None:
            self.start()
        self._idle_on = True
        self.progress()
        self.stop()
        self._arm()  # the idle limit may be due before the deadline the timer was set for

    def progress(self) -> None:
        self.noise = False
        if self._loop is not None:
            self._last = self._loop.time()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _due(self) -> float:
        due = self._start + self.deadline_s if self.deadline_s else math.inf
        if self._idle_on and self.idle_s:
            due = min(due, self._last + self.idle_s)
        return due

    def _arm(self) -> None:
        due = self._due()
        if due < math.inf and self._loop is not None:
            self._handle = self._loop.call_at(due, self._fire)

    def _fire(self) -> None:
        self._handle = None
        if self.fired is not None or self._loop is None:
            return
        now = self._loop.time()
        if self.deadline_s and now >= self._start + self.deadline_s:
            self.fired = Expired("deadline", self.deadline_s)
        elif self._idle_on and self.idle_s and now >= self._last + self.idle_s:
            self.fired = Expired("idle", self.idle_s, comments=self.noise)
        else:
            self._arm()  # progress moved the idle clock on: look again when it is due
            return
        task = self._task
        if self.inside and task is not None and not task.done():
            self._ours = True
            task.cancel()

    def check(self) -> None:
        """Raise `Expired` if a limit passed while the caller had control."""
        if self.fired is not None:
            raise self.fired

    def owns(self, exc: asyncio.CancelledError) -> bool:
        """Whether this cancellation is ours (then it must become `Expired`); a user's Ctrl-C is not."""
        if not self._ours:
            return False
        self._ours = False
        task = self._task
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+
        if uncancel is not None and uncancel() > 0:
            return False  # cancelled by someone else as well: let that through
        return True

    async def guard(self, aw: Awaitable[T]) -> T:
        """Await `aw`; a limit passing meanwhile raises `Expired` instead of waiting on."""
        if self.fired is not None:
            close = getattr(aw, "close", None)
            if close is not None:
                close()  # never started: no "coroutine was never awaited" warning
            raise self.fired
        self.inside = True
        try:
            return await aw
        except asyncio.CancelledError as exc:
            if self.owns(exc) and self.fired is not None:
                raise self.fired from None
            raise
        finally:
            self.inside = False
