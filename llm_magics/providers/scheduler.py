"""One request scheduler per provider + base URL + key, shared by every call in the process.

Why: six personas, a workflow's parallel steps and an eval's hundreds of calls all spend the same
account's limits; a client that sends them all at once just collects 429s (issue 12, item 5). The
scheduler admits a request only when every limit it knows of allows it:

- **concurrency**: at most N requests of this key in flight — the user's ``concurrency`` setting,
  the limit the server announced, or the provider's conservative start until it does — further
  lowered by AIMD: a 429 halves the allowance (once per round of requests), and every
  `RECOVER_AFTER` successes raise it by one again;
- **requests per minute**: at most ``rpm`` request starts in any 60 s window (servers count a
  rolling minute); a user-set ``rpm`` also spaces starts ``60/rpm`` apart. A start is dated when
  the server's answer arrives (when one does), not when we sent it: the server counted it at some
  moment in between, so our window never ends before the server's, whatever the network delay;
- **what the server says**: ``Retry-After`` pauses everyone sharing the key;
  ``X-RateLimit-Remaining: 0`` waits for ``X-RateLimit-Reset``; the request limit header becomes
  the rpm; and 429 texts such as Moonshot's "request reached organization max RPM: 3" or "max
  organization concurrency: 1" become the limits for the rest of the session.

Kimi starts at Moonshot's Tier-0 limits (1 concurrent request, 3 per minute) until the server says
more: the request limit it announces (``X-RateLimit-Limit``, or the RPM in a 429 text) names the
account's tier, and Moonshot's tier table gives the matching concurrency
(https://platform.moonshot.ai/docs/pricing/limits: Tier0 1/3, Tier1 50/200, Tier2 100/500,
Tier3 200/5,000, Tier4 400/5,000, Tier5 1,000/10,000 concurrent/RPM; the 429 texts are on
Moonshot's error-code page).

A caller that has to wait is reported to the callback installed with `report_waits` (a context
variable, so each pane of a run can have its own), which is how a live view says "waiting for the
rate limit". Thread-safe and loop-agnostic: state sits under a lock, and a waiter is woken on its
own event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import contextvars
import email.utils
import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Scheduler",
    "Permit",
    "WaitInfo",
    "RateHeaders",
    "LimitProfile",
    "PROFILES",
    "WINDOW_S",
    "RECOVER_AFTER",
    "scheduler_for",
    "parse_rate_headers",
    "parse_limit_message",
    "report_waits",
    "on_admitted",
]

#: The window servers count requests in ("per minute").
WINDOW_S = 60.0
#: After a 429 halved the concurrency allowance, this many successes raise it by one.
RECOVER_AFTER = 5
#: Shorter waits are not reported (normal spacing should not flicker in a live view).
REPORT_AFTER_S = 0.25


@dataclass(frozen=True)
class LimitProfile:
    """What to assume about an account of this provider until its server says more."""

    concurrency: int | None = None
    rpm: int | None = None
    #: Published (rpm, concurrency) pairs per tier: an announced rpm gives the account's concurrency.
    tiers: tuple[tuple[int, int], ...] = ()
    #: Whether the plain ``X-RateLimit-Limit`` header counts requests per minute for this provider
    #: (elsewhere it may mean per second or per hour; the ``-requests`` forms always mean per minute).
    limit_header_is_rpm: bool = False

    def concurrency_for(self, rpm: int) -> int | None:
        """The concurrency of the tier with this rpm (the lowest such tier; None without a table)."""
        fits = [r for r, _ in self.tiers if r <= rpm]
        if not fits:
            return min((c for _, c in self.tiers), default=None)
        best = max(fits)
        return min(c for r, c in self.tiers if r == best)


PROFILES: dict[str, LimitProfile] = {
    # https://platform.moonshot.ai/docs/pricing/limits (Recharge and Rate Limits), tiers 0-5.
    "kimi": LimitProfile(
        concurrency=1, rpm=3,
        tiers=((3, 1), (200, 50), (500, 100), (5000, 200), (5000, 400), (10000, 1000)),
        limit_header_is_rpm=True,
    ),
}


@dataclass(frozen=True)
class WaitInfo:
    """A request is held back: why, and for about how long (None: until a running one ends).

    A call that waited gets one more report when it is admitted (`done`): timings (TTFT, latency)
    restart there, so queueing for the rate limit is not counted as the model's time."""

    provider: str
    reason: str
    seconds: float | None
    done: bool = False

    def describe(self) -> str:
        eta = f" (~{self.seconds:.0f} s)" if self.seconds is not None and self.seconds >= 1 else ""
        return f"waiting for the rate limit: {self.reason}{eta}"


@dataclass(frozen=True)
class RateHeaders:
    """The rate-limit headers of the last response (`%llm check` shows them)."""

    limit: int | None
    remaining: int | None
    #: Seconds until the window resets, as of `seen_at`.
    reset_s: float | None
    seen_at: float  # time.time()
    #: Every rate-limit header as the server sent it (lower-case names).
    raw: dict[str, str] = field(default_factory=dict)
    #: True when `limit` came from a header that counts requests per minute.
    per_minute: bool = False

    def describe(self) -> str:
        parts = []
        if self.limit is not None:
            parts.append(f"limit {self.limit}" + ("/min" if self.per_minute else ""))
        if self.remaining is not None:
            parts.append(f"remaining {self.remaining}")
        if self.reset_s is not None:
            parts.append(f"resets in {self.reset_s:.0f} s")
        return ", ".join(parts) or ", ".join(f"{k}: {v}" for k, v in self.raw.items())


# -- reading what servers say -----------------------------------------------------------------
_HEADER_SETS = (  # (limit, remaining, reset, limit counts per minute)
    ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests", True),  # OpenAI
    ("anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining",
     "anthropic-ratelimit-requests-reset", True),
    ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", False),  # Moonshot, many gateways
)
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|h|m|s))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_RPM_TEXT = re.compile(
    r"max(?:imum)?\s+(?:organization\s+)?RPM\s*[:=]?\s*(\d+)|requests\s+per\s+min(?:ute)?\s*\(RPM\)\s*:\s*Limit\s+(\d+)",
    re.IGNORECASE,
)
_CONCURRENCY_TEXT = re.compile(r"max(?:imum)?\s+(?:organization\s+)?concurrency\s*[:=]?\s*(\d+)", re.IGNORECASE)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _reset_seconds(value: str | None, now: float) -> float | None:
    """Seconds until reset from a delta ("12", "1.5s", "6m0s", "20ms"), an epoch or a date."""
    if not value:
        return None
    v = value.strip()
    try:
        num = float(v)
    except ValueError:
        num = None
    if num is not None:
        if num > 1e12:  # epoch milliseconds
            return max(0.0, num / 1000.0 - now)
        if num > 1e9:  # epoch seconds
            return max(0.0, num - now)
        return max(0.0, num)
    if _DURATION.fullmatch(v):
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(n) * scale[u] for n, u in _DURATION_PART.findall(v))
    try:
        return max(0.0, datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() - now)
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(v).timestamp() - now)
    except (TypeError, ValueError):
        return None


def parse_rate_headers(headers: Mapping[str, str] | None, now: float | None = None) -> RateHeaders | None:
    """The request rate-limit headers of a response (Moonshot, OpenAI, Anthropic names); None without any."""
    if not headers:
        return None
    raw = {k.lower(): v for k, v in headers.items() if "ratelimit" in k.lower()}
    if not raw:
        return None
    now = time.time() if now is None else now
    for lim, rem, reset, per_minute in _HEADER_SETS:
        if lim in raw or rem in raw:
            return RateHeaders(_int(raw.get(lim)), _int(raw.get(rem)), _reset_seconds(raw.get(reset), now), now,
                               raw, per_minute)
    return RateHeaders(None, None, None, now, raw)


def parse_limit_message(message: str | None) -> tuple[int | None, int | None]:
    """(rpm, concurrency) announced in a 429 text, e.g. Moonshot's "request reached organization max
    RPM: 3" / "max organization concurrency: 1", or OpenAI's "requests per min (RPM): Limit 3000"."""
    if not message:
        return None, None
    rpm = conc = None
    m = _RPM_TEXT.search(message)
    if m:
        rpm = int(m.group(1) or m.group(2))
    m = _CONCURRENCY_TEXT.search(message)
    if m:
        conc = int(m.group(1))
    return (rpm or None), (conc or None)


# -- reporting waits ---------------------------------------------------------------------------
_reporter: contextvars.ContextVar[Callable[[WaitInfo], None] | None] = contextvars.ContextVar(
    "llm_magics_rate_wait", default=None
)


@contextlib.contextmanager
def report_waits(callback: Callable[[WaitInfo], None]) -> Iterator[None]:
    """Calls made inside this block report rate-limit waits to `callback` (e.g. a pane's view)."""
    token = _reporter.set(callback)
    try:
        yield
    finally:
        _reporter.reset(token)


@contextlib.contextmanager
def on_admitted(callback: Callable[[], None]) -> Iterator[None]:
    """Calls made inside this block call `callback` when a request that waited is admitted (to
    restart a latency clock); waits are still reported to the block's enclosing `report_waits`."""
    outer = _reporter.get()

    def both(info: WaitInfo) -> None:
        if info.done:
            callback()
        if outer is not None:
            outer(info)

    token = _reporter.set(both)
    try:
        yield
    finally:
        _reporter.reset(token)


def _report(info: WaitInfo) -> None:
    callback = _reporter.get()
    if callback is not None:
        try:
            callback(info)
        except Exception:  # noqa: BLE001, S110 - a display must never stop a request
            pass


# -- the scheduler -----------------------------------------------------------------------------
class Permit:
    """One admitted request. Release it exactly once when the request is over (extra calls are no-ops)."""

    __slots__ = ("_scheduler", "epoch", "seq", "start", "_released")

    def __init__(self, scheduler: Scheduler, epoch: int, seq: int, start: float) -> None:
        self._scheduler = scheduler
        self.epoch = epoch
        self.seq = seq
        #: This request's entry in the scheduler's window (monotonic; moved to the answer's arrival).
        self.start = start
        self._released = False

    def release(self, outcome: str = "ok") -> None:
        """`outcome`: "ok" (counts toward recovery), "rate_limited" (a 429) or "error" (neither)."""
        if not self._released:
            self._released = True
            self._scheduler._release(self, outcome)


class Scheduler:
    """Admits requests of one provider + base URL + key within every limit it knows (module docstring)."""

    def __init__(self, provider: str, *, rpm: int | None = None, concurrency: int | None = None,
                 profile: LimitProfile | None = None, window_s: float = WINDOW_S) -> None:
        self.provider = provider
        self.profile = profile or LimitProfile()
        self.window_s = window_s
        self.user_rpm = rpm
        self.user_concurrency = concurrency
        self.server_rpm: int | None = None
        self.server_concurrency: int | None = None
        self._concurrency_from_text = False
        self._lock = threading.Lock()
        self._aimd = math.inf  # the AIMD allowance; only a 429 makes it finite
        self._successes = 0
        self._epoch = 0
        self._seq = 0
        self.in_flight = 0
        self._starts: list[float] = []  # monotonic start times in the window, sorted
        self._next_start = 0.0
        self._paused_until = 0.0
        self._remaining: int | None = None
        self._reset_at = 0.0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        #: The rate-limit headers of the latest response (None until one had any).
        self.headers: RateHeaders | None = None
        #: Start times (monotonic) of the last admitted requests, for tests and benches.
        self.granted: list[float] = []
        self.rate_limited = 0  # 429s seen
        self.waits = 0  # requests that had to wait

    # -- limits ------------------------------------------------------------------------------
    @property
    def rpm(self) -> int | None:
        """Requests per window now: the server's word (capped by the user's), else the user's, else the default."""
        if self.server_rpm is not None:
            return min(self.server_rpm, self.user_rpm) if self.user_rpm else self.server_rpm
        return self.user_rpm or self.profile.rpm

    @property
    def concurrency(self) -> int | None:
        """The concurrency cap before AIMD (None: no cap)."""
        if self.server_concurrency is not None:
            return min(self.server_concurrency, self.user_concurrency) if self.user_concurrency else self.server_concurrency
        if self.user_concurrency:
            return self.user_concurrency
        return self.profile.concurrency if self.server_rpm is None else None

    @property
    def allowance(self) -> float:
        """Requests that may be in flight right now (cap and AIMD together; inf = no limit)."""
        cap = self.concurrency
        aimd = self._aimd if self._aimd == math.inf else max(1.0, float(math.floor(self._aimd)))
        return min(float(cap) if cap else math.inf, aimd)

    def _source(self, user: int | None, server: int | None) -> str:
        if server is not None and (not user or server <= user):
            return "announced by the server"
        if user:
            return "your setting"
        return f"the starting limit for {self.provider} until the server announces its own"

    def _concurrency_reason(self, allowance: float) -> str:
        cap = self.concurrency
        if self._aimd < (cap or math.inf):
            return f"{int(allowance)} at a time after 429s (recovering)"
        return f"{int(allowance)} at a time ({self._source(self.user_concurrency, self.server_concurrency)})"

    def _rpm_reason(self, rpm: int) -> str:
        return f"{rpm} requests/min ({self._source(self.user_rpm, self.server_rpm)})"

    def describe(self) -> str:
        """One line for `%llm check` and notices: the limits in force and where they come from."""
        parts = []
        rpm, allowance = self.rpm, self.allowance
        if rpm:
            parts.append(self._rpm_reason(rpm))
        if allowance < math.inf:
            parts.append(self._concurrency_reason(allowance))
        return "; ".join(parts) or "no limit known"

    def configure(self, *, rpm: int | None = None, concurrency: int | None = None,
                  window_s: float | None = None) -> None:
        """The latest configuration wins for everyone sharing the key (None leaves a value as is)."""
        with self._lock:
            if rpm is not None:
                self.user_rpm = rpm
            if concurrency is not None:
                self.user_concurrency = concurrency
            if window_s is not None:
                self.window_s = window_s
        self._wake()

    # -- admission ---------------------------------------------------------------------------
    def _admission(self, now: float) -> tuple[float | None, str]:
        """(0, "") to go now; else (seconds to wait, or None = until a request ends; why)."""
        if now < self._paused_until:
            return self._paused_until - now, "the server asked to wait"
        allowance = self.allowance
        if self.in_flight >= allowance:
            return None, self._concurrency_reason(allowance)
        rpm = self.rpm
        if rpm:
            starts = self._starts
            gone = bisect.bisect_right(starts, now - self.window_s)
            if gone:
                del starts[:gone]
            if len(starts) >= rpm:
                return starts[-rpm] + self.window_s - now, self._rpm_reason(rpm)
            if self.user_rpm and rpm == self.user_rpm and self._next_start > now:
                return self._next_start - now, self._rpm_reason(rpm)
        if self._remaining is not None and self._remaining <= 0 and now < self._reset_at:
            return self._reset_at - now, "the server's request window is used up"
        return 0.0, ""

    def _admit(self, now: float) -> Permit:
        self.in_flight += 1
        self._seq += 1
        self._starts.append(now)  # now is the latest time: the list stays sorted
        if len(self._starts) > 20_000 and not self.rpm:
            del self._starts[:10_000]
        self.granted.append(now)
        if len(self.granted) > 1000:
            del self.granted[:500]
        if self.user_rpm and self.rpm == self.user_rpm:
            self._next_start = max(now, self._next_start) + self.window_s / self.user_rpm
        if self._remaining is not None and not self.rpm:
            self._remaining -= 1  # no window of our own: count down what the server said is left
        return Permit(self, self._epoch, self._seq, now)

    def try_acquire(self) -> Permit | None:
        """A permit if one is free right now (no waiting), else None."""
        with self._lock:
            wait, _ = self._admission(time.monotonic())
            return self._admit(time.monotonic()) if wait == 0.0 else None

    async def acquire(self) -> Permit:
        """Wait until every known limit allows one more request; report the wait if it is long."""
        loop = asyncio.get_running_loop()
        reported = waited = False
        while True:
            with self._lock:
                now = time.monotonic()
                wait, reason = self._admission(now)
                if wait == 0.0:
                    permit = self._admit(now)
                else:
                    fut: asyncio.Future[None] = loop.create_future()
                    self._waiters.append((loop, fut))
                    if not waited:
                        self.waits += 1
            if wait == 0.0:
                if waited:
                    _report(WaitInfo(self.provider, "", 0.0, done=True))
                return permit
            waited = True
            if not reported and (wait is None or wait >= REPORT_AFTER_S):
                reported = True
                _report(WaitInfo(self.provider, reason, wait))
            try:
                await asyncio.wait([fut], timeout=wait)
            finally:
                with self._lock:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove((loop, fut))

    def _wake(self) -> None:
        """Every waiter re-checks the limits (something changed)."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop: its waiter is gone
                loop.call_soon_threadsafe(_resolve, fut)

    def _release(self, permit: Permit, outcome: str) -> None:
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            if outcome == "ok":
                self._successes += 1
                if self._aimd < math.inf and self._successes >= RECOVER_AFTER:
                    self._successes = 0
                    self._aimd += 1
                    cap = self.concurrency
                    if cap and self._aimd >= cap:
                        self._aimd = math.inf
            elif outcome == "rate_limited":
                self.rate_limited += 1
                self._successes = 0
                if permit.epoch == self._epoch:  # halve once per round, not once per refused request
                    cap = self.concurrency
                    current = min(self._aimd, float(self.in_flight + 1), float(cap) if cap else math.inf)
                    self._aimd = max(1.0, math.floor(current / 2))
                    self._epoch += 1
        self._wake()

    # -- what the server says ----------------------------------------------------------------
    def pause(self, seconds: float) -> None:
        """Nobody sharing this key starts a request for `seconds` (a 429 said how long to wait)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))

    def observe(self, headers: Mapping[str, str] | None, permit: Permit | None = None) -> None:
        """A response arrived for `permit`: date its start now, and read its rate-limit headers."""
        if permit is not None:
            with self._lock:
                self._restamp(permit, time.monotonic())
        info = parse_rate_headers(headers)
        if info is None:
            return
        with self._lock:
            self.headers = info
            if info.limit and (info.per_minute or self.profile.limit_header_is_rpm):
                self._learn_rpm(info.limit)
            if info.remaining is not None:
                # Requests we sent meanwhile may or may not be in the server's count; our own window
                # covers them, so this only holds us back when the server says "none left".
                self._remaining = info.remaining
                self._reset_at = time.monotonic() + (info.reset_s if info.reset_s is not None else self.window_s)
        self._wake()

    def _restamp(self, permit: Permit, now: float) -> None:
        """Move `permit`'s window entry to `now` (the server counted it no later than this)."""
        starts = self._starts
        i = bisect.bisect_left(starts, permit.start)
        if i < len(starts) and starts[i] == permit.start:
            del starts[i]
            bisect.insort(starts, now)
        permit.start = now

    def learn(self, message: str | None) -> None:
        """Limits announced in a 429's text become this key's limits for the session."""
        rpm, conc = parse_limit_message(message)
        if rpm is None and conc is None:
            return
        with self._lock:
            if rpm is not None:
                self._learn_rpm(rpm)
            if conc is not None:
                self.server_concurrency = conc
                self._concurrency_from_text = True
        self._wake()

    def _learn_rpm(self, rpm: int) -> None:
        changed = rpm != self.server_rpm
        self.server_rpm = rpm
        if changed and self.profile.tiers:
            # A new tier: its published concurrency replaces what an older 429 text said.
            self.server_concurrency = self.profile.concurrency_for(rpm)
            self._concurrency_from_text = False

    def snapshot(self) -> dict[str, object]:
        """The scheduler's state for display (`%llm check`) and tests."""
        with self._lock:
            return {
                "provider": self.provider, "rpm": self.rpm, "concurrency": self.concurrency,
                "allowance": self.allowance, "in_flight": self.in_flight, "limits": self.describe(),
                "headers": self.headers, "rate_limited": self.rate_limited, "waits": self.waits,
            }


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_schedulers: dict[tuple[str, str, str], Scheduler] = {}
_schedulers_lock = threading.Lock()


def scheduler_for(provider: str, base_url: str, key: str | None, *, rpm: int | None = None,
                  concurrency: int | None = None, window_s: float | None = None) -> Scheduler:
    """The one scheduler for provider + base URL + key in this process (the key kept only as a hash)."""
    fingerprint = hashlib.sha256((key or "").encode()).hexdigest()[:16]
    ident = (provider, base_url.rstrip("/"), fingerprint)
    with _schedulers_lock:
        sched = _schedulers.get(ident)
        if sched is None:
            sched = _schedulers[ident] = Scheduler(provider, rpm=rpm, concurrency=concurrency,
                                                   profile=PROFILES.get(provider), window_s=window_s or WINDOW_S)
            return sched
    sched.configure(rpm=rpm, concurrency=concurrency, window_s=window_s)
    return sched
