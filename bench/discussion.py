"""Discussion benchmarks on a loopback fake server (tests/fakeserver.py), printed, never asserted.

(a) parallel fan-out: 6 personas × ~2 s streams in parallel mode; wall ÷ one persona's wall
    (goal ≤ 1.15: the personas really stream at the same time).
(b) display throttle: updates the LiveView sends for one 2,000-chunk stream (goal ≤ 20 per second
    per pane, final text identical to the streamed text).
(c) interrupt: time from cancelling a 6-persona run to every server stream being closed (goal < 1 s).

Run:  python bench/discussion.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LLM_MAGICS_HOME", tempfile.mkdtemp(prefix="llm-magics-bench-"))

from llm_magics.sync import run_sync  # noqa: E402
from llm_magics.discussion.api import adiscuss, discuss  # noqa: E402
from llm_magics.events import PaneOpened, TextDelta  # noqa: E402
from llm_magics.keys.resolve import get_provider  # noqa: E402
from tests.fakeserver import FakeLLMServer  # noqa: E402

MODEL = "kimi-k2-0905-preview"
SIX = "Noor, Sasha, Avery, Quinn, Riley, Morgan"


def provider(srv: FakeLLMServer) -> Any:
    return get_provider("kimi", api_key="sk-bench-000000000000", base_url=srv.base_url)


def bench_parallel(srv: FakeLLMServer) -> float:
    words = " ".join(f"w{i}" for i in range(100))
    srv.responder = lambda req: words
    srv.pacing[MODEL] = (0.1, 0.019)  # ≈ 0.1 + 99 × 0.019 ≈ 2.0 s per stream
    prov = provider(srv)
    discuss("warm-up", "Noor", mode="parallel", provider=prov, model=MODEL, history=False)
    one = []
    for _ in range(2):
        t0 = time.perf_counter()
        discuss("one persona", "Noor", mode="parallel", provider=prov, model=MODEL, history=False)
        one.append(time.perf_counter() - t0)
    six = []
    for _ in range(2):
        t0 = time.perf_counter()
        tr = discuss("six personas", SIX, mode="parallel", provider=prov, model=MODEL, history=False)
        six.append(time.perf_counter() - t0)
        assert len(tr.messages) == 6 and all(m.ok for m in tr.messages)
    run_sync(prov.aclose())
    ratio = min(six) / min(one)
    print(f"(a) parallel: one persona {min(one):.2f} s, six personas {min(six):.2f} s → ratio {ratio:.3f} (goal ≤ 1.15)")
    return ratio


def bench_throttle(srv: FakeLLMServer) -> float:
    from llm_magics.ui.live import LiveView

    text = " ".join(f"t{i}" for i in range(2000))
    srv.responder = lambda req: text
    srv.pacing[MODEL] = (0.0, 0.001)  # 2,000 chunks over ≈ 2+ s
    view = LiveView(display=None)
    deltas = [0]
    stamps: list[float] = []  # when each display update was sent
    chunk_times: list[float] = []

    def sink(e: Any) -> None:
        if isinstance(e, TextDelta):
            deltas[0] += 1
            chunk_times.append(time.perf_counter())
        view(e)
        if isinstance(e, PaneOpened):
            throttle = view.panes[e.pane].throttle
            render = throttle._render

            def timed() -> None:
                stamps.append(time.perf_counter())
                render()

            throttle._render = timed

    prov = provider(srv)
    t0 = time.perf_counter()
    tr = discuss("stream", "Noor", mode="parallel", provider=prov, model=MODEL, on_event=sink, history=False)
    wall = time.perf_counter() - t0
    run_sync(prov.aclose())
    view.close("done")
    pane = view.panes[tr.messages[0].pane]
    stream_s = chunk_times[-1] - chunk_times[0]
    per_s = pane.updates / stream_s
    # The most updates sent in any one-second window (half-open), the strict reading of "≤ 20/s".
    peak = max(sum(1 for u in stamps if s0 <= u < s0 + 1.0) for s0 in stamps)
    same = pane.text == text == tr.messages[0].text
    print(
        f"(b) throttle: {deltas[0]} text chunks streamed over {stream_s:.2f} s (run {wall:.2f} s) → "
        f"{pane.updates} display updates = {per_s:.1f}/s on average, at most {peak} in any 1 s window "
        f"(goal ≤ 20/s); final text identical: {same}"
    )
    return per_s


def bench_interrupt(srv: FakeLLMServer) -> float:
    srv.responder = lambda req: " ".join(f"x{i}" for i in range(2000))
    srv.pacing[MODEL] = (0.0, 0.01)  # 20 s streams

    async def run() -> float:
        seen: set[str] = set()

        def sink(e: Any) -> None:
            if isinstance(e, TextDelta):
                seen.add(e.pane)

        n0 = len(srv.requests)
        prov = provider(srv)
        task = asyncio.ensure_future(adiscuss("stop me", SIX, mode="parallel", provider=prov, model=MODEL, on_event=sink))
        while len(seen) < 6:
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        reqs = srv.requests[n0:]
        while any(r.ended_at is None for r in reqs) and time.monotonic() - t0 < 10:
            await asyncio.sleep(0.005)
        await prov.aclose()
        return max(r.ended_at for r in reqs) - t0

    took = asyncio.run(run())
    print(f"(c) interrupt: every one of 6 server streams closed {took:.3f} s after cancel (goal < 1 s)")
    return took


def main() -> None:
    srv = FakeLLMServer().start()
    try:
        bench_parallel(srv)
        bench_throttle(srv)
        bench_interrupt(srv)
    finally:
        srv.close()


if __name__ == "__main__":
    main()
