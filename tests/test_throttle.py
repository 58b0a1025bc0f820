"""Throttle: ≤ rate renders per second, and the last state is always rendered (fake clock)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llm_magics.ui.throttle import Throttle


class FakeTime:
    """A clock plus a scheduler whose callbacks run when the clock passes their due time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, Callable[[], None]]] = []

    def clock(self) -> float:
        return self.now

    def schedule(self, delay: float, cb: Callable[[], None]) -> None:
        self.timers.append((self.now + delay, cb))

    def advance(self, dt: float) -> None:
        self.now += dt
        due = [t for t in self.timers if t[0] <= self.now + 1e-12]
        self.timers = [t for t in self.timers if t[0] > self.now + 1e-12]
        for _, cb in sorted(due, key=lambda t: t[0]):
            cb()


def make(ft: FakeTime, state: list[str], seen: list[str], *, scheduler: bool = True) -> Throttle:
    return Throttle(lambda: seen.append("".join(state)), rate=20, clock=ft.clock,
                    schedule=ft.schedule if scheduler else None)


def test_many_pokes_render_at_most_rate_per_second_and_end_on_the_last_state() -> None:
    ft, state, seen = FakeTime(), [], []
    stamps: list[float] = []
    th = Throttle(lambda: (seen.append("".join(state)), stamps.append(ft.now)), rate=20, clock=ft.clock, schedule=ft.schedule)
    for i in range(2000):  # 2,000 chunks over 2 s of fake time
        state.append(f"{i},")
        th.poke()
        ft.advance(0.001)
    state.append("end")
    th.poke()
    th.flush(close=True)  # the final update, right after a regular one
    assert seen[-1] == "".join(state)
    assert not th.pending
    assert th.renders >= 2 * 18  # it did keep updating while streaming
    # The strict reading of "≤ 20 per second": no half-open one-second window holds more.
    assert max(sum(1 for u in stamps if s0 <= u < s0 + 1.0) for s0 in stamps) <= 20


def test_burst_without_scheduler_renders_first_then_flush_gives_final() -> None:
    ft, state, seen = FakeTime(), [], []
    th = make(ft, state, seen, scheduler=False)
    for i in range(100):
        state.append("x")
        th.poke()
    assert th.renders == 1 and seen == ["x"]
    assert th.pending
    th.flush()
    assert th.renders == 2 and seen[-1] == "x" * 100
    th.flush()  # nothing new: no extra update
    assert th.renders == 2


def test_pending_update_arrives_even_if_the_stream_stalls() -> None:
    ft, state, seen = FakeTime(), [], []
    th = make(ft, state, seen)
    state.append("a")
    th.poke()
    state.append("b")
    th.poke()  # within the interval: deferred
    assert seen == ["a"]
    ft.advance(0.06)  # no more pokes, no flush: the timer delivers "ab"
    assert seen == ["a", "ab"]
    assert len(ft.timers) == 0


def test_one_timer_at_a_time_and_closed_throttle_ignores_pokes() -> None:
    ft, state, seen = FakeTime(), [], []
    th = make(ft, state, seen)
    th.poke()
    for _ in range(10):
        th.poke()
    assert len(ft.timers) == 1
    th.flush(close=True)
    n = th.renders
    th.poke()
    ft.advance(1)
    assert th.renders == n


def test_force_and_bad_rate() -> None:
    ft, state, seen = FakeTime(), ["s"], []
    th = make(ft, state, seen)
    th.poke()
    th.force()
    assert th.renders == 2
    with pytest.raises(ValueError):
        Throttle(lambda: None, rate=0)
