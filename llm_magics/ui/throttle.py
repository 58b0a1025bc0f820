"""Rate-limit display updates: at most N renders per second per pane, the last state never lost.

A stream may deliver thousands of chunks a second; sending a widget update for each would flood
the kernel's iopub channel and the browser. `Throttle` renders at once when the pane has been
quiet long enough, otherwise marks it dirty and (given a scheduler) arranges one deferred render
at the end of the interval. `flush()` is the guaranteed final update. Pure Python (no ipywidgets)
with an injectable clock and scheduler, so it is unit-tested without time passing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Throttle", "Scheduler", "DEFAULT_RATE"]

#: Renders per second per pane (the architecture's ceiling).
DEFAULT_RATE = 20.0

#: schedule(delay_s, callback) → anything; runs `callback` once after about `delay_s` seconds.
Scheduler = Callable[[float, Callable[[], None]], Any]


class Throttle:
    """Calls `render()` at most `rate` times in any one second; `poke()` says the state changed.

    Thread-safe: pokes and scheduled renders may come from different threads, and a render
    always reads the state current at render time, so the newest state wins.
    """

    def __init__(
        self,
        render: Callable[[], None],
        *,
        rate: float = DEFAULT_RATE,
        clock: Callable[[], float] = time.monotonic,
        schedule: Scheduler | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._render = render
        # One update per second is kept in reserve for the final flush (which ignores the
        # interval), so no one-second window ever holds more than `rate` updates.
        self.interval = 1.0 / (rate - 1) if rate > 2 else 1.0 / rate
        self._clock = clock
        self._schedule = schedule
        self._lock = threading.RLock()
        self._last: float | None = None  # clock time of the last render
        self._dirty = False
        self._scheduled = False
        self.renders = 0  # how many renders happened (for tests and the benchmark)
        self.closed = False

    @property
    def pending(self) -> bool:
        """True when the state changed since the last render."""
        return self._dirty

    def poke(self) -> None:
        """The state changed: render now if allowed, else once the interval has passed."""
        with self._lock:
            if self.closed:
                return
            self._dirty = True
            now = self._clock()
            wait = 0.0 if self._last is None else self._last + self.interval - now
            if wait <= 0 and not self._scheduled:
                self._do_render(now)
            elif not self._scheduled and self._schedule is not None:
                self._scheduled = True
                self._schedule(max(wait, 0.0), self._fire)

    def _fire(self) -> None:
        with self._lock:
            self._scheduled = False
            if not self._dirty or self.closed:
                return
            now = self._clock()
            early = 0.0 if self._last is None else self._last + self.interval - now
            if early > 0 and self._schedule is not None:  # timers may fire a hair early
                self._scheduled = True
                self._schedule(early, self._fire)
                return
            self._do_render(now)

    def flush(self, *, close: bool = False) -> None:
        """The guaranteed final update: render now if anything changed since the last render."""
        with self._lock:
            if self._dirty:
                self._do_render(self._clock())
            if close:
                self.closed = True

    def force(self) -> None:
        """Render now regardless of the rate (e.g. a status change that must show at once)."""
        with self._lock:
            self._dirty = True
            self._do_render(self._clock())

    def _do_render(self, now: float) -> None:
        self._dirty = False
        self._last = now
        self.renders += 1
        self._render()
